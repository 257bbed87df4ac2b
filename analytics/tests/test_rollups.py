"""The daily rollups: kept incrementally on every ``order.changed``, they equal a rebuild from scratch after any
sequence of intakes, cancellations, deliveries, returns and refunds (Hypothesis), across the night Berlin leaves
summer time; a replayed event changes nothing; days are the shop's; an event costs a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import rollups
from analytics.models import OrderContribution, OrderDay, SalesDay
from analytics.tests.conftest import DST_CHANGE, cancel, deliver, place, refund, return_units
from backoffice import events
from backoffice.errors import ServiceError
from orders.models import Order

pytestmark = pytest.mark.django_db
D = Decimal


def state_of(shop) -> tuple[dict, dict]:
    """Every non-empty day row of the shop, keyed by its key."""
    sales = {
        (r.day, r.sku_id, r.warehouse_id, r.delivery_method): (
            r.units,
            r.revenue,
            r.discounts,
            r.units_returned,
            r.refunds,
        )
        for r in SalesDay.objects.for_shop(shop)
        if any((r.units, r.revenue, r.discounts, r.units_returned, r.refunds))
    }
    days = {
        (r.day, r.delivery_method): (r.orders, r.units, r.gross, r.discounts, r.revenue, r.refunds, r.cancelled)
        for r in OrderDay.objects.for_shop(shop)
        if any((r.orders, r.units, r.gross, r.discounts, r.revenue, r.refunds, r.cancelled))
    }
    return sales, days


STEP = st.one_of(
    st.tuples(st.just("intake"), st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3),
              st.sampled_from(["standard", "express", "pickup"])),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("deliver"), st.integers(0, 20)),
    st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from(["0.01", "1.00", "7.77"])),
    st.tuples(st.just("replay"), st.integers(0, 20)),
)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])  # fmt: skip
@given(steps=st.lists(st.tuples(STEP, st.integers(1, 11)), min_size=1, max_size=12))
def test_incremental_rollups_equal_a_rebuild(sales_world, steps):
    w = sales_world
    clock = DST_CHANGE - timedelta(hours=30)  # the steps walk the clock over the change of time
    placed: list[Order] = []
    for step, hours in steps:
        clock += timedelta(hours=hours)
        kind = step[0]
        if kind == "intake":
            placed.append(place(w, [(w.skus[i], q) for i, q in step[1]], clock, method=step[2]))
            continue
        if not placed:
            continue
        order = placed[step[1] % len(placed)]
        try:
            if kind == "cancel":
                cancel(w, order, clock)
            elif kind == "deliver":
                deliver(w, order, clock)
            elif kind == "return":
                return_units(w, order, step[2], clock, refund=step[3])
            elif kind == "refund":
                refund(w, order, step[2], clock)
            else:  # the same event again: the order as it is now, published a second time
                before = state_of(w.shop)
                events.publish("order.changed", shop=w.shop, order=order, kind="replayed")
                assert state_of(w.shop) == before
        except ServiceError:
            pass  # a move the order's state does not allow (cancel a delivered order...): refused, nothing changed
    incremental = state_of(w.shop)
    rollups.rebuild(w.shop, batch=3)
    assert state_of(w.shop) == incremental


def test_days_are_the_shops_across_the_dst_change(sales_world):
    """Berlin: 2026-10-24 23:30 UTC is already the 25th (CEST, +2); 2026-10-25 23:30 UTC is the 26th (CET, +1);
    2026-10-25 22:30 UTC is still the 25th. A refund lands on its own day; a cancelled order adds only a count."""
    w = sales_world
    a1, _a2, b1 = w.skus
    first = place(w, [(a1, 2), (b1, 1)], DST_CHANGE - timedelta(hours=1, minutes=30))  # 23:30 UTC on the 24th
    place(w, [(a1, 1)], DST_CHANGE + timedelta(hours=21, minutes=30))  # 22:30 UTC on the 25th: the 25th
    late = place(w, [(b1, 3)], DST_CHANGE + timedelta(hours=22, minutes=30), method="express")  # the 26th
    cancel(w, late, DST_CHANGE + timedelta(hours=23))
    refund(w, first, "5.00", DST_CHANGE + timedelta(days=3))

    days = {(r.day, r.delivery_method): r for r in OrderDay.objects.for_shop(w.shop)}
    oct25, oct26, oct28 = date(2026, 10, 25), date(2026, 10, 26), date(2026, 10, 28)
    assert sorted(days) == [(oct25, "standard"), (oct26, "express"), (oct28, "standard")]
    assert days[(oct25, "standard")].orders == 2
    assert days[(oct25, "standard")].units == 4
    # 10% off list prices: 2 × 100 + 60 + 100 = 360 gross, 36 off.
    assert days[(oct25, "standard")].gross == D("360.00")
    assert days[(oct25, "standard")].discounts == D("36.00")
    assert days[(oct25, "standard")].revenue == D("324.00")
    assert (days[(oct26, "express")].orders, days[(oct26, "express")].cancelled) == (0, 1)
    assert days[(oct26, "express")].revenue == 0
    assert days[(oct28, "standard")].refunds == D("5.00")
    # The refund is shared over the first order's lines by what they were paid (180 : 54).
    refunds = dict(SalesDay.objects.for_shop(w.shop).filter(day=oct28).values_list("sku_id", "refunds"))
    assert refunds == {a1.pk: D("3.85"), b1.pk: D("1.15")}
    assert sum(SalesDay.objects.for_shop(w.shop).filter(day=oct25).values_list("units", flat=True)) == 4


def test_a_return_counts_on_the_sale_day_and_its_refund_on_its_own(sales_world):
    w = sales_world
    a1 = w.skus[0]
    order = place(w, [(a1, 3)], DST_CHANGE - timedelta(days=2))
    deliver(w, order, DST_CHANGE - timedelta(days=1))
    return_units(w, order, 2, DST_CHANGE + timedelta(days=2))
    sale_day = SalesDay.objects.for_shop(w.shop).get(day=date(2026, 10, 23), sku=a1)
    assert (sale_day.units, sale_day.units_returned, sale_day.revenue) == (3, 2, D("270.00"))
    refund_day = SalesDay.objects.for_shop(w.shop).get(day=date(2026, 10, 27), sku=a1)
    assert (refund_day.units, refund_day.refunds) == (0, D("180.00"))  # 2 units at the 90.00 paid


def test_an_event_costs_the_same_queries_whatever_the_order(sales_world):
    """An order of one line and one of three lines: the same number of queries to refresh (the handler's reads
    and writes are batched), and a replay writes nothing."""
    w = sales_world
    small = place(w, [(w.skus[0], 1)], DST_CHANGE)
    big = place(w, [(w.skus[0], 1), (w.skus[1], 2), (w.skus[2], 3)], DST_CHANGE)
    counts = []
    for order in (small, big):
        OrderContribution.objects.for_shop(w.shop).filter(order_ref=order.pk).update(rows={})
        with CaptureQueriesContext(connection) as ctx:
            rollups.refresh_orders(w.shop, [order.pk])
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 16
    with CaptureQueriesContext(connection) as ctx:
        assert rollups.refresh_orders(w.shop, [big.pk]) == 0
    assert not [q for q in ctx.captured_queries if q["sql"].startswith(("UPDATE", "DELETE"))]


def test_rebuild_command(sales_world, capsys):
    """The command rebuilds one shop from its orders and says how fast."""
    w = sales_world
    place(w, [(w.skus[2], 2)], DST_CHANGE)
    expected = state_of(w.shop)
    SalesDay.objects.for_shop(w.shop).update(units=99)
    call_command("analytics_rebuild", "--shop", str(w.shop.pk))
    assert state_of(w.shop) == expected
    assert f"shop {w.shop.pk}: 1 orders" in capsys.readouterr().out
