"""``inventory``: the stock as it is now, with how fast it sells.

Per SKU and warehouse (or summed per warehouse, or per SKU): units on hand, reserved and available; the stock
value at cost (on hand × the SKU's cost price; SKUs without one add nothing) and the cost price, both only for
members who may see cost prices; units sold in the last 30 days of the shop (the daily sales rollups: orders
placed then, not cancelled, from that warehouse); turnover over those 30 days (units sold ÷ the average of the units on hand
now and 30 days ago, the latter from the daily stock rollup ``StockDay``: the net change since); days of cover
(available ÷ the last 30 days' units per day); the last sale within a year; and two counts of (SKU, warehouse) rows: slow movers (units on hand,
no sale in the last ``slow_days`` days) and stock-outs (nothing available; a SKU with no stock row at all
counts once).

Scopes: the rows are the catalog's stock levels as the actor may see them (``catalog.selectors.stock_levels``:
their warehouses and categories through ``restrict``), and the sales and stock rollups are read through
``restrict`` too (scoped like the stock rows). Three queries whatever the size of the shop, none over raw orders
or movements; the stock rows (the catalog's size, not the orders') are summed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import SalesDay, StockDay
from backoffice.authz import Actor, restrict
from backoffice.parsing import BIGINT_MAX
from backoffice.reports import Chart, Column, Param, ReportType
from backoffice.tenancy.zones import shop_zone
from catalog import selectors as catalog_selectors

SALES_DAYS = 30
LAST_SALE_DAYS = 365
GROUPINGS = (("warehouse", _("Warehouse")), ("sku", _("SKU")), ("sku_warehouse", _("SKU and warehouse")))
SHOW = (("all", _("All")), ("slow", _("Slow movers")), ("out", _("Out of stock")))
TWO = Decimal("0.01")
ONE = Decimal("0.1")
LEVEL_FIELDS = ("pk", "code", "cost", "product__title", "product__category__name", "wh_id", "wh_name", "on_hand",
                "reserved", "available")  # fmt: skip


def _ratio(numerator, denominator, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


def _sales(actor: Actor, today: date, slow_days: int):
    """Units sold per (SKU, warehouse) from the daily sales rollups (``SalesDay``: orders not cancelled, on the
    shop's day they were placed) of the last year, as the actor may see them (``restrict``: their categories and
    warehouses): ``units_30d``, ``units_slow`` (the last ``slow_days`` days) and ``last_day`` sold. One query."""
    rows = restrict(SalesDay.objects.for_shop(actor.shop), actor, "catalog.view").filter(
        day__gt=today - timedelta(days=LAST_SALE_DAYS), units__gt=0
    )
    return (
        rows.order_by().values("sku_id", "warehouse_id")
        .annotate(units_30d=Sum("units", filter=Q(day__gt=today - timedelta(days=SALES_DAYS))),
                  units_slow=Sum("units", filter=Q(day__gt=today - timedelta(days=slow_days))), last_day=Max("day"))
    )  # fmt: skip


def _base_rows(actor: Actor, params: Mapping[str, Any]) -> Iterator[dict]:
    """One dict per (SKU, warehouse) stock level the actor may see, with its sales and movements."""
    shop = actor.shop
    zone = shop_zone(shop)
    today = timezone.localdate(timezone.now(), zone)
    filters = {"warehouse": params["warehouse"]} if params.get("warehouse") else {}
    levels = catalog_selectors.stock_levels(shop=shop, actor=actor, filters=filters)
    if params.get("category"):
        levels = levels.filter(product__category_id__in=params["category"])
    sold = {(r["sku_id"], r["warehouse_id"]): r for r in _sales(actor, today, params["slow_days"])}
    # The on-hand change since the start of the 30 days: the daily stock rollup's net (the movements' local days
    # from the first of the 30 on), the same sum as over the raw movements, from a row per day instead.
    moved = restrict(StockDay.objects.for_shop(shop), actor, "catalog.view").filter(
        day__gt=today - timedelta(days=SALES_DAYS)
    )
    moved = {
        (s, w): d or 0 for s, w, d in moved.order_by().values_list("sku_id", "warehouse_id").annotate(d=Sum("net"))
    }
    show = params["show"]
    for level in levels.order_by("code", "wh_name", "wh_id").values(*LEVEL_FIELDS):
        key = (level["pk"], level["wh_id"])
        sale = sold.get(key) or {}
        on_hand = level["on_hand"]
        row = {
            "sku_id": level["pk"], "sku": level["code"], "product": level["product__title"],
            "category": level["product__category__name"] or "", "wh_id": level["wh_id"],
            "warehouse": level["wh_name"] or "", "on_hand": on_hand, "reserved": level["reserved"],
            "available": level["available"], "cost": level["cost"],
            "value": None if level["cost"] is None else level["cost"] * on_hand,
            "sold_30d": sale.get("units_30d") or 0, "on_hand_then": on_hand - moved.get(key, 0),
            "last_sale": sale.get("last_day"),
            "slow": int(on_hand > 0 and not sale.get("units_slow")), "out": int(level["available"] <= 0),
        }  # fmt: skip
        if (show == "slow" and not row["slow"]) or (show == "out" and not row["out"]):
            continue
        yield row


def _add(total: dict, row: dict) -> None:
    for key in ("on_hand", "reserved", "available", "sold_30d", "on_hand_then", "slow", "out"):
        total[key] += row[key]
    if row["value"] is not None:
        total["value"] = (total["value"] or Decimal("0.00")) + row["value"]
    if row["last_sale"] is not None and (total["last_sale"] is None or row["last_sale"] > total["last_sale"]):
        total["last_sale"] = row["last_sale"]


def build(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    group_by = params["group_by"]
    rows = _base_rows(actor, params)
    if group_by != "sku_warehouse":
        groups: dict[Any, dict] = {}
        for row in rows:
            if group_by == "warehouse" and row["wh_id"] is None:
                continue  # a SKU with no stock anywhere has no warehouse to count under
            key = row["sku_id"] if group_by == "sku" else row["wh_id"]
            if key not in groups:
                keep = ("sku", "product", "category", "cost") if group_by == "sku" else ("warehouse",)
                groups[key] = {
                    "sku": "", "product": "", "category": "", "warehouse": "", "cost": None, "value": None,
                    "last_sale": None, **{k: row[k] for k in keep},
                    **dict.fromkeys(("on_hand", "reserved", "available", "sold_30d", "on_hand_then", "slow", "out"), 0),
                }  # fmt: skip
            _add(groups[key], row)
        rows = groups.values()
        if group_by == "warehouse":
            rows = sorted(rows, key=lambda r: r["warehouse"])
    progress(80)
    for r in rows:
        average = Decimal(r["on_hand"] + r["on_hand_then"]) / 2
        cover = _ratio(r["available"] * SALES_DAYS, r["sold_30d"], ONE) if r["sold_30d"] else None
        yield [r["sku"], r["product"], r["category"], r["warehouse"], r["on_hand"], r["reserved"], r["available"],
               r["cost"], r["value"], r["sold_30d"], _ratio(r["sold_30d"], average, TWO), cover, r["last_sale"],
               r["slow"], r["out"]]  # fmt: skip


INVENTORY = ReportType(
    key="inventory",
    label=_("Inventory"),
    description=_(
        "Stock on hand and its value at cost, units sold in the last 30 days, turnover, days of cover, slow "
        "movers and stock-outs, per warehouse, per SKU or per SKU and warehouse."
    ),
    columns=(
        Column("sku", _("SKU"), "text"),
        Column("product", _("Product"), "text"),
        Column("category", _("Category"), "text"),
        Column("warehouse", _("Warehouse"), "text"),
        Column("on_hand", _("On hand"), "int"),
        Column("reserved", _("Reserved"), "int"),
        Column("available", _("Available"), "int"),
        Column("unit_cost", _("Cost price"), "money", requires="catalog.view_cost"),
        Column("stock_value", _("Stock value at cost"), "money", requires="catalog.view_cost"),
        Column("sold_30d", _("Units sold, 30 days"), "int"),
        Column("turnover_30d", _("Turnover, 30 days"), "decimal"),
        Column("days_of_cover", _("Days of cover"), "decimal"),
        Column("last_sale", _("Last sale"), "date"),
        Column("slow_movers", _("Slow movers"), "int"),
        Column("stock_outs", _("Stock-outs"), "int"),
    ),
    build=build,
    params=(
        Param("group_by", _("Group by"), "choice", default="warehouse", choices=GROUPINGS),
        Param("show", _("Show"), "choice", default="all", choices=SHOW),
        Param(
            "slow_days", _("Days without a sale for a slow mover"), "int", default=30, minimum=1, maximum=LAST_SALE_DAYS
        ),
        Param("warehouse", _("Warehouse"), "int", minimum=1, maximum=BIGINT_MAX),
        Param("category", _("Categories"), "ids"),
    ),
    actions=("catalog.view",),
    chart=Chart(x="warehouse", series=("on_hand", "available"), kind="bar"),
    max_period_days=None,
)

REPORT_TYPES = [INVENTORY]
