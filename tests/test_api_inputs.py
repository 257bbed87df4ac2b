"""Hostile input classes against every API route of the probe table, in the seeded world: Unicode digits,
integers past a bigint and calendar-invalid dates in every filter, and in every id of every request body.
The answer is a clear 4xx, never a server error and never a success (schemathesis, in test_api_fuzz.py,
covers the rest of the input space from the schema; this sweep reaches the bodies it cannot build)."""

from __future__ import annotations

import pytest

from tests.fixtures import api_client_for
from tests.shop_routes import PROBES

pytestmark = pytest.mark.django_db

# ("１２" is not here: int() reads full-width digits as 12, so a field may accept it; -1 is a valid delta.)
HOSTILE_IDS = ["²", "99999999999999999999", 10**20, "1.5"]
HOSTILE_QUERY = [
    {
        key: value
        for key in (
            "warehouse",
            "category",
            "product",
            "order",
            "actor",
            "manager",
            "role",
            "sku",
            "ids",
            "page_size",
            "threshold",
        )
    }  # fmt: skip
    for value in ("²", "１２", "99999999999999999999")
] + [
    {"date_from": "2026-02-30", "date_to": "2026-02-29"},
    {"date_from": "2026-13-01"},
    {"date_from": "0001-01-01T00:00+14:00", "date_to": "9999-12-31T23:59-14:00"},
]


def _id_keys(body) -> list[str]:
    """The body fields that name objects or counts by number (ints, or lists of ints)."""
    keys = []
    for key, value in body.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, list) and value and all(isinstance(v, int) for v in value)):
            keys.append(key)
    return keys


def test_hostile_numbers_in_every_api_body_answer_4xx(world):
    api = api_client_for(world.shop.owner)
    api.raise_request_exception = False
    failures, tried = [], 0
    for probe in PROBES:
        if not probe.api or probe.method not in ("post", "put", "patch") or probe.multipart:
            continue
        for key in _id_keys(probe.body(world)):
            for hostile in HOSTILE_IDS:
                body = probe.body(world)
                body[key] = [hostile] if isinstance(body[key], list) else hostile
                status = getattr(api, probe.method)(probe.url(world), body, format="json").status_code
                tried += 1
                if not 400 <= status < 500:
                    failures.append((probe.id, key, hostile, status))
    assert tried >= 30
    assert failures == [], failures


def test_hostile_filters_in_every_api_list_answer_without_a_server_error(world):
    api = api_client_for(world.shop.owner)
    api.raise_request_exception = False
    failures, tried = [], 0
    for probe in PROBES:
        if not probe.api or probe.method != "get":
            continue
        for params in HOSTILE_QUERY:
            status = api.get(probe.url(world), params).status_code
            tried += 1
            if status >= 500:
                failures.append((probe.id, sorted(params), status))
    assert tried >= 100
    assert failures == []


@pytest.mark.parametrize(
    "attributes",
    [{"a": 2**64}, {"a": "\u0000"}, {"\u0000": "x"}, {"a": {"nested": 1}}, {"a": float("nan")}],
    ids=["past-64-bits", "nul-value", "nul-key", "nested", "nan"],
)
def test_attributes_a_json_reader_cannot_keep_are_refused(world, attributes):
    """Found by the schema fuzz: a 65-bit integer was stored and then broke every list that showed it
    (the renderer cannot write it), and a NUL reached the jsonb column (a server error)."""
    api = api_client_for(world.shop.owner)
    shop, catalog = world.shop.pk, world.objects["catalog"]
    product_url = f"/api/v1/shops/{shop}/products/{catalog.product.pk}/"
    sku_url = f"/api/v1/shops/{shop}/skus/{catalog.sku.pk}/"
    import json

    body = json.dumps({"attributes": attributes}, allow_nan=True)
    for url in (product_url, sku_url):
        r = api.patch(url, body, content_type="application/json")
        assert r.status_code == 400, (url, r.status_code, r.content[:200])
        error = r.json()["error"]
        assert "attributes" in error["fields"] or error["code"] == "parse_error", error
    for url in (f"/api/v1/shops/{shop}/products/", f"/api/v1/shops/{shop}/skus/", product_url):
        assert api.get(url).status_code == 200
