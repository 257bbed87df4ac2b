"""The storefront simulator (demo data) and the bulk generator (benchmark data)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from catalog.models import Stock
from orders.models import Order, OrderEvent, OrderLine, Refund, Return
from tests.fixtures import make_shop

pytestmark = pytest.mark.django_db


def test_simulator_fills_every_state_and_is_repeatable():
    shop = make_shop()
    call_command("simulate_orders", shop=[shop.pk], orders=36)
    states = set(Order.objects.for_shop(shop).values_list("state", flat=True))
    assert states == set(Order.State.values)
    assert OrderEvent.objects.for_shop(shop).filter(kind="tracking").exists()
    assert Return.objects.for_shop(shop).exists() and Refund.objects.for_shop(shop).exists()
    assert all(s.reserved <= s.on_hand for s in Stock.objects.for_shop(shop))
    before = Order.objects.for_shop(shop).count()
    call_command("simulate_orders", shop=[shop.pk], orders=36)
    assert Order.objects.for_shop(shop).count() == before == 36


def test_generator_bulk_inserts_orders_with_lines():
    from io import StringIO

    from accounts.models import Shop
    from orders.models import OrderAllocation
    from orders.tests.factories import BUYER, make_sku, platform_user
    from tests.fixtures import api_client_for

    out = StringIO()
    call_command("generate_orders", shops=2, orders=120, prefix="Gen", stdout=out)
    shops = list(Shop.objects.filter(name__startswith="Gen ").order_by("id"))
    assert len(shops) == 2
    assert [f"{s.name} (id {s.pk}): 120 orders in" in out.getvalue() for s in shops] == [True, True]
    for shop in shops:
        orders = Order.objects.for_shop(shop)
        assert orders.count() == 120
        assert not orders.filter(lines__isnull=True).exists()
        line = OrderLine.objects.for_shop(shop).first()
        assert line.allocations.count() == 1 and line.allocations.get().quantity == line.quantity
        assert len(set(orders.values_list("state", flat=True))) >= 4
        # Each total is what its lines add up to; each ship-by is arrival + the method's handover time.
        sums = dict(OrderLine.objects.for_shop(shop).values("order_id").annotate(s=Sum(F("unit_price") * F("quantity")))
                    .values_list("order_id", "s"))  # fmt: skip
        assert sums == dict(orders.values_list("pk", "total"))
        hours = {"express": 24, "standard": 48, "pickup": 72}
        for method, created, ship_by in orders.values_list("delivery_method", "created_at", "ship_by"):
            assert ship_by - created == timedelta(hours=hours[method])
    # Generated orders read like any other through the API.
    owner = api_client_for(shops[0].owner, reauth=False)
    page = owner.get(f"/api/v1/shops/{shops[0].pk}/orders/", {"page_size": 5}).json()
    assert len(page["results"]) == 5 and page["results"][0]["lines"]
    # The generator moved the order, line and allocation sequences past what it wrote: an order from the
    # storefront afterwards gets fresh ids for all three (a collision would be a 500 here).
    sku, _wh = make_sku(shops[0], stock=2)
    platform = api_client_for(platform_user(), reauth=False)
    r = platform.post(f"/api/v1/integration/shops/{shops[0].pk}/orders/", {"external_id": "AFTER-GEN",
                      "delivery_method": "standard", "buyer": BUYER,
                      "lines": [{"sku": sku.code, "quantity": 1, "unit_price": "10.00"}]}, format="json")  # fmt: skip
    assert r.status_code == 201, r.content
    new = r.json()["id"]
    for model, owner_field in ((Order, "pk"), (OrderLine, "order_id"), (OrderAllocation, "order_id")):
        generated = model.unscoped.filter(shop__in=shops).exclude(**{owner_field: new})
        fresh = model.unscoped.filter(**{owner_field: new}).values_list("pk", flat=True)
        assert min(fresh) > max(generated.values_list("pk", flat=True)), model.__name__
    # Run again: the same two shops get more orders, no new shop.
    call_command("generate_orders", shops=2, orders=10, prefix="Gen", stdout=StringIO())
    assert list(Shop.objects.filter(name__startswith="Gen ").order_by("id")) == shops
    assert [Order.objects.for_shop(s).count() for s in shops] == [131, 130]
