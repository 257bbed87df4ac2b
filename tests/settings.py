"""Test settings: the real settings plus a test-only app that exercises per-object scopes."""

from backoffice.settings import *  # noqa: F403
from backoffice.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.scopeapp"]
