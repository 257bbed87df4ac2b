"""The ``sales`` and ``top_products`` reports: their figures equal independent SQL over the same orders (by day
across the night Berlin leaves summer time, refunds and discounts included), a member limited to some categories
gets only those, a viewer gets no cost columns, bad parameters are 400s naming the field."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from analytics.tests.conftest import DST_CHANGE, cancel, deliver, place, refund, return_units
from backoffice.errors import ValidationFailed
from backoffice.reports import clean_params, render, report_type
from tests.fixtures import make_member

pytestmark = pytest.mark.django_db
D = Decimal
PERIOD = {"date_from": "2026-10-23", "date_to": "2026-10-28"}


def run(actor, key: str, **raw) -> tuple[list[str], list[dict]]:
    report = report_type(key)
    result = render(actor, report, clean_params(report, raw))
    keys = [c.key for c in result.columns]
    return keys, [dict(zip(keys, row, strict=True)) for row in result.rows]


@pytest.fixture
def sold(sales_world):
    """Orders on both sides of the change of time, one cancelled, one partly returned and refunded, one refunded
    by goodwill three days later, one by express."""
    w = sales_world
    a1, a2, b1 = w.skus
    first = place(w, [(a1, 2), (b1, 1)], DST_CHANGE - timedelta(hours=1, minutes=30))  # the 25th in Berlin
    place(w, [(a2, 3)], DST_CHANGE - timedelta(hours=2, minutes=30))  # 22:30 UTC on the 24th: the 25th (CEST)
    place(w, [(b1, 1)], DST_CHANGE - timedelta(hours=3, minutes=30))  # 21:30 UTC on the 24th: the 24th in Berlin
    late = place(w, [(a1, 1), (a2, 1)], DST_CHANGE + timedelta(hours=22, minutes=30), method="express")  # the 26th
    gone = place(w, [(b1, 4)], DST_CHANGE + timedelta(hours=5))
    cancel(w, gone, DST_CHANGE + timedelta(hours=6))
    deliver(w, first, DST_CHANGE + timedelta(days=1))
    return_units(w, first, 1, DST_CHANGE + timedelta(days=2))  # one Apple back and refunded (90.00)
    refund(w, late, "12.34", DST_CHANGE + timedelta(days=3))
    return w


def sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def sql_by_day(shop, categories: list[int] | None = None) -> dict[str, dict]:
    """The same figures straight from the orders tables, days in the shop's zone (PostgreSQL AT TIME ZONE)."""
    zone, cat = shop.timezone, ""
    params: list = [zone, shop.pk]
    if categories:
        cat = "AND p.category_id = ANY(%s)"
        params.append(categories)
    lines = sql(f"""
        SELECT to_char((o.created_at AT TIME ZONE %s)::date, 'YYYY-MM-DD'), sum(l.quantity),
               sum(l.unit_price * l.quantity - l.discount), sum(l.discount), sum(l.returned_quantity),
               count(DISTINCT o.id)
        FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
        JOIN catalog_sku s ON s.id = l.sku_id JOIN catalog_product p ON p.id = s.product_id
        WHERE o.shop_id = %s AND o.state <> 'cancelled' {cat} GROUP BY 1""", params)  # fmt: skip
    refunds = sql("""
        SELECT to_char((r.created_at AT TIME ZONE %s)::date, 'YYYY-MM-DD'), sum(r.amount)
        FROM orders_refund r JOIN orders_order o ON o.id = r.order_id
        WHERE o.shop_id = %s AND o.state <> 'cancelled' GROUP BY 1""", [zone, shop.pk])  # fmt: skip
    out: dict[str, dict] = {}
    for day, units, revenue, discounts, returned, orders in lines:
        out[day] = {"units": units, "revenue": revenue, "discounts": discounts, "units_returned": returned,
                    "orders": orders, "refunds": D("0.00")}  # fmt: skip
    for day, amount in refunds:
        out.setdefault(day, {"units": 0, "revenue": D("0.00"), "discounts": D("0.00"), "units_returned": 0,
                             "orders": 0})["refunds"] = amount  # fmt: skip
    return out


