"""Test data for promotions, built through the real services."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from backoffice.authz import system_actor
from orders import services as order_services
from orders.tests.factories import BUYER
from promotions import services
from promotions.models import Promotion
from tests.fixtures import owner_actor

_seq = itertools.count(1)


def make_promotion(shop, *, activate: bool = True, **data: Any) -> Promotion:
    """A promotion through ``promotion_create`` (default: 10% off the whole shop, started an hour ago)."""
    body = {"name": f"Promo {next(_seq)}", "kind": "percent_off", "value": "10",
            "starts_at": (timezone.now() - timedelta(hours=1)).isoformat(), **data}  # fmt: skip
    actor = owner_actor(shop)
    promotion = services.promotion_create(actor=actor, data=body)
    if activate:
        promotion = services.promotion_activate(actor=actor, promotion=promotion)
    return promotion


def intake(shop, lines: list[tuple[Any, int]], *, codes=(), buyer_id: str | None = None, external_id=None,
           at=None):  # fmt: skip
    """An order through the real intake: ``lines`` as (SKU, quantity) at the SKU's list price."""
    buyer = {**BUYER, **({"id": buyer_id} if buyer_id else {})}
    order, _created = order_services.order_intake(
        actor=system_actor(shop), external_id=external_id or f"PR-{next(_seq)}", delivery_method="standard",
        buyer=buyer, lines=[{"sku": s.code, "quantity": q, "unit_price": Decimal(s.price)} for s, q in lines],
        codes=list(codes), created_at=at,
    )  # fmt: skip
    return order


def quote(shop, lines: list[tuple[Any, int]], *, codes=(), buyer=None, at=None) -> dict:
    return services.promotion_quote(actor=owner_actor(shop), lines=[{"sku": s.code, "quantity": q} for s, q in lines],
                                    codes=list(codes), buyer=buyer, at=at)  # fmt: skip
