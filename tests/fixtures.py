"""Shared fixtures: shops built through the real services, members per role, API clients."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, Role, Shop
from backoffice.authz import load_actor
from backoffice.authz.actions import ROLE_TEMPLATES

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


def api_client_for(user, *, reauth: bool = True) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=None)
    _token, key = services.token_create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    if reauth:
        assert client.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    return client


def web_client_for(user, *, reauth: bool = True) -> Client:
    client = Client()
    client.force_login(user)
    if reauth:
        response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
        assert response.status_code == 302, response.content
    return client


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


@pytest.fixture(autouse=True)
def _tmp_media(tmp_path_factory, settings):
    """Uploaded files (product images, import files) go to a throwaway directory."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
