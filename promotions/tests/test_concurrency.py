"""Guardrails under concurrent intakes on PostgreSQL (``tests.races.race``: threads released together, each on
its own connection; a 500, a deadlock or any unexpected error fails the test)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from orders.models import Order
from orders.tests.factories import make_sku
from promotions.models import Promotion, PromotionUse
from promotions.tests.factories import intake, make_promotion, quote
from tests.races import race, require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _postgresql():
    require_postgresql()


def test_usage_limit_ten_with_fifty_concurrent_intakes_discounts_exactly_ten(shop):
    sku, _wh = make_sku(shop, price="100.00", stock=60)
    promo = make_promotion(shop, value="10", usage_limit=10)

    results = race(50, lambda i: intake(shop, [(sku, 1)], external_id=f"LIM-{i}", buyer_id=f"b{i}").pk)
    discounts = Counter(Order.objects.for_shop(shop).filter(pk__in=results).values_list("discount_total", flat=True))
    assert discounts == {D("10.00"): 10, D("0.00"): 40}
    promo.refresh_from_db()
    assert promo.used_count == 10 and PromotionUse.objects.for_shop(shop).filter(promotion=promo).count() == 10
    assert quote(shop, [(sku, 1)])["not_applied"] == [
        {"promotion": promo.pk, "name": promo.name, "reason": "limit_reached", "params": {}}
    ]


def test_a_budget_of_one_hundred_is_never_overspent(shop):
    sku, _wh = make_sku(shop, price="70.00", stock=40)
    promo = make_promotion(shop, value="10", budget="100.00")  # 7.00 per order: 14 fit, the 15th gets 2.00

    results = race(30, lambda i: intake(shop, [(sku, 1)], external_id=f"BUD-{i}").pk)
    total = sum(Order.objects.for_shop(shop).filter(pk__in=results).values_list("discount_total", flat=True), D(0))
    promo.refresh_from_db()
    assert promo.spent == total == D("100.00")
    assert sum(PromotionUse.objects.for_shop(shop).filter(promotion=promo).values_list("amount", flat=True)) == total


def test_per_buyer_limit_one_with_five_concurrent_orders_of_one_buyer(shop):
    sku, _wh = make_sku(shop, price="100.00", stock=10)
    promo = make_promotion(shop, value="10", per_buyer_limit=1)

    results = race(5, lambda i: intake(shop, [(sku, 1)], external_id=f"BUY-{i}", buyer_id="same-buyer").pk)
    discounts = Counter(Order.objects.for_shop(shop).filter(pk__in=results).values_list("discount_total", flat=True))
    assert discounts == {D("10.00"): 1, D("0.00"): 4}
    assert PromotionUse.objects.for_shop(shop).filter(promotion=promo, buyer_id="same-buyer").count() == 1
    # Another buyer still gets it.
    other = intake(shop, [(sku, 1)], buyer_id="other-buyer")
    other.refresh_from_db()
    assert other.discount_total == D("10.00")
    assert Promotion.objects.for_shop(shop).get(pk=promo.pk).used_count == 2


def test_an_order_waits_only_for_the_promotions_its_lines_could_use(shop):
    """Intake locks the promotions whose scope covers one of the order's lines, not every running one: an order
    of other goods goes through while a promotion is locked; an order it covers waits for that lock."""
    import threading

    from django.db import OperationalError, connection, transaction

    phone, _wh = make_sku(shop, price="100.00", stock=10)
    cable, _wh = make_sku(shop, price="100.00", stock=10)
    make_promotion(shop, value="10", scope={"skus": [phone.code]})
    on_cables = make_promotion(shop, value="20", scope={"skus": [cable.code]})
    held, release = threading.Event(), threading.Event()

    def hold_the_cable_promotion():
        try:
            with transaction.atomic():
                Promotion.objects.for_shop(shop).select_for_update().get(pk=on_cables.pk)
                held.set()
                release.wait(20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_cable_promotion)
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '2s'")
            order = intake(shop, [(phone, 1)])
        order.refresh_from_db()
        assert order.discount_total == D("10.00")
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '1s'")
            intake(shop, [(cable, 1)])
    finally:
        release.set()
        holder.join(30)
