"""Shared fixtures: shops built through the real services, members per role, API clients."""

from __future__ import annotations

import copy
import itertools
from datetime import date, datetime

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, Role, Shop
from backoffice.authz import load_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from backoffice.tenancy.zones import shop_today, shop_zone  # noqa: F401  (shop_today: re-exported for tests)

PASSWORD = "s3cret-Pass-1"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


def make_shop(name: str | None = None, tier: str = "platinum") -> Shop:
    n = next(_seq)
    _user, shop = services.shop_signup(
        username=f"owner{n}", email=f"owner{n}@example.com", password=PASSWORD, shop_name=name or f"Shop {n}"
    )
    if tier != "basic":
        Shop.objects.filter(pk=shop.pk).update(tier=tier)
        shop.refresh_from_db()
    return shop


def owner_actor(shop: Shop):
    return load_actor(shop.owner, shop)


def shop_date(moment: datetime, shop: Shop) -> date:
    """The shop's calendar day at ``moment``. Tests take "today" with ``shop_today(shop)`` and a moment's day
    here, never from the server's zone: a test shop's (Europe/Moscow) is not the server's, and the test run's
    server zone is chosen so that their days always differ (tests/settings.py)."""
    return timezone.localtime(moment, shop_zone(shop)).date()


def make_member(shop: Shop, role_key: str, *, actor=None, username: str | None = None, **kwargs) -> Membership:
    actor = actor or owner_actor(shop)
    n = next(_seq)
    return services.staff_create(
        actor=actor,
        username=username or f"{role_key}{n}",
        email=f"{role_key}{n}@example.com",
        password=PASSWORD,
        role=Role.objects.for_shop(shop).get(key=role_key),
        **kwargs,
    )


def make_platform_user(username: str | None = None):
    """A marketplace-side user (platform staff: product moderation, the integration API), not a shop member."""
    from django.contrib.auth import get_user_model

    n = next(_seq)
    username = username or f"platform{n}"
    return get_user_model().objects.create_user(username=username, email=f"{username}@example.com",
                                                password=PASSWORD, is_staff=True)  # fmt: skip


def make_platform_moderator(username: str | None = None):
    """Platform staff in the "Platform moderators" group: who may moderate products (admin and platform API).
    The group is made here if missing: a transactional test's flush removes the migration's rows."""
    from catalog.moderation import moderators_group

    user = make_platform_user(username)
    user.groups.add(moderators_group())
    return user


@pytest.fixture
def platform_moderator(db):
    return make_platform_moderator("moderator")


def totp_code(device) -> str:
    """The current code of a TOTP device, as the member's authenticator app shows it."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def api_client_for(user, *, reauth: bool = True) -> APIClient:
    client = APIClient()
    _token, key = services.token_create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    if reauth:
        assert client.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    return client


class BrowserClient(Client):
    """A logged-in browser: its form POSTs carry the one-time token the form page would have issued
    (``backoffice.once``), unless the test sends its own (or none, with a plain ``Client``)."""

    def post(self, path, data=None, *args, **kwargs):
        from django.contrib.auth import SESSION_KEY

        from backoffice import once

        member = self.session.get(SESSION_KEY)
        if member and (data is None or (isinstance(data, dict) and once.FIELD not in data)):
            data = {**(data or {}), once.FIELD: once.issue(member)}
        return super().post(path, data, *args, **kwargs)


def web_client_for(user, *, reauth: bool = True) -> Client:
    client = BrowserClient()
    client.force_login(user)
    if reauth:
        response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
        assert response.status_code == 302, response.content
    return client


def wait_until(condition, timeout: float = 30, every: float = 0.1) -> None:
    """Poll ``condition`` (work a real worker is doing) until it holds; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {timeout:.0f} s"
        time.sleep(every)


def count_queries(client, url: str, **params) -> tuple[int, object]:
    """Queries one GET costs, with the access cache warm (as for every request but the first after a
    change of access): a first, uncounted GET warms it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (thread, solo pool) consuming from the Redis broker, not eager."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from backoffice.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://"), "worker tests need the Redis broker (make test sets it)"
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def shop(db) -> Shop:
    return make_shop("Alpha")


@pytest.fixture
def other_shop(db) -> Shop:
    return make_shop("Beta")


@pytest.fixture
def members(shop) -> dict[str, Membership]:
    """One member per role template in ``shop`` (plus the owner under 'owner')."""
    result = {key: make_member(shop, key) for key in ROLE_TEMPLATES}
    result["owner"] = Membership.objects.for_shop(shop).get(is_owner=True)
    return result


@pytest.fixture(autouse=True, scope="session")
def _tmp_media(tmp_path_factory):
    """Uploaded files (product images, import files) go to a throwaway directory, one per test process:
    the probe worlds (built once per process) keep their images and export files there."""
    from django.test.utils import override_settings

    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(scope="session")
def _probe_world_store() -> dict:
    return {}


@pytest.fixture
def _probe_worlds(_probe_world_store, django_db_setup, django_db_blocker) -> dict:
    """Two probe worlds (tests/shop_routes.py ``World``) committed to this process's test database once,
    before the test's transaction opens; every test's changes to them roll back with that transaction.
    A transactional test empties the database: the next test finds the worlds gone and builds them again."""
    from django.db import connection

    from tests.shop_routes import World

    store = _probe_world_store
    with django_db_blocker.unblock():
        if connection.in_atomic_block:  # another fixture opened the test's transaction first: build inside it
            return {"a": World.build("Alpha world"), "b": World.build("Beta world")}
        alive = Shop.objects.filter(pk__in=[w.shop.pk for w in store.values()]).count()
        if len(store) != 2 or alive != 2:
            store["a"] = World.build("Alpha world")
            store["b"] = World.build("Beta world")
    return store


@pytest.fixture
def world(_probe_worlds, db):
    """The probe world: a shop with one member per role and every app's probe objects. A copy per test,
    so in-memory changes to its objects do not leak into the next test either."""
    return copy.deepcopy(_probe_worlds["a"])


@pytest.fixture
def other_world(_probe_worlds, db):
    """A second probe world (another shop, built the same way): the intruder of the isolation sweep."""
    return copy.deepcopy(_probe_worlds["b"])
