"""The promotions demo (``load_promotions_demo``) on a demo shop built as ``make run`` builds it: the catalog demo,
the storefront simulator, then this. Built once for the module (inside a transaction rolled back at the end:
nothing leaks to other modules); each test reads it in its own savepoint."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from catalog.models import Category
from orders.models import Order, OrderLine
from promotions import ads_selectors
from promotions.management.commands import load_promotions_demo as demo
from promotions.models import AdCampaign, AdStat, Promotion, PromotionCode, PromotionUse
from tests.fixtures import make_shop


@pytest.fixture(scope="module")
def demo_shop(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        shop = make_shop("Promotions demo shop")
        call_command("load_catalog_demo", shop=[shop.pk], stdout=io.StringIO())
        call_command("simulate_orders", shop=[shop.pk], stdout=io.StringIO())
        out = io.StringIO()
        call_command("load_promotions_demo", shop=[shop.pk], stdout=out)
        yield shop, out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def built(demo_shop, db):
    return demo_shop


def promotion(shop, name: str) -> Promotion:
    return Promotion.objects.for_shop(shop).get(name=name)


def test_every_kind_and_status_on_the_catalogs_real_skus(built):
    shop, out = built
    assert "9 promotions" in out and "2 ad campaigns" in out
    promotions = list(Promotion.objects.for_shop(shop))
    assert {p.kind for p in promotions} == set(Promotion.Kind.values)
    assert {"active", "scheduled", "paused", "ended"} <= {p.status for p in promotions}
    assert promotion(shop, demo.BLACK_FRIDAY).status == "scheduled"
    paused = [p for p in promotions if p.status == "paused"]
    assert len(paused) == 1 and paused[0].used_count > 0  # orders used it before a member paused it
    # Scopes name the demo catalog's categories; the gift and its trigger are approved, stocked SKUs of the shop.
    kitchen = promotion(shop, demo.KITCHEN_WEEK)
    assert Category.objects.for_shop(shop).get(pk=kitchen.scope["categories"][0]).name == "Kitchen"
    gift = Promotion.objects.for_shop(shop).get(kind="gift_with_purchase")
    assert gift.gift_sku.shop_id == gift.trigger_sku.shop_id == shop.pk
    assert gift.gift_sku.product.status == gift.trigger_sku.product.status == "approved"
    assert (
        gift.used_count >= 1 and PromotionUse.objects.for_shop(shop).filter(promotion=gift, gift_value__gt=0).exists()
    )
    # A gift is an order line at price 0, its stock reserved like any line.
    gift_lines = OrderLine.objects.for_shop(shop).filter(is_gift=True, sku=gift.gift_sku)
    assert gift_lines.count() == gift.used_count and all(ln.unit_price == 0 for ln in gift_lines)


def test_the_spend_tier_promotion_has_orders_that_used_it(built):
    shop, _out = built
    tiers = promotion(shop, demo.SPEND_TIERS)
    assert tiers.status == "active" and [t["discount"] for t in tiers.tiers] == ["300.00", "800.00", "1500.00"]
    uses = PromotionUse.objects.for_shop(shop).filter(promotion=tiers, amount__gt=0)
    assert uses.count() >= 3
    # Each tier's discount is one of the tiers; the orders carry it (intake priced them) and the snapshot names it.
    assert set(uses.values_list("amount", flat=True)) <= {Decimal("300.00"), Decimal("800.00"), Decimal("1500.00")}
    orders = Order.objects.for_shop(shop).filter(pk__in=uses.values("order_id"))
    assert all(o.discount_total > 0 and tiers.pk in [a["promotion"] for a in o.promotions] for o in orders)
    assert all(o.total == o.subtotal - o.discount_total for o in orders)
    assert tiers.used_count == uses.count() and tiers.spent == sum(u.amount for u in uses)


def test_the_ended_promotion_has_orders_in_its_window_and_the_period_before(built):
    shop, _out = built
    ended = promotion(shop, demo.SHOES_ENDED)
    assert ended.state == "ended" and ended.status == "ended"
    length = ended.ends_at - ended.starts_at
    assert length == timedelta(days=7) and ended.ends_at < timezone.now() - timedelta(days=13)
    in_scope = Order.objects.for_shop(shop).filter(lines__sku__product__category_id__in=ended.scope["categories"])
    during = in_scope.filter(created_at__gte=ended.starts_at, created_at__lt=ended.ends_at).distinct()
    before = in_scope.filter(created_at__gte=ended.starts_at - length, created_at__lt=ended.starts_at).distinct()
    assert during.count() > before.count() >= 1
    # The orders in its window got it (priced at their placed time), those before did not.
    used = set(PromotionUse.objects.for_shop(shop).filter(promotion=ended).values_list("order_id", flat=True))
    assert used == set(during.values_list("pk", flat=True))
    assert not before.filter(discount_total__gt=0).exists()


def test_the_code_batch_has_used_and_unused_codes(built):
    shop, _out = built
    welcome = promotion(shop, demo.WELCOME_CODES)
    codes = PromotionCode.objects.for_shop(shop).filter(promotion=welcome)
    assert welcome.has_code_batch and codes.count() == 50
    used = codes.filter(order__isnull=False)
    assert used.count() == 3 and codes.filter(order__isnull=True).count() == 47
    uses = PromotionUse.objects.for_shop(shop).filter(promotion=welcome)
    assert set(uses.values_list("code", flat=True)) == set(used.values_list("code", flat=True))


def test_two_campaigns_with_a_month_of_plausible_figures_one_resting_today(built):
    shop, _out = built
    today = ads_selectors.shop_today(shop)
    campaigns = list(AdCampaign.objects.for_shop(shop).order_by("id"))
    assert len(campaigns) == 2 and all(c.state == "active" for c in campaigns)
    for c in campaigns:
        days = list(
            ads_selectors.campaign_stats(shop=shop, campaign=c, date_from=today - timedelta(days=29), date_to=today)
        )
        assert [d.day for d in days] == [today - timedelta(days=n) for n in range(29, -1, -1)]
        assert all(Decimal(1) <= d.ctr <= Decimal(4) for d in days), [d.ctr for d in days]
        assert all(0 < d.spend <= c.daily_budget and d.orders <= d.clicks for d in days)
    resting = [c for c in campaigns if ads_selectors.campaign_status(c, today=today) == ads_selectors.RESTING]
    assert len(resting) == 1 and resting[0].paused_for_day == today
    assert AdStat.objects.for_shop(shop).get(campaign=resting[0], day=today).spend == resting[0].daily_budget


def test_a_second_run_adds_nothing(built):
    shop, _out = built
    counts = lambda: (  # noqa: E731
        Promotion.objects.for_shop(shop).count(), Order.objects.for_shop(shop).count(),
        PromotionCode.objects.for_shop(shop).count(), AdCampaign.objects.for_shop(shop).count(),
        AdStat.objects.for_shop(shop).count(),
    )  # fmt: skip
    before = counts()
    out = io.StringIO()
    call_command("load_promotions_demo", shop=[shop.pk], stdout=out)
    assert "already there" in out.getvalue()
    assert counts() == before
