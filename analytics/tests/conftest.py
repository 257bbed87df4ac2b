"""Shared fixtures of the analytics tests: a shop in a zone with a DST change (Europe/Berlin), two categories, two
warehouses, SKUs with and without a cost price, plenty of stock and a 10% promotion (so orders carry discounts),
and helpers that drive orders through the real services at a chosen instant."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from backoffice.authz import load_actor, system_actor
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from orders import services as orders
from orders.models import Order
from tests.fixtures import make_shop, owner_actor

_seq = itertools.count(1)
BUYER = {"name": "Ann Buyer", "phone": "+7 900 000-00-00", "address": "Main street 1"}
# The night Berlin leaves summer time: 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC).
DST_CHANGE = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


@dataclass
class SalesWorld:
    shop: Any
    owner: Any
    cat_a: Any
    cat_b: Any
    north: Any
    south: Any
    skus: list = field(default_factory=list)  # a1 (cat A, cost), a2 (cat A, no cost), b1 (cat B, cost)

    def actor(self, membership):
        return load_actor(membership.user, self.shop)


def _sku(owner, title: str, code: str, price: str, category, cost: str | None):
    catalog.product_create(actor=owner, title=title, category=category,
                           skus=[{"code": code, "price": price, **({"cost": cost} if cost else {})}])  # fmt: skip
    return catalog_selectors.skus_by_code(shop=owner.shop, codes=[code])[code]


@pytest.fixture
def sales_world(db) -> SalesWorld:
    from promotions.tests.factories import make_promotion

    shop = make_shop()
    type(shop).objects.filter(pk=shop.pk).update(timezone="Europe/Berlin", auto_confirm_orders=True)
    shop.refresh_from_db()
    owner = owner_actor(shop)
    n = next(_seq)
    cat_a = catalog.category_create(actor=owner, name=f"Alpha {n}")
    cat_b = catalog.category_create(actor=owner, name=f"Beta {n}")
    north = catalog.warehouse_create(actor=owner, name="North", code=f"north{n}")
    south = catalog.warehouse_create(actor=owner, name="South", code=f"south{n}")
    skus = [
        _sku(owner, "Apple", f"A1-{n}", "100.00", cat_a, "40.00"),
        _sku(owner, "Apricot", f"A2-{n}", "35.50", cat_a, None),
        _sku(owner, "Banana", f"B1-{n}", "60.00", cat_b, "25.50"),
    ]
    for sku, warehouse in itertools.product(skus, (north, south)):
        catalog.stock_adjust(actor=owner, sku=sku, warehouse=warehouse, delta=10_000, reason="receipt")
    make_promotion(shop, starts_at="2026-01-01T00:00:00+00:00")
    return SalesWorld(shop=shop, owner=owner, cat_a=cat_a, cat_b=cat_b, north=north, south=south, skus=skus)


def place(world: SalesWorld, lines: list[tuple[Any, int]], at: datetime, *, method: str = "standard") -> Order:
    """An order through the real intake at instant ``at`` (the promotion discounts it)."""
    with time_machine.travel(at, tick=False):
        order, _created = orders.order_intake(
            actor=system_actor(world.shop), external_id=f"AN-{next(_seq)}", delivery_method=method, buyer=BUYER,
            lines=[{"sku": s.code, "quantity": q, "unit_price": Decimal(s.price)} for s, q in lines], created_at=at,
        )  # fmt: skip
    return order


def deliver(world: SalesWorld, order: Order, at: datetime) -> Order:
    """Pack, hand over and deliver ``order`` at ``at`` (from wherever it is)."""
    owner = world.owner
    with time_machine.travel(at, tick=False):
        order = Order.objects.for_shop(world.shop).get(pk=order.pk)
        if order.state == Order.State.AWAITING_CONFIRMATION:
            order = orders.order_confirm(actor=owner, order=order)
        if order.state == Order.State.AWAITING_PACKAGING:
            order = orders.order_pack(actor=owner, order=order, carrier="DHL", tracking_number=f"T{order.pk}")
        if order.state == Order.State.AWAITING_DELIVER:
            order = orders.order_ship(actor=owner, order=order)
        if order.state == Order.State.DELIVERING:
            order = orders.order_deliver(actor=owner, order=order)
    return order


def return_units(world: SalesWorld, order: Order, units: int, at: datetime, *, refund: bool = True):
    """The buyer sends back ``units`` of the order's first line; received into North and refunded at ``at``."""
    owner = world.owner
    with time_machine.travel(at, tick=False):
        order = Order.objects.for_shop(world.shop).get(pk=order.pk)
        line = order.lines.order_by("pk").first()
        ret = orders.return_request(actor=owner, order=order, lines=[{"line": line.pk, "quantity": units}],
                                    reason="Too small")  # fmt: skip
        ret = orders.return_approve(actor=owner, ret=ret)
        ret = orders.return_receive(actor=owner, ret=ret, warehouse=world.north)
        if refund:
            ret, _refund = orders.return_refund(actor=owner, ret=ret)
    return ret


def refund(world: SalesWorld, order: Order, amount: str, at: datetime):
    with time_machine.travel(at, tick=False):
        order = Order.objects.for_shop(world.shop).get(pk=order.pk)
        return orders.refund_create(actor=world.owner, order=order, amount=amount, reason="Goodwill")


def cancel(world: SalesWorld, order: Order, at: datetime) -> Order:
    with time_machine.travel(at, tick=False):
        order = Order.objects.for_shop(world.shop).get(pk=order.pk)
        return orders.order_cancel(actor=world.owner, order=order, reason="buyer_request")
