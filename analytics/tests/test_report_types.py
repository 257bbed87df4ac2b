"""The analytics app's own report types besides sales: ``inventory``, ``orders_funnel``, ``returns`` and
``buyer_behaviour``. Each is checked against figures worked out by hand (or in Python from the rows) on a small
world, for the owner, for members limited to some warehouses or categories, and for a member who may not see
cost prices; bad parameters are 400s naming the field."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.services import storefront_events_record
from backoffice.authz import load_actor, system_actor
from backoffice.errors import ValidationFailed
from backoffice.reports import clean_params, render, report_type
from backoffice.tenancy.zones import shop_timezone
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from orders import services as orders
from orders.models import Order
from orders.tests.factories import order_in
from tests.fixtures import make_member, make_shop, owner_actor, shop_date, shop_today

pytestmark = pytest.mark.django_db
D = Decimal


def run(actor, key: str, **raw) -> list[dict]:
    """The report as ``actor`` sees it: one dict per row, keyed by the columns they get."""
    report = report_type(key)
    with shop_timezone(actor.shop):  # as a page, the API or a run's task makes it
        result = render(actor, report, clean_params(report, raw))
    keys = [c.key for c in result.columns]
    return [dict(zip(keys, row, strict=True)) for row in result.rows]


def actor_of(membership):
    return load_actor(membership.user, membership.shop)


def sku_of(owner, title: str, code: str, price: str, category=None, cost: str | None = None):
    catalog.product_create(actor=owner, title=title, category=category,
                           skus=[{"code": code, "price": price, **({"cost": cost} if cost else {})}])  # fmt: skip
    return catalog_selectors.skus_by_code(shop=owner.shop, codes=[code])[code]


def receive(owner, sku, warehouse, units: int) -> None:
    catalog.stock_adjust(actor=owner, sku=sku, warehouse=warehouse, delta=units, reason="receipt")


def place(shop, sku, quantity: int = 1, *, at: datetime | None = None) -> Order:
    order, _created = orders.order_intake(
        actor=system_actor(shop), external_id=f"X-{sku.code}-{timezone.now().timestamp()}-{quantity}-{at}",
        delivery_method="standard", buyer={"name": "Ann", "phone": "+7 900 000-00-00", "address": "Here"},
        lines=[{"sku": sku.code, "quantity": quantity, "unit_price": sku.price}], created_at=at,
    )  # fmt: skip
    return order


# ------------------------------------------------------------------------------------------------ inventory


@pytest.fixture
def stock_world(db):
    shop = make_shop()
    owner = owner_actor(shop)
    cat_a = catalog.category_create(actor=owner, name="Alpha")
    cat_b = catalog.category_create(actor=owner, name="Beta")
    north = catalog.warehouse_create(actor=owner, name="North", code="north")
    south = catalog.warehouse_create(actor=owner, name="South", code="south")
    a1 = sku_of(owner, "Apple", "A1", "100.00", cat_a, cost="40.00")
    a2 = sku_of(owner, "Apricot", "A2", "50.00", cat_a)  # no cost, never stocked: a stock-out
    b1 = sku_of(owner, "Banana", "B1", "60.00", cat_b, cost="25.50")
    c1 = sku_of(owner, "Cherry", "C1", "20.00", cat_b, cost="10.00")  # stocked, never sold: a slow mover
    receive(owner, a1, north, 10)
    receive(owner, a1, south, 4)
    receive(owner, b1, north, 6)
    receive(owner, c1, south, 3)
    now = timezone.now()
    place(shop, a1, 3, at=now - timedelta(days=2))  # North (most available): sold in the last 30 days
    place(shop, a1, 1, at=now - timedelta(days=40))  # North: a sale older than 30 days
    shipped = place(shop, b1, 2, at=now - timedelta(days=10))
    for step in (orders.order_confirm, orders.order_pack, orders.order_ship):
        shipped = Order.objects.for_shop(shop).get(pk=shipped.pk)
        if step is orders.order_confirm and shipped.state != "awaiting_confirmation":
            continue
        kwargs = {"carrier": "CDEK", "tracking_number": "T1"} if step is orders.order_pack else {}
        step(actor=owner, order=shipped, **kwargs)
    cancelled = place(shop, b1, 1, at=now - timedelta(days=1))
    orders.order_cancel(actor=owner, order=cancelled, reason="buyer_request")
    return {"shop": shop, "owner": owner, "cat_a": cat_a, "cat_b": cat_b, "north": north, "south": south,
            "a1": a1, "a2": a2, "b1": b1, "c1": c1, "now": now}  # fmt: skip


def test_inventory_per_sku_and_warehouse_for_the_owner(stock_world):
    w = stock_world
    recent = shop_date(w["now"] - timedelta(days=2), w["shop"])
    rows = run(w["owner"], "inventory", group_by="sku_warehouse")
    got = {(r["sku"], r["warehouse"]): r for r in rows}
    assert list(got) == [("A1", "North"), ("A1", "South"), ("A2", ""), ("B1", "North"), ("C1", "South")]
    # Worked out by hand: A1 North holds 10, 3 + 1 reserved by the two open orders, 3 sold in 30 days.
    # All stock arrived within 30 days, so 30 days ago nothing was on hand: average on hand = (now + 0) / 2.
    assert got[("A1", "North")] == {
        "sku": "A1", "product": "Apple", "category": "Alpha", "warehouse": "North", "on_hand": 10, "reserved": 4,
        "available": 6, "unit_cost": D("40.00"), "stock_value": D("400.00"), "sold_30d": 3,
        "turnover_30d": D("0.60"), "days_of_cover": D("60.0"), "last_sale": recent, "slow_movers": 0,
        "stock_outs": 0,
    }  # fmt: skip
    assert got[("A1", "South")]["stock_value"] == D("160.00") and got[("A1", "South")]["slow_movers"] == 1
    assert got[("A1", "South")]["days_of_cover"] is None and got[("A1", "South")]["turnover_30d"] == D("0.00")
    # B1: 6 received, 2 shipped, 1 reserved then released by the cancellation (not a sale).
    b1 = got[("B1", "North")]
    assert (b1["on_hand"], b1["reserved"], b1["available"], b1["sold_30d"]) == (4, 0, 4, 2)
    assert (b1["stock_value"], b1["turnover_30d"], b1["days_of_cover"]) == (D("102.00"), D("1.00"), D("60.0"))
    assert got[("A2", "")]["stock_outs"] == 1 and got[("A2", "")]["stock_value"] is None
    assert got[("C1", "South")]["slow_movers"] == 1 and got[("C1", "South")]["last_sale"] is None


def test_inventory_by_warehouse_and_by_sku_add_up(stock_world):
    w = stock_world
    by_wh = {r["warehouse"]: r for r in run(w["owner"], "inventory")}  # group_by=warehouse by default
    assert list(by_wh) == ["North", "South"]
    north, south = by_wh["North"], by_wh["South"]
    assert (north["on_hand"], north["reserved"], north["available"], north["sold_30d"]) == (14, 4, 10, 5)
    assert north["stock_value"] == D("502.00") and north["turnover_30d"] == D("0.71")  # 5 / ((14 + 0) / 2)
    assert north["days_of_cover"] == D("60.0") and north["sku"] == "" and north["unit_cost"] is None
    assert (south["on_hand"], south["stock_value"], south["slow_movers"], south["stock_outs"]) == (7, D("190.00"), 2, 0)
    by_sku = {r["sku"]: r for r in run(w["owner"], "inventory", group_by="sku")}
    assert by_sku["A1"]["on_hand"] == 14 and by_sku["A1"]["stock_value"] == D("560.00")
    assert by_sku["A1"]["unit_cost"] == D("40.00") and by_sku["A1"]["warehouse"] == ""
    assert by_sku["A1"]["slow_movers"] == 1 and by_sku["A2"]["stock_outs"] == 1
    # The filters: slow movers only, stock-outs only, one warehouse, some categories.
    slow = run(w["owner"], "inventory", group_by="sku_warehouse", show="slow", slow_days=15)
    assert [(r["sku"], r["warehouse"]) for r in slow] == [("A1", "South"), ("C1", "South")]
    # With a 5-day window the B1 sale 10 days ago no longer counts: B1 becomes a slow mover too.
    slow = run(w["owner"], "inventory", group_by="sku_warehouse", show="slow", slow_days=5)
    assert ("B1", "North") in {(r["sku"], r["warehouse"]) for r in slow}
    assert [r["sku"] for r in run(w["owner"], "inventory", group_by="sku", show="out")] == ["A2"]
    only_south = run(w["owner"], "inventory", group_by="sku_warehouse", warehouse=w["south"].pk)
    assert {r["warehouse"] for r in only_south} == {"South"}
    beta = run(w["owner"], "inventory", group_by="sku", category=[w["cat_b"].pk])
    assert [r["sku"] for r in beta] == ["B1", "C1"]


def test_inventory_for_scoped_members_and_without_cost(stock_world):
    w = stock_world
    south_only = actor_of(make_member(w["shop"], "operator", scopes={"warehouse": [w["south"].pk]}))
    rows = run(south_only, "inventory", group_by="sku_warehouse")
    # An operator may not see cost prices: neither column is in their result.
    assert "unit_cost" not in rows[0] and "stock_value" not in rows[0]
    # B1 is stocked only in North: for them it is a SKU with no stock in their warehouses (a stock-out).
    assert {(r["sku"], r["warehouse"]) for r in rows} == {("A1", "South"), ("A2", ""), ("B1", ""), ("C1", "South")}
    assert {r["sku"]: r["stock_outs"] for r in rows if r["warehouse"] == ""} == {"A2": 1, "B1": 1}
    assert {r["warehouse"] for r in run(south_only, "inventory")} == {"South"}
    # Another warehouse named in the parameters shows nothing rather than widening the scope.
    assert run(south_only, "inventory", group_by="sku_warehouse", warehouse=w["north"].pk) == []
    beta_finance = actor_of(make_member(w["shop"], "finance", scopes={"category": [w["cat_b"].pk]}))
    rows = run(beta_finance, "inventory", group_by="sku_warehouse")
    assert [(r["sku"], r["warehouse"], r["stock_value"]) for r in rows] == [
        ("B1", "North", D("102.00")), ("C1", "South", D("30.00"))]  # fmt: skip
    by_wh = {r["warehouse"]: r for r in run(beta_finance, "inventory")}
    assert by_wh["North"]["on_hand"] == 4 and by_wh["North"]["sold_30d"] == 2  # A1's sales are not theirs
    viewer = actor_of(make_member(w["shop"], "viewer"))
    assert "stock_value" not in run(viewer, "inventory")[0]


# ------------------------------------------------------------------------------------------------ orders_funnel


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def funnel_world(db):
    """Orders around the end of summer time in Berlin (2026-10-25 03:00 CEST → 02:00 CET), with known times."""
    shop = make_shop()
    shop.timezone = "Europe/Berlin"
    shop.save(update_fields=["timezone"])
    owner = owner_actor(shop)
    north = catalog.warehouse_create(actor=owner, name="North", code="north")
    south = catalog.warehouse_create(actor=owner, name="South", code="south")
    here = sku_of(owner, "Lamp", "L1", "10.00")
    there = sku_of(owner, "Desk", "D1", "10.00")
    receive(owner, here, north, 50)
    receive(owner, there, south, 50)
    h = timedelta(hours=1)
    # (created, sku, state, hours to confirm, to pack, to ship)
    plan = {
        "f6": ("2026-10-23T12:00", here, "delivered", 9, 12, 40),
        "f1": ("2026-10-24T10:00", here, "delivered", 1, 5, 20),
        "f2": ("2026-10-24T21:30", here, "delivered", 3, 10, 50),  # 23:30 CEST: the 24th; late (over 48 h)
        "f3": ("2026-10-25T22:30", here, "awaiting_packaging", 2, None, None),  # 23:30 CET: still the 25th; late
        "f4": ("2026-10-25T08:00", here, "cancelled", 1, None, None),
        "f5": ("2026-10-26T09:00", there, "delivered", 4, 6, 30),
    }
    made = {}
    for name, (created, sku, state, confirm, pack, ship) in plan.items():
        at = utc(created)
        order = place(shop, sku, at=at)
        Order.objects.for_shop(shop).filter(pk=order.pk).update(
            state=state, confirmed_at=at + confirm * h, packed_at=pack and at + pack * h,
            shipped_at=ship and at + ship * h, cancelled_at=at + 2 * h if state == "cancelled" else None,
        )  # fmt: skip
        made[name] = order
    return {"shop": shop, "owner": owner, "north": north, "south": south, "orders": made}


def test_orders_funnel_by_day_in_the_shop_zone_across_dst(funnel_world):
    w = funnel_world
    rows = run(w["owner"], "orders_funnel", date_from="2026-10-23", date_to="2026-10-27")
    by_day = {r["period"]: r for r in rows}
    assert list(by_day) == [date(2026, 10, d) for d in (23, 24, 25, 26, 27)]
    assert by_day[date(2026, 10, 24)] == {
        "period": date(2026, 10, 24), "orders": 2, "cancelled": 0,
        "confirm_median_h": D("2.00"), "confirm_avg_h": D("2.00"), "pack_median_h": D("7.50"),
        "pack_avg_h": D("7.50"), "ship_median_h": D("35.00"), "ship_avg_h": D("35.00"),
        "overdue": 1, "overdue_share": D("50.00"),
    }  # fmt: skip
    day25 = by_day[date(2026, 10, 25)]  # f3 at 22:30 UTC is 23:30 CET: the 25th, not the 26th
    assert (day25["orders"], day25["cancelled"], day25["confirm_median_h"], day25["pack_median_h"]) == (
        2, 1, D("1.50"), None)  # fmt: skip
    assert (day25["overdue"], day25["overdue_share"]) == (1, D("100.00"))
    assert by_day[date(2026, 10, 26)]["orders"] == 1 and by_day[date(2026, 10, 26)]["overdue_share"] == D("0.00")
    assert by_day[date(2026, 10, 27)]["orders"] == 0 and by_day[date(2026, 10, 27)]["overdue_share"] is None


def test_orders_funnel_by_week_matches_python_over_the_rows(funnel_world):
    w = funnel_world
    rows = run(w["owner"], "orders_funnel", date_from="2026-10-19", date_to="2026-11-01", group_by="week")
    assert [r["period"] for r in rows] == [date(2026, 10, 19), date(2026, 10, 26)]
    week = rows[0]
    # Independently: the week's orders (Monday 19th to Sunday 25th, Berlin) read back and measured in Python.
    mine = [o for o in Order.objects.for_shop(w["shop"]).all() if o.created_at < utc("2026-10-25T23:00")]

    def hours(values):
        return [Decimal((v - o.created_at).total_seconds()) / 3600 for o, v in values if v is not None]

    for step, field in (("confirm", "confirmed_at"), ("pack", "packed_at"), ("ship", "shipped_at")):
        took = hours([(o, getattr(o, field)) for o in mine])
        assert week[f"{step}_median_h"] == D(statistics.median(took)).quantize(D("0.01")), step
        assert week[f"{step}_avg_h"] == (sum(took) / len(took)).quantize(D("0.01")), step
    assert (week["orders"], week["cancelled"], week["overdue"], week["overdue_share"]) == (5, 1, 2, D("50.00"))
    assert week["confirm_median_h"] == D("2.00") and week["ship_median_h"] == D("40.00")


def test_orders_funnel_for_a_member_limited_to_a_warehouse(funnel_world):
    w = funnel_world
    south = actor_of(make_member(w["shop"], "operator", scopes={"warehouse": [w["south"].pk]}))
    rows = run(south, "orders_funnel", date_from="2026-10-23", date_to="2026-10-26")
    assert [r["orders"] for r in rows] == [0, 0, 0, 1]
    assert rows[-1]["ship_median_h"] == D("30.00")


# ------------------------------------------------------------------------------------------------ returns


def test_returns_rate_and_reasons_by_product(db):
    shop = make_shop()
    owner = owner_actor(shop)
    cat_a = catalog.category_create(actor=owner, name="Alpha")
    cat_b = catalog.category_create(actor=owner, name="Beta")
    wh = catalog.warehouse_create(actor=owner, name="Main", code="main")
    pen = sku_of(owner, "Pen", "P1", "5.00", cat_a)
    mug = sku_of(owner, "Mug", "M1", "9.00", cat_b)
    receive(owner, pen, wh, 50)
    receive(owner, mug, wh, 50)
    big = order_in(shop, "delivered", sku=pen, quantity=4, unit_price="5.00")
    small = order_in(shop, "delivered", sku=pen, quantity=1, unit_price="5.00")
    mugs = order_in(shop, "delivered", sku=mug, quantity=2, unit_price="9.00")
    order_in(shop, "cancelled", sku=pen, quantity=3, unit_price="5.00")  # not a sale

    def give_back(order, units, reason):
        line = order.lines.get()
        return orders.return_request(actor=owner, order=order, lines=[{"line": line.pk, "quantity": units}],
                                     reason=reason)  # fmt: skip

    def received(ret):
        ret = orders.return_approve(actor=owner, ret=ret)
        return orders.return_receive(actor=owner, ret=ret, warehouse=wh)

    received(give_back(big, 2, "Wrong size"))
    orders.return_reject(actor=owner, ret=give_back(small, 1, "Changed my mind"), note="Used")  # rejected: not counted
    orders.return_refund(actor=owner, ret=received(give_back(mugs, 1, "Broken")))
    give_back(mugs, 1, "Too big")  # only asked for: not back yet, not counted
    rows = run(owner, "returns")
    assert rows == [
        {"product": "Pen", "category": "Alpha", "units_sold": 5, "units_returned": 2, "return_rate": D("40.00"),
         "returns": 1, "reasons": "Wrong size ×1"},
        {"product": "Mug", "category": "Beta", "units_sold": 2, "units_returned": 1, "return_rate": D("50.00"),
         "returns": 1, "reasons": "Broken ×1"},
    ]  # fmt: skip
    beta = actor_of(make_member(shop, "viewer", scopes={"category": [cat_b.pk]}))
    assert [r["product"] for r in run(beta, "returns")] == ["Mug"]
    # A period before the orders: nothing.
    assert run(owner, "returns", date_from="2020-01-01", date_to="2020-01-31") == []


# ------------------------------------------------------------------------------------------------ buyer_behaviour


def test_buyer_behaviour_funnel_per_product_and_sku(db):
    shop = make_shop()
    owner = owner_actor(shop)
    cat_a = catalog.category_create(actor=owner, name="Alpha")
    cat_b = catalog.category_create(actor=owner, name="Beta")
    catalog.product_create(actor=owner, title="Shirt", category=cat_a,
                           skus=[{"code": "S-S", "price": "10.00"}, {"code": "S-M", "price": "10.00"}])  # fmt: skip
    sku_of(owner, "Hat", "H1", "7.00", cat_b)
    now = timezone.now()
    at = now.isoformat()
    old = (now - timedelta(days=60)).isoformat()
    events = ([{"sku": "S-S", "kind": "view", "at": at}] * 6 + [{"sku": "S-M", "kind": "view", "at": at}] * 4
              + [{"sku": "S-S", "kind": "cart", "at": at}] * 3 + [{"sku": "S-M", "kind": "cart", "at": at}]
              + [{"sku": "S-S", "kind": "order", "at": at}] + [{"sku": "H1", "kind": "view", "at": at}] * 2
              + [{"sku": "H1", "kind": "order", "at": old}])  # fmt: skip
    storefront_events_record(actor=system_actor(shop), batch="one", events=events)
    rows = run(owner, "buyer_behaviour")
    assert rows == [
        {"product": "Shirt", "category": "Alpha", "sku": "", "views": 10, "carts": 4, "orders": 1,
         "view_to_cart": D("40.00"), "cart_to_order": D("25.00"), "view_to_order": D("10.00")},
        {"product": "Hat", "category": "Beta", "sku": "", "views": 2, "carts": 0, "orders": 0,
         "view_to_cart": D("0.00"), "cart_to_order": None, "view_to_order": D("0.00")},
    ]  # fmt: skip
    per_sku = run(owner, "buyer_behaviour", group_by="sku")
    assert [(r["sku"], r["views"], r["carts"], r["orders"]) for r in per_sku] == [
        ("S-S", 6, 3, 1), ("S-M", 4, 1, 0), ("H1", 2, 0, 0)]  # fmt: skip
    today = shop_today(shop)
    wide = run(owner, "buyer_behaviour", date_from=(today - timedelta(days=90)).isoformat())
    assert {r["product"]: r["orders"] for r in wide} == {"Shirt": 1, "Hat": 1}
    beta = actor_of(make_member(shop, "viewer", scopes={"category": [cat_b.pk]}))
    assert [r["product"] for r in run(beta, "buyer_behaviour")] == ["Hat"]


# ------------------------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    "key,raw,field",
    [
        ("orders_funnel", {"group_by": "year"}, "group_by"),
        ("orders_funnel", {"date_from": "2026-02-30"}, "date_from"),
        ("orders_funnel", {"date_from": "2026-03-01", "date_to": "2026-02-01"}, "date_to"),
        ("orders_funnel", {"date_from": "2016-01-01", "date_to": "2026-01-01"}, "date_to"),
        ("returns", {"group_by": "day"}, "group_by"),  # returns has no grouping: an unknown parameter
        ("inventory", {"slow_days": 0}, "slow_days"),
        ("inventory", {"slow_days": "abc"}, "slow_days"),
        ("inventory", {"slow_days": 400}, "slow_days"),
        ("inventory", {"show": "everything"}, "show"),
        ("inventory", {"group_by": "category"}, "group_by"),
        ("inventory", {"warehouse": "north"}, "warehouse"),
        ("inventory", {"warehouse": 10**20}, "warehouse"),
        ("inventory", {"category": ["x"]}, "category"),
        ("inventory", {"date_from": "2026-01-01"}, "date_from"),
        ("buyer_behaviour", {"group_by": "session"}, "group_by"),
    ],
)
def test_bad_parameters_name_the_field(key, raw, field):
    with pytest.raises(ValidationFailed) as caught:
        clean_params(report_type(key), raw)
    assert field in caught.value.fields


def test_who_may_run_which(stock_world):
    from backoffice.reports import available_for

    shop = stock_world["shop"]
    support = actor_of(make_member(shop, "support"))  # catalog.view and orders.view, but not analytics.view
    assert not {"inventory", "orders_funnel", "returns", "buyer_behaviour"} & {r.key for r in available_for(support)}
    viewer = actor_of(make_member(shop, "viewer"))
    assert {"inventory", "orders_funnel", "returns", "buyer_behaviour"} <= {r.key for r in available_for(viewer)}


def test_queries_do_not_grow_with_the_rows(stock_world):
    """Each report costs the same number of queries on a bigger world (more SKUs, orders, returns, events)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = stock_world
    shop, owner = w["shop"], w["owner"]
    scoped = actor_of(make_member(shop, "finance", scopes={"category": [w["cat_a"].pk]}))
    runs = [("inventory", {"group_by": "sku_warehouse"}), ("inventory", {}), ("orders_funnel", {}), ("returns", {}),
            ("buyer_behaviour", {"group_by": "sku"})]  # fmt: skip

    def costs() -> list[int]:
        out = []
        for actor in (owner, scoped):
            for key, raw in runs:
                report = report_type(key)
                with shop_timezone(shop):
                    params = clean_params(report, raw)
                    with CaptureQueriesContext(connection) as ctx:
                        rows = list(render(actor, report, params).rows)
                assert key == "returns" or rows, key
                out.append(len(ctx.captured_queries))
        return out

    def grow(n: int) -> None:
        events = []
        for i in range(n):
            sku = sku_of(owner, f"More {n}-{i}", f"M{n}-{i}", "30.00", w["cat_a"], cost="12.00")
            receive(owner, sku, w["north" if i % 2 else "south"], 5)
            order = order_in(shop, "delivered", sku=sku, quantity=2, unit_price="30.00")
            ret = orders.return_request(actor=owner, order=order, lines=[{"line": order.lines.get().pk,
                                        "quantity": 1}], reason=f"Reason {i % 3}")  # fmt: skip
            ret = orders.return_approve(actor=owner, ret=ret)
            orders.return_receive(actor=owner, ret=ret, warehouse=w["north"])
            events += [{"sku": sku.code, "kind": kind, "at": timezone.now().isoformat()} for kind in ("view", "cart")]
        storefront_events_record(actor=system_actor(shop), batch=f"grow-{n}", events=events)

    grow(1)
    small = costs()
    grow(6)
    assert costs() == small