def test_sales_by_day_equals_sql_across_the_dst_change(sold):
    w = sold
    keys, rows = run(w.owner, "sales", group_by="day", **PERIOD)
    expected = sql_by_day(w.shop)
    assert [r["group"] for r in rows] == [f"2026-10-{d}" for d in range(23, 29)]  # empty days listed too
    for row in rows:
        want = expected.get(row["group"], {"units": 0, "revenue": 0, "discounts": 0, "units_returned": 0,
                                           "orders": 0, "refunds": 0})  # fmt: skip
        got = {name: row[name] for name in ("units", "revenue", "discounts", "units_returned", "orders", "refunds")}
        assert got == want, row["group"]
        assert row["net_revenue"] == row["revenue"] - row["refunds"]
    by_day = {r["group"]: r for r in rows}
    # The hand check of what SQL says: the 25th has the two orders placed before midnight UTC but after
    # midnight in Berlin (summer time), the 24th the one at 21:30 UTC.
    assert (by_day["2026-10-24"]["orders"], by_day["2026-10-25"]["orders"], by_day["2026-10-26"]["orders"]) == (1, 2, 1)
    assert by_day["2026-10-25"]["discounts"] > 0  # the 10% promotion
    assert by_day["2026-10-27"]["refunds"] == D("90.00") and by_day["2026-10-28"]["refunds"] == D("12.34")
    assert by_day["2026-10-25"]["average_order_value"] == (by_day["2026-10-25"]["revenue"] / 2).quantize(D("0.01"))
    assert "cost" in keys and "margin" in keys
    # Apple 2 × 40.00 + Banana 25.50; Apricot has no cost price.
    assert by_day["2026-10-25"]["cost"] == D("105.50")


def test_sales_by_week_month_and_method(sold):
    w = sold
    _keys, days = run(w.owner, "sales", group_by="day", **PERIOD)
    _keys, weeks = run(w.owner, "sales", group_by="week", **PERIOD)
    _keys, months = run(w.owner, "sales", group_by="month", **PERIOD)
    assert [r["group"] for r in weeks] == ["2026-10-19", "2026-10-26"]  # Mondays
    assert sum(r["revenue"] for r in weeks) == sum(r["revenue"] for r in days) == months[0]["revenue"]
    assert sum(r["orders"] for r in weeks) == 4
    _keys, methods = run(w.owner, "sales", group_by="delivery_method", **PERIOD)
    assert {r["group"]: r["orders"] for r in methods} == {"Standard": 3, "Express": 1}


def test_category_limited_member_gets_only_their_categories(sold):
    w = sold
    alpha = w.actor(make_member(w.shop, "operator", scopes={"category": [w.cat_a.pk]}))
    keys, products = run(alpha, "sales", group_by="product", **PERIOD)
    assert {r["group"] for r in products} == {"Apple", "Apricot"}
    keys, days = run(alpha, "sales", group_by="day", **PERIOD)
    expected = sql_by_day(w.shop, categories=[w.cat_a.pk])
    for row in days:
        if row["group"] in expected:
            assert (row["units"], row["revenue"]) == (
                expected[row["group"]]["units"],
                expected[row["group"]]["revenue"],
            )
        assert row["orders"] is None  # an order may hold another category's products: not counted for them
    assert sum(r["units"] for r in days) == 7  # Apple 2 + 1, Apricot 3 + 1; no Banana
    assert "cost" not in keys  # the operator role has no catalog.view_cost
    # Naming another category in the parameters gives nothing rather than widening the scope.
    _keys, other = run(alpha, "top_products", category=[w.cat_b.pk], **PERIOD)
    assert other == []


def test_viewer_gets_no_cost_columns_and_top_products(sold):
    w = sold
    viewer = w.actor(make_member(w.shop, "viewer"))
    keys, rows = run(viewer, "top_products", by="units", **PERIOD)
    assert "cost" not in keys and "margin" not in keys
    assert [r["product"] for r in rows] == ["Apricot", "Apple", "Banana"]  # 4, 3, 2 units
    apple = next(r for r in rows if r["product"] == "Apple")
    assert (apple["units_returned"], apple["returns_rate"]) == (1, D("33.33"))
    keys, rows = run(w.owner, "top_products", limit=1, **PERIOD)
    assert len(rows) == 1 and rows[0]["product"] == "Apple" and rows[0]["margin"] == rows[0]["revenue"] - D("120.00")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"date_from": "2016-01-01", "date_to": "2026-01-01"}, "date_to"),  # ten years
        ({"group_by": "hour"}, "group_by"),
        ({"date_from": "2026-10-10", "date_to": "2026-10-01"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"category": ["x"]}, "category"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_params_name_the_field(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        clean_params(report_type("sales"), raw)
    assert field in caught.value.fields


def test_top_products_limit_is_checked():
    with pytest.raises(ValidationFailed) as caught:
        clean_params(report_type("top_products"), {"limit": 0})
    assert "limit" in caught.value.fields


def test_defaults_are_the_last_30_days(sales_world):
    cleaned = clean_params(report_type("sales"), {})
    assert cleaned["date_to"] - cleaned["date_from"] == timedelta(days=29)
    assert cleaned["group_by"] == "day"
    assert isinstance(cleaned["date_from"], date)
