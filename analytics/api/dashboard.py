"""``GET /api/v1/shops/{shop}/dashboard/``: the dashboard's sales figures (``analytics.dashboard``), only those the
caller may see: none without ``orders.view``; no orders nor average order value for a member limited to some
categories or warehouses (an order may hold products outside their scope). Money as strings (exact decimals),
changes in percent against the period just before (null: nothing to compare with)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from analytics.dashboard import dashboard_data
from analytics.models import OrderDay
from backoffice.api.views import ShopViewSet

FIGURES = ("revenue", "orders", "units", "average_order_value")


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, int) else str(value)


def dashboard_payload(actor) -> dict[str, Any]:
    data = dashboard_data(actor)
    if data is None:
        return {}
    periods = data["periods"]
    # Orders (and so the average order value) are not known to a member limited by scope: left out, not zero.
    shown = FIGURES if periods[0].orders is not None else ("revenue", "units")
    out: dict[str, Any] = {"currency": data["currency"]}
    for name in shown:
        out[name] = {
            p.key: {"value": _json(getattr(p, name)), "previous": _json(p.previous[name]),
                    "change": _json(p.change[name])}
            for p in periods
        }  # fmt: skip
    out["series"] = [{"day": day.isoformat(), **{name: _json(f[name]) for name in shown if name in f}}
                     for day, f in data["series"]]  # fmt: skip
    return out


class DashboardView(ShopViewSet):
    """Revenue, orders, units and average order value for ``today``, ``7d`` and ``30d`` (each with the period
    before and the change), and the last 30 days day by day. Two queries whatever the number of orders."""

    model = OrderDay
    action_permissions = {"retrieve": "analytics.view"}

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, shop: int):
        return Response(dashboard_payload(self.actor))
