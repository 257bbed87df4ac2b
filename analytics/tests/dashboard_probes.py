"""Probe rows for the dashboard's sales figures (analytics/api/dashboard.py; the page itself is accounts'
dashboard, probed there); see analytics/tests/probes.py. The world gets one order, so the rollups have a row."""

from __future__ import annotations

from analytics.models import OrderDay, SalesDay
from tests.shop_routes import Probe

API = "api:analytics_api:"


def extend_world(world) -> None:
    """One order through the real intake: the rollups the dashboard reads are not empty."""
    from orders.tests.factories import intake, make_sku

    sku, _warehouse = make_sku(world.shop, stock=5, price="120.00")
    world.objects["dashboard_order"] = intake(world.shop, sku, quantity=2, unit_price="120.00")


def snapshot(shop) -> dict:
    """The dashboard writes nothing; the rollups of another shop stay as they were."""
    return {
        "dashboard_order_days": list(OrderDay.objects.for_shop(shop).order_by("id").values_list("id", "orders")),
        "dashboard_sales_days": SalesDay.objects.for_shop(shop).count(),
    }


PROBES: list[Probe] = [
    Probe(API + "dashboard", "get", "analytics.view", 200),
]
