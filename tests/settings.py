"""Test settings: the real settings plus a test-only app that exercises per-object scopes."""

import os
import re

from backoffice.settings import *  # noqa: F403
from backoffice.settings import CACHES, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, DATABASES, INSTALLED_APPS, REDIS_URL

INSTALLED_APPS = [*INSTALLED_APPS, "tests.scopeapp"]

# Hashing a password is the slow part of making a user; tests make thousands. Production keeps its own list.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every test client loads the middleware afresh; WhiteNoise would list every static file each time
# (about 0.1 s a client). Looked up per request instead.
WHITENOISE_AUTOREFRESH = True

# Tasks run in-process unless a test starts a real worker (the ``celery_worker`` fixture), so
# nothing a test enqueues is left on the shared Redis broker for another test's worker to pick up.
CELERY_TASK_ALWAYS_EAGER = True
# No in-process job threads: a test that wants background work starts a real worker (or a subprocess).
BACKGROUND_THREADS = 0


def _own_redis_db(url: str, worker: int) -> str:
    """The same Redis server, database ``base + 1 + worker``: parallel test processes (pytest-xdist)
    each flush their cache, keep their access-cache counters and run their Celery worker apart."""
    match = re.match(r"^(redis://[^/]+)(?:/(\d+))?$", url)
    if not match:
        return url
    base = int(match.group(2) or 0)
    return f"{match.group(1)}/{base + 1 + worker}"


# `make test` exports REQUIRE_TEST_SERVICES=1: there the suite runs on PostgreSQL and Redis, never on the
# SQLite / local-memory defaults (scripts/test-services.sh starts them).
if os.environ.get("REQUIRE_TEST_SERVICES") == "1" and (
    DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not (REDIS_URL or "").startswith("redis://")
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"make test needs PostgreSQL and Redis, got {DATABASES['default']['ENGINE']} and REDIS_URL={REDIS_URL!r}: "
        "start them with scripts/test-services.sh up (DATABASE_URL, REDIS_URL)"
    )

_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist.startswith("gw") and REDIS_URL:
    _n = int(_xdist[2:])
    REDIS_URL = _own_redis_db(REDIS_URL, _n)
    CELERY_BROKER_URL = _own_redis_db(CELERY_BROKER_URL, _n)
    CELERY_RESULT_BACKEND = _own_redis_db(CELERY_RESULT_BACKEND, _n)
    CACHES = {**CACHES, "default": {**CACHES["default"], "LOCATION": REDIS_URL}}
