"""Every page of the one probe table, opened with nonsense in its address (as a hand-edited or stale
link would carry), answers without a server error: a page, a redirect with a message, or a 4xx."""

from __future__ import annotations

import pytest

from tests.fixtures import web_client_for
from tests.shop_routes import PROBES

pytestmark = pytest.mark.django_db

NONSENSE = [
    {"page": "abc", "sort": "zzz", "state": "nope", "status": "nope", "date_from": "2026-13-45", "date_to": "later",
     "warehouse": "abc", "category": "x", "manager": "null", "role": "%%", "overdue": "maybe", "unread": "2",
     "delivery_method": "drone", "low_stock": "x", "ids": "a,b", "page_size": "-1", "temporary": "??"},
    {"page": "-1", "search": "x" * 5000, "warehouse": "99999999999999999999", "category": "99999999999999999999",
     "manager": "99999999999999999999", "role": "99999999999999999999", "ids": "99999999999999999999"},
    {"page": "99999", "search": "nul\x00byte", "state": "awaiting_packaging,", "date_from": "2026-01-01T25:00"},
    # Unicode digits ("²".isdigit() is true, int("²") fails), full-width and Arabic-Indic digits.
    {"warehouse": "²", "category": "１２", "manager": "١٢", "role": "²", "ids": "1,²", "order": "²", "actor": "²",
     "page_size": "²", "threshold": "²", "sku": "²", "product": "²"},
    # Integers past a bigint, and calendar-invalid dates.
    {"order": "99999999999999999999", "actor": "99999999999999999999", "sku": "99999999999999999999",
     "product": "99999999999999999999", "threshold": "99999999999999999999", "page_size": "99999999999999999999",
     "date_from": "2026-02-30", "date_to": "2026-02-29"},
    # Moments at the edge of the calendar (no UTC equivalent) and a year past 9999.
    {"date_from": "0001-01-01T00:00+14:00", "date_to": "9999-12-31T23:59-14:00"},
    {"date_from": "10000-01-01", "date_to": "0001-01-01"},
]  # fmt: skip
HUGE = 10**20


def test_pages_survive_nonsense_in_the_address(world):
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


def test_ids_past_a_bigint_in_any_path_name_nothing(world):
    """Every route of the probe table (API and pages, every method), with each id of its path — the shop's
    included — replaced by a 20-digit number: 404, never a server error."""
    from tests.fixtures import api_client_for

    web = web_client_for(world.shop.owner, reauth=False)
    api = api_client_for(world.shop.owner)
    web.raise_request_exception = api.raise_request_exception = False
    failures, tried = [], 0
    for probe in PROBES:
        names = ["shop", *(k for k, v in probe.kwargs(world).items() if isinstance(v, int))]
        for name in names:
            url = _url_with(probe, world, name)
            client = api if probe.api else web
            options = {"format": "multipart" if probe.multipart else "json"} if probe.api else {}
            status = getattr(client, probe.method)(url, probe.body(world), **options).status_code
            tried += 1
            if status != 404:
                failures.append((probe.id, name, status))
    assert tried >= 150
    assert failures == []


def _url_with(probe, world, name: str) -> str:
    from django.urls import reverse

    kwargs = {"shop": world.shop.pk, **probe.kwargs(world)}
    kwargs[name] = HUGE
    return reverse(probe.route, kwargs=kwargs)
