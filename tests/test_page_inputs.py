"""Every page of the one probe table, opened with nonsense in its address (as a hand-edited or stale
link would carry), answers without a server error: a page, a redirect with a message, or a 4xx."""

from __future__ import annotations

import pytest

from tests.fixtures import web_client_for
from tests.shop_routes import PROBES, World

pytestmark = pytest.mark.django_db

NONSENSE = [
    {"page": "abc", "sort": "zzz", "state": "nope", "status": "nope", "date_from": "2026-13-45", "date_to": "later",
     "warehouse": "abc", "category": "x", "manager": "null", "role": "%%", "overdue": "maybe", "unread": "2",
     "delivery_method": "drone", "low_stock": "x", "ids": "a,b", "page_size": "-1", "temporary": "??"},
    {"page": "-1", "search": "x" * 5000, "warehouse": "99999999999999999999", "category": "99999999999999999999",
     "manager": "99999999999999999999", "role": "99999999999999999999", "ids": "99999999999999999999"},
    {"page": "99999", "search": "nul\x00byte", "state": "awaiting_packaging,", "date_from": "2026-01-01T25:00"},
]  # fmt: skip


def test_pages_survive_nonsense_in_the_address():
    world = World.build()
    web = web_client_for(world.shop.owner, reauth=False)
    web.raise_request_exception = False  # report every failing page, not just the first
    failures = []
    for probe in PROBES:
        if probe.api or probe.method != "get":
            continue
        url = probe.url(world)
        for params in NONSENSE:
            status = web.get(url, params).status_code
            if status >= 500:
                failures.append((probe.route, sorted(params), status))
    assert failures == []


def test_a_nul_character_in_the_address_is_refused(shop):
    from tests.fixtures import api_client_for

    page = web_client_for(shop.owner, reauth=False).get(f"/shops/{shop.pk}/orders/", {"search": "a\x00b"})
    assert page.status_code == 400 and "not allowed" in page.content.decode()
    api = api_client_for(shop.owner, reauth=False).get(f"/api/v1/shops/{shop.pk}/orders/", {"search": "a\x00b"})
    assert api.status_code == 400 and api.json()["error"]["code"] == "bad_request"
