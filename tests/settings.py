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


def _server_zone_apart_from_the_shops(utc_hour: int) -> str:
    """A server zone whose calendar day is never the test shops' (Europe/Moscow, UTC+3) when the run starts.

    Production runs with UTC, whose day differs from Moscow's only from 21:00 to midnight UTC: a test that
    took "today" from the server's zone instead of the shop's passed all day and failed in those three hours
    (CI failed on eight such tests). With a server zone 12 hours behind UTC (before 10:00 and from 21:00 UTC)
    or 14 hours ahead (10:00 to 21:00 UTC), such a test, or code that reads the server's day where the shop's
    is meant, fails at any hour. A run that crosses 12:00 or 21:00 UTC may stop telling the days apart from
    then on: it misses such a test, it never fails a good one. ``TEST_SERVER_ZONE=UTC`` pins a zone."""
    return "Etc/GMT-14" if 10 <= utc_hour < 21 else "Etc/GMT+12"


def _utc_hour() -> int:
    import datetime

    return datetime.datetime.now(datetime.UTC).hour


TIME_ZONE = os.environ.get("TEST_SERVER_ZONE") or _server_zone_apart_from_the_shops(_utc_hour())
