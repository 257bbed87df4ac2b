"""Events → postings: sale on delivery (commission by tier), settlement after the return window, refunds from
pending / available / debt, refunds before delivery, ad spend and its re-push corrections, backfill."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import services as accounts
from backoffice.authz import system_actor
from backoffice.errors import Forbidden
from orders import services as orders
from orders.tests.factories import make_sku, order_in
from payouts import selectors, services, tasks
from payouts.models import Account, LedgerEntry, LedgerTransaction
from payouts.tests.factories import (
    assert_invariants,
    balances,
    campaign,
    delivered,
    push_spend,
    refund,
    settle,
)
from tests.fixtures import make_shop, owner_actor, shop_today

pytestmark = pytest.mark.django_db
D = Decimal
A = Account


def kinds(shop) -> list[tuple[str, str]]:
    return list(LedgerTransaction.objects.for_shop(shop).order_by("id").values_list("kind", "key"))


def test_delivery_books_the_sale_and_the_tier_commission_once(shop):
    order = delivered(shop, "1000.00")  # platinum: 5 %
    b = balances(shop)
    assert (b[A.SALES], b[A.PENDING], b[A.COMMISSION], b[A.AVAILABLE]) == (D("-1000.00"), D("950.00"), D("50.00"), 0)
    assert kinds(shop) == [("sale", str(order.pk))]
    assert services.sale_post(actor=system_actor(shop), order=order) is None  # a replay books nothing
    assert balances(shop) == b
    assert set(LedgerEntry.objects.for_shop(shop).values_list("order_id", flat=True)) == {order.pk}
    assert_invariants(shop)

    basic = make_shop(tier="basic")
    delivered(basic, "333.33")
    assert balances(basic)[A.COMMISSION] == D("33.33") and balances(basic)[A.PENDING] == D("300.00")
    assert_invariants(basic)


def test_a_carriers_delivered_event_books_the_sale(shop):
    order = order_in(shop, "delivering", unit_price="500.00")
    assert kinds(shop) == []
    orders.order_tracking_event(actor=system_actor(shop), order=order, status="delivered")
    assert kinds(shop) == [("sale", str(order.pk))] and balances(shop)[A.PENDING] == D("475.00")


def test_settlement_moves_each_sale_once_its_return_window_has_passed(shop):
    first = delivered(shop, "1000.00")
    assert settle(shop, days=13) == 0 and balances(shop)[A.AVAILABLE] == 0
    assert [t.key for t in services.matured_sales(shop=shop, now=timezone.now() + timedelta(days=15))] == [
        str(first.pk)
    ]
    assert settle(shop, days=15) == 1
    assert settle(shop, days=15) == 0  # nothing twice
    b = balances(shop)
    assert (b[A.PENDING], b[A.AVAILABLE]) == (0, D("950.00"))
    call_command("payouts_settle", shop=shop.pk, now=(timezone.now() + timedelta(days=30)).isoformat())
    assert balances(shop)[A.AVAILABLE] == D("950.00")
    assert_invariants(shop)


def test_a_return_window_of_zero_days_settles_at_delivery(shop):
    accounts.shop_update(actor=owner_actor(shop), return_window_days=0)
    shop.refresh_from_db()
    order = delivered(shop, "200.00")
    assert kinds(shop) == [("sale", str(order.pk)), ("settle", str(order.pk))]
    assert balances(shop)[A.AVAILABLE] == D("190.00") and balances(shop)[A.PENDING] == 0


def test_refunds_come_from_pending_then_available_then_debt_which_the_next_settlement_pays(shop):
    a = delivered(shop, "1000.00")
    refund(shop, a, "200.00")  # unsettled: from pending, 5 % of the commission given back
    b = balances(shop)
    assert (b[A.PENDING], b[A.REFUNDS], b[A.COMMISSION]) == (D("760.00"), D("200.00"), D("40.00"))
    settle(shop, days=15)
    assert balances(shop)[A.AVAILABLE] == D("760.00")

    sku, _wh = make_sku(shop, stock=5, price="100.00")
    c = campaign(shop, sku.product)
    push_spend(shop, c, shop_today(shop) - timedelta(days=1), "500.00")
    assert services.ad_spend_sync(actor=system_actor(shop)) == 1
    assert balances(shop)[A.AVAILABLE] == D("260.00")

    refund(shop, a, "800.00")  # settled: net 760 from available (260), the rest is an explicit debt
    b = balances(shop)
    assert (b[A.AVAILABLE], b[A.DEBT], b[A.COMMISSION], b[A.REFUNDS]) == (0, D("-500.00"), 0, D("1000.00"))
    assert selectors.balance_summary(shop=shop)["debt"] == D("500.00")
    assert_invariants(shop)

    delivered(shop, "400.00")  # 380 to pending; its settlement pays the debt first
    settle(shop, days=15)
    b = balances(shop)
    assert (b[A.DEBT], b[A.AVAILABLE], b[A.PENDING]) == (D("-120.00"), 0, 0)
    delivered(shop, "400.00")
    settle(shop, days=15)
    assert (balances(shop)[A.DEBT], balances(shop)[A.AVAILABLE]) == (0, D("260.00"))
    assert_invariants(shop)


def test_a_refund_before_delivery_is_booked_after_the_sale(shop):
    order = order_in(shop, "delivering", unit_price="1000.00")
    r = refund(shop, order, "100.00")
    assert kinds(shop) == []
    orders.order_deliver(actor=owner_actor(shop), order=order)
    assert kinds(shop) == [("sale", str(order.pk)), ("refund", str(r.pk))]
    assert balances(shop)[A.PENDING] == D("855.00")  # 950 − (100 − 5)
    assert_invariants(shop)


def test_ad_spend_is_charged_once_and_a_re_pushed_day_by_its_difference(shop):
    a = delivered(shop, "1000.00")
    settle(shop, days=15)
    sku, _wh = make_sku(shop, stock=5, price="100.00")
    c = campaign(shop, sku.product)
    day = shop_today(shop) - timedelta(days=1)
    actor = system_actor(shop)
    push_spend(shop, c, day, "100.00")
    assert services.ad_spend_sync(actor=actor) == 1
    assert services.ad_spend_sync(actor=actor) == 0
    push_spend(shop, c, day, "130.00")
    push_spend(shop, c, day, "130.00")
    assert services.ad_spend_sync(actor=actor) == 1
    push_spend(shop, c, day, "120.00")
    assert services.ad_spend_sync(actor=actor) == 1
    base = f"{c.pk}:{day.isoformat()}"
    assert kinds(shop)[-3:] == [("ad_spend", base), ("ad_spend_fix", f"{base}:1"), ("ad_spend_fix", f"{base}:2")]
    b = balances(shop)
    assert (b[A.ADS], b[A.AVAILABLE]) == (D("120.00"), D("830.00"))
    assert set(
        LedgerEntry.objects.for_shop(shop).filter(kind__startswith="ad_").values_list("campaign_id", flat=True)
    ) == {c.pk}
    assert a.pk not in LedgerEntry.objects.for_shop(shop).filter(kind__startswith="ad_").values_list(
        "order_id", flat=True
    )
    assert tasks.settle_for_shop(shop_id=shop.pk) == {"ad_spend": 0, "settled": 0}
    assert_invariants(shop)


def test_backfill_books_what_happened_before_payouts_once(shop, without_payouts_events):
    order = delivered(shop, "1000.00")
    r = refund(shop, order, "300.00")
    assert kinds(shop) == []
    call_command("payouts_backfill", shop=shop.pk)
    assert kinds(shop) == [("sale", str(order.pk)), ("refund", str(r.pk))]
    assert services.backfill(actor=system_actor(shop)) == 0
    assert_invariants(shop)


def test_money_moves_only_as_the_system(shop):
    order = order_in(shop, "delivering", unit_price="100.00")
    with pytest.raises(Forbidden):
        services.sale_post(actor=owner_actor(shop), order=order)
    with pytest.raises(Forbidden):
        services.settle_matured(actor=owner_actor(shop))
    with pytest.raises(TypeError):
        services.settle_matured(actor=shop.owner)
    assert kinds(shop) == []
