"""Races on PostgreSQL: threads, each with its own connection, through the real API and services."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from backoffice.errors import Conflict
from catalog.models import Stock
from orders import services
from orders.models import Order, OrderEvent, Refund
from orders.tests.factories import BUYER, make_sku, order_in, platform_user
from tests.fixtures import api_client_for, owner_actor

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def race(n: int, fn):
    """Run ``fn(i)`` in ``n`` threads released together; returns the results (or exceptions)."""
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what we count
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_thirty_intakes_for_five_units_create_exactly_five_orders(shop):
    sku, wh = make_sku(shop, stock=5)
    token_user = platform_user()
    clients = [api_client_for(token_user, reauth=False) for _ in range(30)]
    url = f"/api/v1/integration/shops/{shop.pk}/orders/"

    def one(i):
        body = {
            "external_id": f"RACE-{i}",
            "delivery_method": "standard",
            "buyer": BUYER,
            "lines": [{"sku": sku.code, "quantity": 1, "unit_price": "990.00"}],
        }
        r = clients[i].post(url, body, format="json")
        return r.status_code, r.json()

    results = race(30, one)
    codes = Counter(code for code, _body in results)
    assert codes == {201: 5, 409: 25}, codes
    assert all(body["error"]["code"] == "out_of_stock" for code, body in results if code == 409)
    st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert (st.on_hand, st.reserved, st.available) == (5, 5, 0)
    assert Order.objects.for_shop(shop).count() == 5


def test_same_external_id_sent_concurrently_makes_one_order(shop):
    sku, wh = make_sku(shop, stock=50)
    clients = [api_client_for(platform_user(), reauth=False) for _ in range(8)]
    url = f"/api/v1/integration/shops/{shop.pk}/orders/"
    body = {
        "external_id": "MP-TWIN",
        "delivery_method": "express",
        "buyer": BUYER,
        "lines": [{"sku": sku.code, "quantity": 2, "unit_price": "10.00"}],
    }

    results = race(8, lambda i: clients[i].post(url, body, format="json"))
    codes = Counter(r.status_code for r in results)
    assert codes[201] == 1 and codes[200] == 7, codes
    assert len({r.json()["id"] for r in results}) == 1
    assert Order.objects.for_shop(shop).count() == 1
    assert Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh).reserved == 2


def test_ship_racing_cancel_has_one_winner(shop):
    sku, wh = make_sku(shop, stock=3)
    for _round in range(3):
        order = order_in(shop, Order.State.AWAITING_DELIVER, sku=sku)
        actor = owner_actor(shop)
        calls = [
            lambda: services.order_ship(actor=actor, order=order),
            lambda: services.order_cancel(actor=actor, order=order, reason="buyer_request"),
        ]
        results = race(2, lambda i: calls[i]())
        wins = [r for r in results if isinstance(r, Order)]
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(losses) == 1, results
        order.refresh_from_db()
        assert order.state == wins[0].state
        transitions = OrderEvent.objects.for_shop(shop).filter(order=order, kind__in=["shipped", "cancelled"])
        assert transitions.count() == 1
    st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    shipped = Order.objects.for_shop(shop).filter(state=Order.State.DELIVERING).count()
    assert st.reserved == 0 and st.on_hand == 3 - shipped


def test_concurrent_refunds_never_exceed_paid(shop):
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    actor = owner_actor(shop)
    results = race(10, lambda i: services.refund_create(actor=actor, order=order, amount="30.00", reason=f"r{i}"))
    assert sum(isinstance(r, Refund) for r in results) == 3
    assert all(r.code == "refund_exceeds_paid" for r in results if not isinstance(r, Refund))
    order.refresh_from_db()
    assert order.refunded_total == Decimal("90.00")
    assert sum(r.amount for r in Refund.objects.for_shop(shop).filter(order=order)) == Decimal("90.00")
