"""The daily stock rollup (``StockDay``), kept from ``stock.moved``: after any sequence of adjustments, counted
levels, order intakes (reservations), shipments and cancellations, walking over the night Berlin leaves summer
time, the incremental rows equal a rebuild from the movements (Hypothesis) and a replayed event changes nothing;
each day's figures equal an SQL aggregate over the catalog's movements in the shop's zone; an event costs the
same queries whatever it carries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import rollups
from analytics.models import StockDay
from analytics.tests.conftest import DST_CHANGE, cancel, deliver, place
from backoffice import events
from backoffice.errors import ServiceError
from catalog import services as catalog
from catalog.models import StockMovement
from tests.races import race, require_postgresql

pytestmark = pytest.mark.django_db
FIELDS = ("received", "issued", "net", "closing_on_hand", "movements", "last_movement_id", "max_movement_id")


def state_of(shop) -> dict:
    return {
        (r.day, r.sku_id, r.warehouse_id): tuple(getattr(r, f) for f in FIELDS) for r in StockDay.objects.for_shop(shop)
    }


def adjust(w, sku, warehouse, delta: int, at) -> None:
    with time_machine.travel(at, tick=False):
        catalog.stock_adjust(actor=w.owner, sku=sku, warehouse=warehouse, delta=delta,
                             reason="receipt" if delta > 0 else "damage")  # fmt: skip


def set_level(w, sku, warehouse, level: int, at) -> None:
    with time_machine.travel(at, tick=False):
        catalog.stock_set_level(actor=w.owner, sku=sku, warehouse=warehouse, on_hand=level)


def aggregate_sql(shop) -> dict:
    """The same figures computed independently by the database from ``catalog_stockmovement``: local days by
    ``AT TIME ZONE`` (PostgreSQL) or Django's zone-aware date function (SQLite), the closing level from the latest
    movement of the day by (created_at, id)."""
    if connection.vendor == "postgresql":
        day = "(created_at AT TIME ZONE %s)::date"
    else:
        day = "django_datetime_cast_date(created_at, %s, 'UTC')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH m AS (
                SELECT id, sku_id, warehouse_id, on_hand_delta, on_hand_after, {day} AS day,
                       ROW_NUMBER() OVER (PARTITION BY sku_id, warehouse_id, {day}
                                          ORDER BY created_at DESC, id DESC) AS rank
                FROM catalog_stockmovement WHERE shop_id = %s
            )
            SELECT day, sku_id, warehouse_id,
                   SUM(CASE WHEN on_hand_delta > 0 THEN on_hand_delta ELSE 0 END),
                   SUM(CASE WHEN on_hand_delta < 0 THEN -on_hand_delta ELSE 0 END),
                   SUM(on_hand_delta), MAX(CASE WHEN rank = 1 THEN on_hand_after END), COUNT(*), MAX(id)
            FROM m GROUP BY day, sku_id, warehouse_id
            """,  # noqa: S608 (only the fixed day expression is put in the text)
            [shop.timezone, shop.timezone, shop.pk],
        )
        return {
            (r[0] if isinstance(r[0], date) else date.fromisoformat(r[0]), r[1], r[2]): tuple(int(v) for v in r[3:])
            for r in cursor.fetchall()
        }


def figures(shop) -> dict:
    return {
        key: (v[0], v[1], v[2], v[3], v[4], v[6]) for key, v in state_of(shop).items()
    }  # received, issued, net, closing, movements, max id


STEP = st.one_of(
    st.tuples(st.just("adjust"), st.integers(0, 2), st.booleans(), st.integers(-40, 40).filter(bool)),
    st.tuples(st.just("set"), st.integers(0, 2), st.booleans(), st.integers(0, 12_000)),
    st.tuples(st.just("intake"), st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3)),
    st.tuples(st.just("ship"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("replay"), st.integers(1, 3)),
)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])  # fmt: skip
@given(steps=st.lists(st.tuples(STEP, st.integers(1, 11)), min_size=1, max_size=12))
def test_incremental_stock_rollup_equals_a_rebuild(sales_world, steps):
    w = sales_world
    clock = DST_CHANGE - timedelta(hours=30)  # the steps walk the clock over the change of time
    placed = []
    for step, hours in steps:
        clock += timedelta(hours=hours)
        kind = step[0]
        try:
            if kind == "adjust":
                adjust(w, w.skus[step[1]], w.north if step[2] else w.south, step[3], clock)
            elif kind == "set":
                set_level(w, w.skus[step[1]], w.north if step[2] else w.south, step[3], clock)
            elif kind == "intake":
                placed.append(place(w, [(w.skus[i], q) for i, q in step[1]], clock))
            elif kind == "replay":  # the latest movements announced a second time
                before = state_of(w.shop)
                last = list(StockMovement.objects.for_shop(w.shop).order_by("-id")[: step[1]])
                events.publish("stock.moved", shop=w.shop, movements=last)
                assert state_of(w.shop) == before
            elif placed:
                order = placed[step[1] % len(placed)]
                (deliver if kind == "ship" else cancel)(w, order, clock)
        except ServiceError:
            pass  # refused (below what is reserved, cancel a shipped order...): nothing changed
    incremental = state_of(w.shop)
    assert rollups.rebuild_stock(w.shop, batch=2) == StockMovement.objects.for_shop(w.shop).count()
    assert state_of(w.shop) == incremental
    assert figures(w.shop) == aggregate_sql(w.shop)


