"""Test settings: the real settings plus a test-only app that exercises per-object scopes."""

from backoffice.settings import *  # noqa: F403
from backoffice.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.scopeapp"]

# Tasks run in-process unless a test starts a real worker (the ``celery_worker`` fixture), so
# nothing a test enqueues is left on the shared Redis broker for another test's worker to pick up.
CELERY_TASK_ALWAYS_EAGER = True
