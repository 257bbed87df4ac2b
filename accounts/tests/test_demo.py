"""`make run` loads the demo: two shops with a full team, a catalog and orders in every state, idempotently."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import Membership, Shop

pytestmark = pytest.mark.django_db


def test_load_demo_twice_builds_the_demo_once():
    Order = apps.get_model("orders", "Order")  # the demo's orders; accounts imports no later app
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "alice-operator" in out.getvalue() and "demo-pass-2026" in out.getvalue()
    shops = Shop.objects.filter(name__in=["Alice's Gadgets", "Boris Home & Garden"])
    assert shops.count() == 2
    for shop in shops:
        assert Membership.objects.for_shop(shop).count() == 6
        states = set(Order.objects.for_shop(shop).values_list("state", flat=True))
        assert {"awaiting_packaging", "delivering", "delivered", "cancelled"} <= states
    orders_before = Order.unscoped.count()
    call_command("load_demo", stdout=io.StringIO())
    assert Order.unscoped.count() == orders_before
