"""``sales`` and ``top_products``: read from the daily rollups (``analytics.selectors``), never from raw orders, so
a year by day is two queries over a few thousand rows whatever the number of orders.

- Days, weeks (from Monday) and months are the shop's calendar (the rollups are kept per local day of the
  shop's zone, so a DST change moves nothing). Every bucket of the period is listed, empty ones too.
- Revenue is what buyers paid (list price × units − discounts); refunds are counted on the day they were given,
  returned units on the day of the sale; net revenue = revenue − refunds.
- Orders and the average order value are known for time and delivery-method groupings of a member limited by
  no scope and no category filter; otherwise they are blank (see ``analytics.selectors``).
- Cost = units × the SKU's cost price now, margin = revenue − cost; both only for members with
  ``catalog.view_cost`` (the registry drops the columns for the others).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from analytics import selectors
from analytics.report_types.orders_flow import bucket_of, buckets, percent, period_params
from backoffice.authz import Actor
from backoffice.reports import Chart, Column, Param, ReportType
from orders import selectors as orders_selectors

ZERO = Decimal("0.00")
TIME_GROUPS = ("day", "week", "month")
GROUPINGS = (
    ("day", _("Day")), ("week", _("Week")), ("month", _("Month")), ("product", _("Product")),
    ("category", _("Category")), ("delivery_method", _("Delivery method")),
)  # fmt: skip
RANKINGS = (("revenue", _("Revenue")), ("units", _("Units")))


def _category_param() -> Param:
    return Param("category", _("Categories"), "ids")


def _sum_into(target: dict[str, Any], figures: Mapping[str, Any]) -> None:
    for name in ("units", "revenue", "discounts", "refunds", "units_returned"):
        target[name] += figures[name]
    if figures["orders"] is not None:
        target["orders"] = (target["orders"] or 0) + figures["orders"]
    if figures["cost"] is not None:
        target["cost"] = (target["cost"] or ZERO) + figures["cost"]


def _empty(known_orders: bool) -> dict[str, Any]:
    return {"orders": 0 if known_orders else None, "units": 0, "revenue": ZERO, "discounts": ZERO, "refunds": ZERO,
            "units_returned": 0, "cost": None}  # fmt: skip


def _row(label: Any, f: Mapping[str, Any]) -> list:
    cost = f["cost"]
    return [
        label,
        f["orders"],
        f["units"],
        f["revenue"],
        f["discounts"],
        f["refunds"],
        f["revenue"] - f["refunds"],
        selectors.average(f["revenue"], f["orders"]),
        f["units_returned"],
        cost,
        None if cost is None else f["revenue"] - cost,
    ]


def build_sales(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    group_by = params["group_by"]
    key = "day" if group_by in TIME_GROUPS else group_by
    figures = selectors.sales_by(actor=actor, date_from=params["date_from"], date_to=params["date_to"], key=key,
                                 categories=params.get("category"))  # fmt: skip
    progress(50)
    if group_by in TIME_GROUPS:
        known = not actor.scopes and not params.get("category")
        totals = {bucket: _empty(known) for bucket in buckets(params, group_by)}
        for day, f in figures.items():
            _sum_into(totals[bucket_of(day, group_by)], f)
        for bucket, f in totals.items():
            yield _row(bucket.isoformat(), f)
        return
    if group_by == "delivery_method":
        labels = orders_selectors.delivery_method_labels()
        ordered = sorted(figures.items(), key=lambda item: -item[1]["revenue"])
        for method, f in ordered:
            yield _row(str(labels.get(method, method)), f)
        return
    # product | category: the names, most revenue first
    ordered = sorted(figures.items(), key=lambda item: (-item[1]["revenue"], str(item[1]["names"][1] or "")))
    for _group, f in ordered:
        yield _row(f["names"][1] or str(_("No category")), f)


SALES = ReportType(
    key="sales",
    label=_("Sales"),
    description=_(
        "Revenue, orders, units, average order value, discounts and refunds by day, week or month, or by "
        "product, category or delivery method."
    ),
    columns=(
        Column("group", _("Group"), "text"),
        Column("orders", _("Orders"), "int"),
        Column("units", _("Units"), "int"),
        Column("revenue", _("Revenue"), "money"),
        Column("discounts", _("Discounts"), "money"),
        Column("refunds", _("Refunds"), "money"),
        Column("net_revenue", _("Net revenue"), "money"),
        Column("average_order_value", _("Average order value"), "money"),
        Column("units_returned", _("Units returned"), "int"),
        Column("cost", _("Cost of goods"), "money", requires="catalog.view_cost"),
        Column("margin", _("Margin"), "money", requires="catalog.view_cost"),
    ),
    build=build_sales,
    params=(
        *period_params(),
        Param("group_by", _("Group by"), "choice", default="day", choices=GROUPINGS),
        _category_param(),
    ),  # fmt: skip
    actions=("orders.view",),
    chart=Chart(x="group", series=("revenue", "net_revenue"), kind="bar"),
)


def build_top_products(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    figures = selectors.sales_by(actor=actor, date_from=params["date_from"], date_to=params["date_to"],
                                 key="product", categories=params.get("category"))  # fmt: skip
    progress(50)
    rank = params["by"]
    ordered = sorted(figures.values(), key=lambda f: (-f[rank], -f["revenue"], str(f["names"][1] or "")))
    for position, f in enumerate(ordered[: params["limit"]], start=1):
        cost = f["cost"]
        yield [
            position, f["names"][1] or "", f["names"][2] or "", f["units"], f["revenue"], f["units_returned"],
            percent(f["units_returned"], f["units"]), f["refunds"], cost, None if cost is None else f["revenue"] - cost,
        ]  # fmt: skip


TOP_PRODUCTS = ReportType(
    key="top_products",
    label=_("Top products"),
    description=_("The products that sold best by revenue or by units, with how many units came back."),
    columns=(
        Column("rank", _("Rank"), "int"),
        Column("product", _("Product"), "text"),
        Column("category", _("Category"), "text"),
        Column("units", _("Units"), "int"),
        Column("revenue", _("Revenue"), "money"),
        Column("units_returned", _("Units returned"), "int"),
        Column("returns_rate", _("Returns rate"), "percent"),
        Column("refunds", _("Refunds"), "money"),
        Column("cost", _("Cost of goods"), "money", requires="catalog.view_cost"),
        Column("margin", _("Margin"), "money", requires="catalog.view_cost"),
    ),
    build=build_top_products,
    params=(
        *period_params(),
        Param("by", _("Rank by"), "choice", default="revenue", choices=RANKINGS),
        Param("limit", _("Products"), "int", default=20, minimum=1, maximum=500),
        _category_param(),
    ),  # fmt: skip
    actions=("orders.view",),
    chart=Chart(x="product", series=("revenue",), kind="bar"),
)

REPORT_TYPES = [SALES, TOP_PRODUCTS]
