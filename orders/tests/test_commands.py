"""The storefront simulator (demo data) and the bulk generator (benchmark data)."""

import pytest
from django.core.management import call_command

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
    from orders.tests.factories import platform_user
    from tests.fixtures import api_client_for

    call_command("generate_orders", shops=2, orders=120, prefix="Gen")
    from accounts.models import Shop

    shops = list(Shop.objects.filter(name__startswith="Gen ").order_by("id"))
    assert len(shops) == 2
    for shop in shops:
        orders = Order.objects.for_shop(shop)
        assert orders.count() == 120
        assert not orders.filter(lines__isnull=True).exists()
        line = OrderLine.objects.for_shop(shop).first()
        assert line.allocations.count() == 1 and line.allocations.get().quantity == line.quantity
        assert len(set(orders.values_list("state", flat=True))) >= 4
    # Generated orders read like any other through the API, and new intakes still get fresh ids.
    owner = api_client_for(shops[0].owner, reauth=False)
    page = owner.get(f"/api/v1/shops/{shops[0].pk}/orders/", {"page_size": 5}).json()
    assert len(page["results"]) == 5 and page["results"][0]["lines"]
    from orders.tests.factories import intake, make_sku

    sku, _wh = make_sku(shops[0], stock=2)
    assert intake(shops[0], sku).pk > max(
        Order.objects.for_shop(shops[0]).exclude(external_id__startswith="MP-").values_list("id", flat=True)
    )
    assert platform_user()
