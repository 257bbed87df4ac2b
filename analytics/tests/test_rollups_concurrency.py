"""Concurrent order events on PostgreSQL: intakes and refunds of different orders touching the same day rows at
once, each on its own connection, lose no update and deadlock nowhere; the rollups then equal a rebuild."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from analytics import rollups
from analytics.models import OrderDay, SalesDay
from analytics.tests.conftest import BUYER, DST_CHANGE
from analytics.tests.test_rollups import state_of
from backoffice.authz import system_actor
from orders import services as orders
from tests.races import race, require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_events_on_the_same_days(sales_world):
    require_postgresql()
    w = sales_world
    a1, _a2, b1 = w.skus
    at = DST_CHANGE + timedelta(hours=3)

    def place(i: int):
        # Half the orders name the SKUs the other way round: the day rows are still locked in key order.
        lines = [(a1, 1), (b1, 2)] if i % 2 else [(b1, 2), (a1, 1)]
        order, _created = orders.order_intake(
            actor=system_actor(w.shop), external_id=f"RACE-{i}", delivery_method="standard", buyer=BUYER,
            lines=[{"sku": s.code, "quantity": q, "unit_price": Decimal(s.price)} for s, q in lines], created_at=at,
        )  # fmt: skip
        return order

    def refund(i: int):
        return orders.refund_create(actor=w.owner, order=results[i], amount="1.00", reason="Goodwill")

    # One clock for every thread (time_machine is process-wide): set here, not in the threads.
    with time_machine.travel(at, tick=False):
        results = race(8, place)
    assert len({r.pk for r in results}) == 8
    day = OrderDay.objects.for_shop(w.shop).get(day=at.date(), delivery_method="standard")
    assert (day.orders, day.units) == (8, 24)
    with time_machine.travel(at + timedelta(days=1), tick=False):
        race(8, refund)
    later = OrderDay.objects.for_shop(w.shop).get(day=(at + timedelta(days=1)).date())
    assert later.refunds == Decimal("8.00")
    assert sum(SalesDay.objects.for_shop(w.shop).values_list("refunds", flat=True)) == Decimal("8.00")
    incremental = state_of(w.shop)
    rollups.rebuild(w.shop)
    assert state_of(w.shop) == incremental
