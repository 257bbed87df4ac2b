"""The promotions API (SPEC §10): CRUD, transitions, the quote preview, and integration intake with codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.tests.factories import BUYER, make_sku, platform_user
from promotions.models import Promotion
from promotions.tests.factories import make_promotion
from tests.fixtures import api_client_for, make_member, make_shop

pytestmark = pytest.mark.django_db


def _base(shop) -> str:
    return f"/api/v1/shops/{shop.pk}/promotions/"


def _start() -> str:
    return (timezone.now() - timedelta(hours=1)).isoformat()


@pytest.fixture
def api(shop):
    return api_client_for(shop.owner)


def test_create_edit_and_walk_the_states(shop, api):
    body = {"name": "满减 300/30", "kind": "spend_threshold", "starts_at": _start(),
            "tiers": [{"min_spend": "300.00", "discount": "30.00"}, {"min_spend": "500.00", "discount": "60.00"}]}  # fmt: skip
    r = api.post(_base(shop), body, format="json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["tiers"][1] == {"min_spend": "500.00", "discount": "60.00"}
    r = api.patch(f"{_base(shop)}{pk}/", {"priority": 5}, format="json")
    assert r.status_code == 200 and r.json()["priority"] == 5
    assert api.post(f"{_base(shop)}{pk}/activate/", {}, format="json").json()["status"] == "active"
    assert api.post(f"{_base(shop)}{pk}/pause/", {}, format="json").json()["status"] == "paused"
    r = api.post(f"{_base(shop)}{pk}/pause/", {}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert api.post(f"{_base(shop)}{pk}/end/", {}, format="json").json()["status"] == "ended"


def test_activating_before_the_start_reads_scheduled(shop, api):
    later = (timezone.now() + timedelta(days=2)).isoformat()
    pk = api.post(_base(shop), {"name": "Later", "kind": "percent_off", "value": "5", "starts_at": later},
                  format="json").json()["id"]  # fmt: skip
    assert api.post(f"{_base(shop)}{pk}/activate/", {}, format="json").json()["status"] == "scheduled"
    r = api.get(_base(shop), {"status": "scheduled"})
    assert [p["id"] for p in r.json()["results"]] == [pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "percent_off", "value": "101"}, "value"),
        ({"kind": "percent_off", "value": "-1"}, "value"),
        ({"kind": "spend_threshold", "tiers": [{"min_spend": "500", "discount": "60"},
                                                {"min_spend": "300", "discount": "30"}]}, "tiers.1"),
        ({"kind": "percent_off", "value": "5", "ends_at": "2000-01-01T00:00:00Z"}, "ends_at"),
        ({"kind": "gift_with_purchase"}, "gift_sku"),
        ({"kind": "percent_off", "value": "5", "exclusive": "maybe"}, "exclusive"),
    ],
)  # fmt: skip
def test_bad_bodies_are_400_naming_the_field(shop, api, body, field):
    r = api.post(_base(shop), {"name": "Bad", "starts_at": _start(), **body}, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"]
    assert not Promotion.objects.for_shop(shop).exists()


def test_a_gift_sku_of_another_shop_is_400(shop, api):
    foreign, _wh = make_sku(make_shop("Other"))
    r = api.post(_base(shop), {"name": "Gift", "kind": "gift_with_purchase", "gift_sku": foreign.code,
                               "starts_at": _start()}, format="json")  # fmt: skip
    assert r.status_code == 400 and "gift_sku" in r.json()["error"]["fields"]


def test_another_shops_promotion_is_404(shop, api):
    theirs = make_promotion(make_shop("Other"))
    assert api.get(f"{_base(shop)}{theirs.pk}/").status_code == 404
    assert api.post(f"{_base(shop)}{theirs.pk}/pause/", {}, format="json").status_code == 404


def test_bad_list_filters_are_400(shop, api):
    r = api.get(_base(shop), {"status": "bogus"})
    assert r.status_code == 400 and "status" in r.json()["error"]["fields"]
    assert api.get(_base(shop), {"kind": "nope"}).status_code == 400


def test_quote_as_spec_says(shop, api):
    sku, _wh = make_sku(shop, price="260.00")
    promo = make_promotion(shop, kind="spend_threshold", tiers=[{"min_spend": "300", "discount": "30"},
                                                                {"min_spend": "500", "discount": "60"}])  # fmt: skip
    r = api.post(f"{_base(shop)}quote/", {"lines": [{"sku": sku.code, "quantity": 2}], "codes": ["WHAT"]},
                 format="json")  # fmt: skip
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["subtotal"], body["discount"], body["total"]) == ("520.00", "60.00", "460.00")
    assert body["lines"] == [{"sku": sku.code, "quantity": 2, "unit_price": "260.00", "subtotal": "520.00",
                              "discount": "60.00", "total": "460.00", "capped_by_floor": False}]  # fmt: skip
    assert body["applied"][0]["promotion"] == promo.pk and body["applied"][0]["discount"] == "60.00"
    assert body["not_applied"] == [
        {"promotion": None, "name": "", "reason": "unknown_code", "params": {"code": "WHAT"}}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"lines": []}, "lines"), ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku"),
     ({"lines": [{"sku": "X", "quantity": "many"}]}, "lines.0.quantity"), ({"lines": "x"}, "lines"),
     ({"lines": [{"sku": "X", "quantity": 1}], "codes": "ABC"}, "codes")],
)  # fmt: skip
def test_bad_quotes_are_400(shop, api, body, field):
    make_sku(shop, code="X")
    r = api.post(f"{_base(shop)}quote/", body, format="json")
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content


def test_a_viewer_may_quote_but_not_create(shop):
    sku, _wh = make_sku(shop)
    viewer = api_client_for(make_member(shop, "viewer").user)
    assert viewer.post(f"{_base(shop)}quote/", {"lines": [{"sku": sku.code, "quantity": 1}]},
                       format="json").status_code == 200  # fmt: skip
    r = viewer.post(_base(shop), {"name": "x", "kind": "percent_off", "value": "5", "starts_at": _start()},
                    format="json")  # fmt: skip
    assert r.status_code == 403


def test_integration_intake_takes_codes_and_buyer_id(shop):
    sku, _wh = make_sku(shop, price="100.00")
    promo = make_promotion(shop, value="20", code="SPRING", per_buyer_limit=1)
    platform = api_client_for(platform_user(), reauth=False)
    url = f"/api/v1/integration/shops/{shop.pk}/orders/"

    def order(ext, codes):
        body = {"external_id": ext, "delivery_method": "standard", "buyer": {**BUYER, "id": "buyer-7"},
                "lines": [{"sku": sku.code, "quantity": 2, "unit_price": "100.00"}], "codes": codes}  # fmt: skip
        r = platform.post(url, body, format="json")
        assert r.status_code == 201, r.content
        return r.json()

    first = order("API-1", ["spring"])
    assert (first["subtotal"], first["discount_total"], first["total"]) == ("200.00", "40.00", "160.00")
    assert first["lines"][0]["discount"] == "40.00" and first["lines"][0]["is_gift"] is False
    assert [p["promotion"] for p in first["promotions"]] == [promo.pk]
    second = order("API-2", ["spring"])  # the same buyer: the per-buyer limit is 1
    assert (second["subtotal"], second["discount_total"], second["total"]) == ("200.00", "0.00", "200.00")
    plain = order("API-3", [])
    assert plain["total"] == "200.00" and plain["promotions"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "percent_off", "value": {"a": 1}}, {"kind": "percent_off", "value": "NaN"},
        {"kind": "spend_threshold", "tiers": [1, 2]}, {"kind": "spend_threshold", "tiers": [{"min_spend": [], "discount": {}}]},
        {"kind": "percent_off", "value": "5", "scope": "x"}, {"kind": "percent_off", "value": "5", "scope": {"skus": "abc"}},
        {"kind": "percent_off", "value": "5", "scope": {"categories": ["x"]}}, {"kind": "percent_off", "value": "5", "scope": {"skus": [{"a": 1}]}},
        {"kind": "percent_off", "value": "5", "starts_at": 123}, {"kind": "percent_off", "value": "5", "priority": "hi"},
        {"kind": "buy_x_get_y", "buy_quantity": 10**30, "get_quantity": 1}, {"kind": ["percent_off"]},
        {"kind": "amount_off", "value": "1e20"}, {"kind": "percent_off", "value": "5", "usage_limit": 10**20},
    ],
)  # fmt: skip
def test_odd_bodies_are_400_never_500(shop, api, body):
    r = api.post(_base(shop), {"name": "Odd", "starts_at": _start(), **body}, format="json")
    assert r.status_code == 400, r.content


def test_limits_cannot_go_below_what_was_used(shop, api):
    promo = make_promotion(shop, usage_limit=5)
    Promotion.objects.for_shop(shop).filter(pk=promo.pk).update(used_count=3)
    r = api.patch(f"{_base(shop)}{promo.pk}/", {"usage_limit": 2}, format="json")
    assert r.status_code == 400 and "usage_limit" in r.json()["error"]["fields"]
