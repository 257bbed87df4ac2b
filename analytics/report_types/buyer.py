"""``buyer_behaviour``: the storefront's views → carts → orders funnel per product (or SKU) over a period, from the
daily counters the integration API fills (``analytics.models.storefront``). One query: the period's day rows of
the SKUs the actor may see (``restrict``: a member limited to some categories gets only their products),
summed per product or SKU."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from analytics.models import StorefrontDay
from analytics.report_types.orders_flow import percent, period_params
from backoffice.authz import Actor, restrict
from backoffice.reports import Chart, Column, Param, ReportType

GROUPINGS = (("product", _("Product")), ("sku", _("SKU")))


def storefront_days(*, actor: Actor, date_from, date_to):
    """The day counters of the period (both days included) the actor may see with ``catalog.view``."""
    qs = restrict(StorefrontDay.objects.for_shop(actor.shop), actor, "catalog.view")
    return qs.filter(day__gte=date_from, day__lte=date_to)


def build(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    days = storefront_days(actor=actor, date_from=params["date_from"], date_to=params["date_to"]).order_by()
    by_sku = params["group_by"] == "sku"
    keys = {"product_id": F("sku__product_id"), **({"sku_code": F("sku__code")} if by_sku else {})}
    rows = (
        days.values(**keys)
        .annotate(title=F("sku__product__title"), category=F("sku__product__category__name"),
                  views=Sum("views"), carts=Sum("carts"), orders=Sum("orders"))
        .order_by("-views", "-orders", "title", *(["sku_code"] if by_sku else []))
    )  # fmt: skip
    for r in rows:
        yield [r["title"], r["category"] or "", r.get("sku_code", ""), r["views"], r["carts"], r["orders"],
               percent(r["carts"], r["views"]), percent(r["orders"], r["carts"]),
               percent(r["orders"], r["views"])]  # fmt: skip


BUYER_BEHAVIOUR = ReportType(
    key="buyer_behaviour",
    label=_("Buyer behaviour"),
    description=_(
        "The storefront's funnel per product: how many times it was viewed, put in a cart and ordered, and the "
        "conversion between the steps."
    ),
    columns=(
        Column("product", _("Product"), "text"),
        Column("category", _("Category"), "text"),
        Column("sku", _("SKU"), "text"),
        Column("views", _("Views"), "int"),
        Column("carts", _("Added to cart"), "int"),
        Column("orders", _("Orders"), "int"),
        Column("view_to_cart", _("View to cart"), "percent"),
        Column("cart_to_order", _("Cart to order"), "percent"),
        Column("view_to_order", _("View to order"), "percent"),
    ),
    build=build,
    params=(*period_params(), Param("group_by", _("Group by"), "choice", default="product", choices=GROUPINGS)),
    actions=("catalog.view",),
    chart=Chart(x="product", series=("views", "carts", "orders"), kind="bar"),
)

REPORT_TYPES = [BUYER_BEHAVIOUR]
