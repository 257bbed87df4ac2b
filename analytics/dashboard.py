"""The analytics panel of the shop dashboard (see ``backoffice.dashboard``): revenue, orders, units and average
order value for today, the last 7 and the last 30 days, each against the period just before, and the last 30
days as a chart. Read from the daily rollups in two queries whatever the number of orders; shown only to members
who may see sales (``analytics.view`` and ``orders.view``), with the figures of their scope."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from analytics import selectors
from backoffice.charts import chart
from backoffice.dashboard import Panel
from backoffice.tenancy.zones import local_today, shop_zone

__all__ = ["dashboard_data", "panels"]


def dashboard_data(actor) -> dict[str, Any] | None:
    """The dashboard figures as the actor may see them (None: they may see none), for the page and the API."""
    shop = actor.shop
    found = selectors.dashboard_periods(actor=actor, today=local_today(shop_zone(shop)))
    if found is None:
        return None
    periods, series = found
    return {"currency": shop.currency, "periods": periods, "series": series}


def panels(actor) -> list[Panel]:
    data = dashboard_data(actor)
    if data is None:
        return []
    labels = {"today": _("Today"), "7d": _("Last 7 days"), "30d": _("Last 30 days")}
    rows = [{"label": labels[p.key], "period": p} for p in data["periods"]]
    days = [day.isoformat() for day, _figures in data["series"]]
    series = [{"label": _("Revenue"), "values": [f["revenue"] for _day, f in data["series"]]}]
    if data["periods"][0].orders is not None:
        series.append({"label": _("Orders"), "values": [f["orders"] for _day, f in data["series"]], "axis": "y1"})
    sales_chart = chart(id="dashboard-sales-chart", title=_("Sales, last 30 days"), labels=days, series=series,
                        kind="bar", label_heading=_("Day"))  # fmt: skip
    return [Panel("analytics/_dashboard_sales.html", {"rows": rows, "currency": data["currency"],
                                                        "chart": sales_chart})]  # fmt: skip
