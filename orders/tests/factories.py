"""Test data for orders, built through the real services (catalog and orders)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING

from backoffice.authz import system_actor
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from orders import services
from orders.models import Order, Return
from tests.fixtures import make_platform_user, owner_actor

if TYPE_CHECKING:
    from catalog.models import SKU, Category, Warehouse

_seq = itertools.count(1)


def make_sku(shop, *, stock: int = 10, price: str = "990.00", warehouse: Warehouse | None = None,
             code: str | None = None, category: Category | None = None,
             title: str | None = None) -> tuple[SKU, Warehouse]:  # fmt: skip
    actor = owner_actor(shop)
    n = next(_seq)
    if warehouse is None:
        warehouse = catalog.warehouse_create(actor=actor, name=f"Main {n}", code=f"wh{n}")
    code = code or f"SKU-{n}"
    catalog.product_create(actor=actor, title=title or f"Product {n}", category=category,
                           skus=[{"code": code, "price": price}])  # fmt: skip
    sku = catalog_selectors.skus_by_code(shop=shop, codes=[code])[code]
    if stock:
        catalog.stock_adjust(actor=actor, sku=sku, warehouse=warehouse, delta=stock, reason="receipt")
    return sku, warehouse


# The marketplace side (integration API): one factory for platform staff, in tests/fixtures.py.
platform_user = make_platform_user


BUYER = {"name": "Ivan Petrov", "phone": "+7 912 345-67-89", "address": "Moscow, Tverskaya 1, apt 5"}


def intake(shop, sku: SKU, *, quantity: int = 1, unit_price: str = "990.00", external_id: str | None = None,
           delivery_method: str = "standard", buyer: dict | None = None) -> Order:  # fmt: skip
    order, _created = services.order_intake(
        actor=system_actor(shop), external_id=external_id or f"MP-{next(_seq)}", delivery_method=delivery_method,
        buyer=buyer or BUYER, lines=[{"sku": sku.code, "quantity": quantity, "unit_price": Decimal(unit_price)}],
    )  # fmt: skip
    return order


def order_in(shop, state: str, sku: SKU | None = None, **kwargs) -> Order:
    """An order driven through the services to ``state``."""
    if sku is None:
        sku, _wh = make_sku(shop)
    actor = owner_actor(shop)
    if state == Order.State.AWAITING_CONFIRMATION:
        auto = shop.auto_confirm_orders
        shop.auto_confirm_orders = False
        try:
            return intake(shop, sku, **kwargs)
        finally:
            shop.auto_confirm_orders = auto
    order = intake(shop, sku, **kwargs)
    if order.state == Order.State.AWAITING_CONFIRMATION:
        order = services.order_confirm(actor=actor, order=order)
    path = [Order.State.AWAITING_DELIVER, Order.State.DELIVERING, Order.State.DELIVERED]
    steps = {
        Order.State.AWAITING_DELIVER: lambda o: services.order_pack(actor=actor, order=o, carrier="CDEK",
                                                                    tracking_number=f"TRK{o.pk}"),
        Order.State.DELIVERING: lambda o: services.order_ship(actor=actor, order=o),
        Order.State.DELIVERED: lambda o: services.order_deliver(actor=actor, order=o),
    }  # fmt: skip
    if state == Order.State.CANCELLED:
        return services.order_cancel(actor=actor, order=order, reason="buyer_request")
    for step in path:
        if order.state == state:
            break
        order = steps[step](order)
    assert order.state == state, (order.state, state)
    return order


def make_carrier(shop, name: str | None = None, *, code: str | None = None,
                 tracking_url: str = "https://carrier.example/track/{tracking}"):  # fmt: skip
    """One carrier on the shop's list, through the service (as the owner)."""
    n = next(_seq)
    return services.carrier_create(actor=owner_actor(shop), name=name or f"Carrier {n}", code=code or f"carrier-{n}",
                                   tracking_url=tracking_url)  # fmt: skip


def return_in(shop, state: str, order: Order | None = None, warehouse: Warehouse | None = None) -> Return:
    actor = owner_actor(shop)
    order = order or order_in(shop, Order.State.DELIVERED)
    line = order.lines.first()
    ret = services.return_request(actor=actor, order=order, lines=[{"line": line.pk, "quantity": 1}],
                                  reason="Wrong size")  # fmt: skip
    if state == Return.State.REQUESTED:
        return ret
    if state == Return.State.REJECTED:
        return services.return_reject(actor=actor, ret=ret, note="Used")
    ret = services.return_approve(actor=actor, ret=ret)
    if state == Return.State.APPROVED:
        return ret
    wh = warehouse or order.allocations.first().warehouse
    ret = services.return_receive(actor=actor, ret=ret, warehouse=wh)
    if state == Return.State.RECEIVED:
        return ret
    if state == Return.State.EXCHANGED:
        return services.return_exchange(actor=actor, ret=ret)
    return services.return_refund(actor=actor, ret=ret)[0]
