"""The report types promotions contributes to analytics: ``promotions`` (each promotion's effect, from its
snapshot) and ``ads`` (each campaign's figures over the period with CTR, CPC and ROAS of the sums), against
figures worked out by hand from what the test booked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.authz import load_actor, system_actor
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.reports import available_for, clean_params, render, report_type
from backoffice.tenancy.zones import shop_timezone
from orders import services as order_services
from orders.tests.factories import make_sku
from promotions.models import PromotionEffect
from promotions.services import ads as ad_services
from promotions.tests.factories import intake, make_promotion
from tests.fixtures import make_member, make_shop, owner_actor, shop_date, shop_today

pytestmark = pytest.mark.django_db
D = Decimal


def run(actor, key: str, **raw) -> list[dict]:
    """The rows of a run, made as a report run is made: in the shop's zone (a page, the API or its task)."""
    report = report_type(key)
    with shop_timezone(actor.shop):
        result = render(actor, report, clean_params(report, raw))
    keys = [c.key for c in result.columns]
    return [dict(zip(keys, row, strict=True)) for row in result.rows]


def test_promotion_effect_per_promotion_that_ran_in_the_period(db):
    shop = make_shop()
    sku, _wh = make_sku(shop, price="100.00", stock=50)
    now = timezone.now()
    start, end = now - timedelta(days=1), now - timedelta(hours=1)
    promo = make_promotion(shop, name="Ten off", value="10", starts_at=start.isoformat(), ends_at=end.isoformat())
    make_promotion(shop, name="Never on", activate=False)  # a draft: nothing to measure
    # Before its window (the same 23 hours before its start): one order of 1 × 100.
    intake(shop, [(sku, 1)], buyer_id="b0", at=start - timedelta(hours=2))
    # During: 2 × 100 at 10 % off; another cancelled (not counted).
    intake(shop, [(sku, 2)], buyer_id="b1", at=start + timedelta(hours=1))
    cancelled = intake(shop, [(sku, 1)], buyer_id="b2", at=start + timedelta(hours=2))
    order_services.order_cancel(actor=owner_actor(shop), order=cancelled, reason="buyer_request")
    rows = run(owner_actor(shop), "promotions")
    assert len(rows) == 1
    row = rows[0]
    assert (row["promotion"], row["kind"], row["status"]) == ("Ten off", "Percent off", "Ended")
    assert (row["orders"], row["units"], row["revenue"], row["discount"], row["buyers"]) == (
        1, 2, D("180.00"), D("20.00"), 1)  # fmt: skip
    assert row["average_order_value"] == D("180.00")
    assert (row["orders_before"], row["revenue_before"], row["orders_uplift"], row["revenue_uplift"]) == (
        1, D("100.00"), D("0.0"), D("80.0"))  # fmt: skip
    assert row["starts"] == shop_date(start, shop)
    # The snapshot the report computed is the one the page reads (stored once, not per report run).
    assert PromotionEffect.objects.for_shop(shop).filter(promotion=promo).count() == 1
    # A period that ended before it started leaves it out.
    today = shop_today(shop)
    assert run(owner_actor(shop), "promotions", date_from=(today - timedelta(days=60)).isoformat(),
               date_to=(today - timedelta(days=30)).isoformat()) == []  # fmt: skip


def _campaign(shop, name: str, product):
    owner = owner_actor(shop)
    body = {"name": name, "placement": "search", "products": [product.pk], "daily_budget": "10000.00",
            "bid": "2.00", "starts_at": (timezone.now() - timedelta(days=20)).isoformat()}  # fmt: skip
    return ad_services.ad_campaign_activate(
        actor=owner, campaign=ad_services.ad_campaign_create(actor=owner, data=body)
    )


def _push(shop, campaign, day, impressions, clicks, spend, orders, revenue):
    ad_services.ad_stats_push(actor=system_actor(shop), campaign=campaign, data={
        "day": day.isoformat(), "impressions": impressions, "clicks": clicks, "spend": spend, "orders": orders,
        "revenue": revenue})  # fmt: skip


def test_ads_ctr_cpc_roas_of_the_periods_sums(db):
    shop = make_shop()
    sku, _wh = make_sku(shop)
    today = shop_today(shop)
    winter = _campaign(shop, "Winter", sku.product)
    quiet = _campaign(shop, "Quiet", sku.product)
    _push(shop, winter, today - timedelta(days=2), 1000, 50, "100.00", 5, "500.00")
    _push(shop, winter, today - timedelta(days=1), 3000, 30, "60.00", 1, "100.00")
    _push(shop, winter, today - timedelta(days=15), 9999, 999, "999.00", 99, "9999.00")  # before the period
    _push(shop, quiet, today - timedelta(days=1), 100, 0, "0.00", 0, "0.00")
    since = (today - timedelta(days=7)).isoformat()
    rows = run(owner_actor(shop), "ads", date_from=since)
    assert [r["campaign"] for r in rows] == ["Winter", "Quiet"]  # most spend first
    w, q = rows
    assert (w["impressions"], w["clicks"], w["spend"], w["orders"], w["revenue"]) == (4000, 80, D("160.00"), 6,
                                                                                     D("600.00"))  # fmt: skip
    # Ratios of the sums, not averages of daily ratios: 80 / 4000 = 2 %, 160 / 80 = 2.00, 600 / 160 = 3.75.
    assert (w["ctr"], w["cpc"], w["roas"]) == (D("2"), D("2.00"), D("3.75"))
    assert (w["placement"], w["state"]) == ("Search", "Active")
    assert (q["ctr"], q["cpc"], q["roas"]) == (D("0"), None, None)
    everything = {r["campaign"]: r for r in run(owner_actor(shop), "ads",
                                               date_from=(today - timedelta(days=20)).isoformat())}  # fmt: skip
    assert everything["Winter"]["spend"] == D("1159.00")


def test_who_may_run_them_and_bad_parameters(db):
    shop = make_shop()
    viewer = make_member(shop, "viewer")
    support = make_member(shop, "support")  # promotions.view, but not analytics.view
    keys = {"promotions", "ads"}
    assert keys <= {r.key for r in available_for(load_actor(viewer.user, shop))}
    assert not keys & {r.key for r in available_for(load_actor(support.user, shop))}
    with pytest.raises(Forbidden):
        run(load_actor(support.user, shop), "ads")
    for key in keys:
        with pytest.raises(ValidationFailed) as caught:
            clean_params(report_type(key), {"date_from": "2026-05-01", "date_to": "2026-04-01"})
        assert "date_to" in caught.value.fields
        with pytest.raises(ValidationFailed) as caught:
            clean_params(report_type(key), {"campaign": "1"})
        assert "campaign" in caught.value.fields
