"""Reads of the analytics app: sales figures from the daily rollups (``analytics.models.rollups``), never from raw
orders, with the actor's scopes applied by ``restrict``.

Which rollup answers: the order rows (``OrderDay``) for a member limited by no scope and no category filter: they
alone know how many orders there were (an order of three SKUs is one order), hence the average order value. A
member limited to some categories or warehouses, or a category filter, reads the SKU rows (``SalesDay``) of what
they may see: units, revenue, discounts, refunds and returns are exact for their products, but the orders and the
average order value are not known (None: an order may hold products of categories they do not see).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet, Sum

from analytics.models import OrderDay, SalesDay
from backoffice.authz import Actor, can, restrict

__all__ = ["DashboardPeriod", "dashboard_periods", "order_days", "sales_by", "sales_days"]

ACTION = "orders.view"  # sales figures are the orders' figures: a member who may not see orders sees none
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
FIGURES = ("orders", "units", "revenue", "discounts", "refunds", "units_returned", "cost")
# group key → the SalesDay lookups that name it (the first is the key)
SALES_KEYS: dict[str, tuple[str, ...]] = {
    "day": ("day",),
    "delivery_method": ("delivery_method",),
    "product": ("sku__product_id", "sku__product__title", "sku__product__category__name"),
    "category": ("sku__product__category_id", "sku__product__category__name"),
    "sku": ("sku_id", "sku__code", "sku__product__title"),
}


def sales_days(*, actor: Actor, date_from: date, date_to: date,
               categories: Iterable[int] | None = None) -> QuerySet[SalesDay]:  # fmt: skip
    """The SKU day rows of the period (both days included) the actor may see: their categories and warehouses."""
    qs = restrict(SalesDay.objects.for_shop(actor.shop), actor, ACTION).filter(day__gte=date_from, day__lte=date_to)
    if categories:
        qs = qs.filter(sku__product__category_id__in=list(categories))
    return qs


def order_days(*, actor: Actor, date_from: date, date_to: date) -> QuerySet[OrderDay] | None:
    """The order day rows of the period, for a member limited by no scope; None for the others (the rows cover
    the whole shop, so no scope can narrow them)."""
    if actor.scopes:
        return None
    return restrict(OrderDay.objects.for_shop(actor.shop), actor, ACTION).filter(day__gte=date_from, day__lte=date_to)


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(CENT)


def _cost_expression():
    # Units × the SKU's cost price now (SKUs without one add nothing: the product is NULL and Sum skips it).
    return Sum(
        ExpressionWrapper(F("units") * F("sku__cost"), output_field=DecimalField(max_digits=20, decimal_places=2))
    )


def sales_by(*, actor: Actor, date_from: date, date_to: date, key: str | None,
             categories: Iterable[int] | None = None) -> dict[Any, dict[str, Any]]:  # fmt: skip
    """Sales figures of the period summed per ``key`` (``day``, ``delivery_method``, ``product``, ``category``,
    ``sku``; None: one total under the key None): ``orders`` (None when not known, see the module's note),
    ``units``, ``revenue``, ``discounts``, ``refunds``, ``units_returned``, ``cost`` (None when no SKU of the group
    has a cost price) and the group's ``names`` (its lookups' values). Two queries at most."""
    categories = list(categories or [])
    lookups = SALES_KEYS[key] if key else ()
    out: dict[Any, dict[str, Any]] = {}
    sales = sales_days(actor=actor, date_from=date_from, date_to=date_to, categories=categories).order_by()
    sums = sales.values(*lookups).annotate(
        s_units=Sum("units"), s_revenue=Sum("revenue"), s_discounts=Sum("discounts"), s_refunds=Sum("refunds"),
        s_returned=Sum("units_returned"), s_cost=_cost_expression(),
    )  # fmt: skip
    for row in sums:
        group = row[lookups[0]] if lookups else None
        if key == "day" and not isinstance(group, date):
            group = date.fromisoformat(str(group))
        out[group] = {
            "names": [row[name] for name in lookups], "orders": None, "units": row["s_units"] or 0,
            "revenue": _money(row["s_revenue"]), "discounts": _money(row["s_discounts"]),
            "refunds": _money(row["s_refunds"]), "units_returned": row["s_returned"] or 0,
            "cost": None if row["s_cost"] is None else _money(row["s_cost"]),
        }  # fmt: skip
    if categories or key not in (None, "day", "delivery_method"):
        return out
    days = order_days(actor=actor, date_from=date_from, date_to=date_to)
    if days is None:
        return out
    by_order = days.order_by().values(*lookups).annotate(
        o_orders=Sum("orders"), o_units=Sum("units"), o_revenue=Sum("revenue"), o_discounts=Sum("discounts"),
        o_refunds=Sum("refunds"),
    )  # fmt: skip
    for row in by_order:
        group = row[lookups[0]] if lookups else None
        figures = out.setdefault(group, {"names": [row[n] for n in lookups], "units_returned": 0, "cost": None})
        # The order rows are the shop's whole figures: they win over the SKU rows (equal but for lines with no
        # allocation, which have no SKU row).
        figures.update(orders=row["o_orders"] or 0, units=row["o_units"] or 0, revenue=_money(row["o_revenue"]),
                       discounts=_money(row["o_discounts"]), refunds=_money(row["o_refunds"]))  # fmt: skip
    return out


def average(revenue: Decimal, orders: int | None) -> Decimal | None:
    """The average order value, None when the orders are not known or none."""
    if not orders:
        return None
    return (revenue / orders).quantize(CENT)


# ------------------------------------------------------------------------------------------------ dashboard


@dataclass(frozen=True)
class DashboardPeriod:
    key: str  # today | 7d | 30d
    days: int
    revenue: Decimal
    orders: int | None
    units: int
    average_order_value: Decimal | None
    previous: dict[str, Any]  # the same figures for the period just before
    change: dict[str, Decimal | None]  # percent change against ``previous`` (None: nothing to compare with)


def _change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    if now is None or not before:
        return None
    change = ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"))
    return change.copy_abs() if change.is_zero() else change  # never "-0.0"


def dashboard_periods(*, actor: Actor, today: date) -> tuple[list[DashboardPeriod], list[tuple[date, dict]]] | None:
    """Today, the last 7 and the last 30 days (today included) with the change against the period before each,
    and the last 30 days day by day (for the chart); None for a member who may not see sales
    (``analytics.view`` and ``orders.view``). Two queries at most (``sales_by`` over the last 60 days by day),
    whatever the number of orders."""
    if not (can(actor, "analytics.view") and can(actor, ACTION)):
        return None
    start = today - timedelta(days=59)
    days = sales_by(actor=actor, date_from=start, date_to=today, key="day")
    known = not actor.scopes  # orders are known for a member limited by no scope (see the module's note)

    def total(first: date, last: date) -> dict[str, Any]:
        rows = [f for d, f in days.items() if first <= d <= last]
        revenue = sum((f["revenue"] for f in rows), ZERO)
        orders = sum((f["orders"] or 0) for f in rows) if known else None
        return {"revenue": revenue, "orders": orders, "units": sum(f["units"] for f in rows),
                "average_order_value": average(revenue, orders)}  # fmt: skip

    periods = []
    for key, length in (("today", 1), ("7d", 7), ("30d", 30)):
        first = today - timedelta(days=length - 1)
        now = total(first, today)
        before = total(first - timedelta(days=length), first - timedelta(days=1))
        periods.append(DashboardPeriod(
            key=key, days=length, revenue=now["revenue"], orders=now["orders"], units=now["units"],
            average_order_value=now["average_order_value"], previous=before,
            change={name: _change(now[name], before[name]) for name in now},
        ))  # fmt: skip
    series = []
    for n in range(29, -1, -1):
        day = today - timedelta(days=n)
        figures = days.get(day) or {}
        series.append((day, {"revenue": figures.get("revenue", ZERO), "orders": (figures.get("orders") or 0) if known else None,
                             "units": figures.get("units", 0)}))  # fmt: skip
    return periods, series