def test_days_are_the_shops_and_figures_equal_an_sql_aggregate(sales_world):
    """Berlin: 23:30 UTC on the 24th is already the 25th (CEST); 22:30 UTC on the 25th is still the 25th (CET),
    23:30 UTC is the 26th. Received, issued, net, closing level and count per local day, as SQL has them."""
    w = sales_world
    a1, north = w.skus[0], w.north
    adjust(w, a1, north, 5, DST_CHANGE - timedelta(hours=1, minutes=30))  # the 25th
    adjust(w, a1, north, -3, DST_CHANGE + timedelta(hours=21, minutes=30))  # still the 25th
    order = place(w, [(a1, 2)], DST_CHANGE + timedelta(hours=22, minutes=30))  # the 26th: a reservation
    deliver(w, order, DST_CHANGE + timedelta(hours=23))  # the 26th: shipped (whichever warehouse held it)
    set_level(w, a1, north, 7, DST_CHANGE + timedelta(days=2))  # the 27th
    rows = {r.day: r for r in StockDay.objects.for_shop(w.shop).filter(sku=a1, warehouse=north)}
    oct25, oct27 = date(2026, 10, 25), date(2026, 10, 27)
    assert (rows[oct25].received, rows[oct25].issued, rows[oct25].net, rows[oct25].movements) == (5, 3, 2, 2)
    assert rows[oct25].closing_on_hand == 10_002
    # The order reserved from North (the most available) and shipped from it on the 26th: two movements.
    oct26 = date(2026, 10, 26)
    assert (rows[oct26].issued, rows[oct26].net, rows[oct26].closing_on_hand, rows[oct26].movements) == (
        2,
        -2,
        10_000,
        2,
    )
    assert (rows[oct27].issued, rows[oct27].net, rows[oct27].closing_on_hand, rows[oct27].movements) == (
        9_993,
        -9_993,
        7,
        1,
    )
    assert figures(w.shop) == aggregate_sql(w.shop)
    assert sum(v[4] for v in figures(w.shop).values()) == StockMovement.objects.for_shop(w.shop).count()


def test_an_event_costs_the_same_queries_whatever_it_carries(sales_world):
    """One movement or three (an intake of three SKUs): the same queries; a replay writes nothing."""
    w = sales_world
    adjust(w, w.skus[0], w.north, 1, DST_CHANGE)
    place(w, [(w.skus[0], 1), (w.skus[1], 2), (w.skus[2], 3)], DST_CHANGE + timedelta(hours=1))
    one = list(StockMovement.objects.for_shop(w.shop).filter(kind="receipt").order_by("-id")[:1])
    three = list(StockMovement.objects.for_shop(w.shop).filter(kind="reservation").order_by("id"))
    assert len(one) == 1 and len(three) == 3
    counts = []
    for movements in (one, three):
        StockDay.objects.for_shop(w.shop).delete()
        with CaptureQueriesContext(connection) as ctx:
            assert rollups.apply_movements(w.shop, movements) == len(movements)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 6
    with CaptureQueriesContext(connection) as ctx:
        assert rollups.apply_movements(w.shop, three) == 0
    assert not [q for q in ctx.captured_queries if q["sql"].startswith(("UPDATE", "DELETE", "WITH"))]


def test_the_rebuild_command_rebuilds_the_stock_rollup(sales_world):
    w = sales_world
    adjust(w, w.skus[1], w.south, -4, DST_CHANGE)
    expected = state_of(w.shop)
    StockDay.objects.for_shop(w.shop).update(net=99, movements=0)
    call_command("analytics_rebuild", "--shop", str(w.shop.pk))
    assert state_of(w.shop) == expected


@pytest.mark.django_db(transaction=True)
def test_stock_moves_racing_a_rebuild_lose_nothing(sales_world):
    """PostgreSQL: eight threads move stock of the same SKUs and days (each on its own connection) while two more
    rebuild the rollup: the rebuild holds the shop's lock alone, the moves wait or go first, and the rows then
    equal the movements."""
    require_postgresql()
    w = sales_world
    at = DST_CHANGE + timedelta(hours=3)

    def move(i: int):
        if i >= 8:
            return rollups.rebuild_stock(w.shop, batch=3)
        sku, warehouse = w.skus[i % 3], (w.north, w.south)[i % 2]
        return catalog.stock_adjust(actor=w.owner, sku=sku, warehouse=warehouse, delta=i + 1, reason="receipt")

    with time_machine.travel(at, tick=False):  # one clock for every thread (time_machine is process-wide)
        race(10, move)
    assert sum(r.movements for r in StockDay.objects.for_shop(w.shop).filter(day=at.date())) == 8
    assert figures(w.shop) == aggregate_sql(w.shop)
