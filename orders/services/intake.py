"""Order intake: a paid order arrives from the storefront (the integration API, as the system)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import pricing
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor
from backoffice.errors import Conflict, ValidationFailed
from backoffice.money import parse_money
from catalog import selectors as catalog_selectors
from catalog import services as catalog
from orders.models import SHIP_WITHIN, DeliveryMethod, Order, OrderAllocation, OrderLine
from orders.services._common import order_event, platform_only, stock_actor

State = Order.State


def _clean_intake(shop, *, external_id, delivery_method, buyer, lines) -> tuple[dict, list[dict]]:
    errors: dict[str, list[str]] = {}
    external_id = str(external_id or "").strip()
    if not external_id:
        errors["external_id"] = [_("This field is required.")]
    elif len(external_id) > 64:
        errors["external_id"] = [_("At most 64 characters.")]
    if delivery_method not in DeliveryMethod.values:
        errors["delivery_method"] = [_("Choose one of: %(v)s") % {"v": ", ".join(DeliveryMethod.values)}]
    buyer = buyer if isinstance(buyer, dict) else {}
    name = str(buyer.get("name") or "").strip()
    phone = str(buyer.get("phone") or "").strip()
    address = str(buyer.get("address") or "").strip()
    if not name:
        errors["buyer.name"] = [_("This field is required.")]
    if not phone:
        errors["buyer.phone"] = [_("This field is required.")]
    if not address and delivery_method != DeliveryMethod.PICKUP:
        errors["buyer.address"] = [_("An address is required for delivery.")]
    buyer_id = buyer.get("id")
    if buyer_id is None or buyer_id == "":
        buyer_id = ""
    elif isinstance(buyer_id, bool) or not isinstance(buyer_id, (str, int)) or len(str(buyer_id).strip()) > 64:
        errors["buyer.id"] = [_("At most %(n)s characters.") % {"n": 64}]
    else:
        buyer_id = str(buyer_id).strip()
    if not lines:
        errors["lines"] = [_("Give at least one line.")]
    cleaned: list[dict] = []
    codes = [str((line or {}).get("sku") or "").strip() for line in lines or []]
    skus = catalog_selectors.skus_by_code(shop=shop, codes=codes)
    for i, line in enumerate(lines or []):
        line = line if isinstance(line, dict) else {}
        sku = skus.get(codes[i])
        if sku is None:
            errors[f"lines.{i}.sku"] = [_("Unknown SKU: %(code)s") % {"code": codes[i]}]
        qty = line.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0 or qty > 100000:
            errors[f"lines.{i}.quantity"] = [_("A positive whole number.")]
        try:
            price = parse_money(line.get("unit_price"), f"lines.{i}.unit_price")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            price = None
        cleaned.append({"sku": sku, "quantity": qty, "unit_price": price})
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    head = {"external_id": external_id, "delivery_method": delivery_method, "buyer_name": name[:200],
            "buyer_phone": phone[:40], "buyer_address": address[:500], "buyer_ref": buyer_id}  # fmt: skip
    return head, cleaned


def _clean_codes(codes) -> list[str]:
    if codes in (None, ""):
        return []
    if not isinstance(codes, (list, tuple)) or len(codes) > 20 or not all(isinstance(c, str) for c in codes):
        message = _("Give a list of at most %(n)s codes.") % {"n": 20}
        raise ValidationFailed(message, fields={"codes": [message]})
    return [c.strip()[:64] for c in codes if c.strip()]


def _out_of_stock(exc: Conflict, cleaned: list[dict]) -> Conflict:
    """The catalog's refusal, naming the SKUs that are short (fields ``lines.<i>.quantity``)."""
    fields: dict[str, list[str]] = {}
    short: list[str] = []
    for key, msgs in (exc.fields or {}).items():
        match = re.match(r"lines[.\[](\d+)", key)
        if match is None:
            fields[key] = msgs
            continue
        i = int(match.group(1))
        fields[f"lines.{i}.quantity"] = msgs
        if i < len(cleaned):
            short.append(cleaned[i]["sku"].code)
    message = (
        _("Not enough stock for: %(skus)s. Nothing was reserved.") % {"skus": ", ".join(short)}
        if short
        else exc.message
    )
    return Conflict(message, code=exc.code, fields=fields)


def order_intake(
    *,
    actor: Actor,
    external_id: str,
    delivery_method: str,
    buyer: dict[str, Any],
    lines: Sequence[dict[str, Any]],
    created_at=None,
    codes: Sequence[str] = (),
) -> tuple[Order, bool]:
    """A paid order arrives from the storefront: ``lines`` are ``{"sku": code, "quantity", "unit_price"}``.
    Platform code only (``system_actor(shop, user=<the integration's user>)``).

    Returns ``(order, created)``. An ``external_id`` seen before returns that order and creates nothing
    (also when two identical requests race: the unique constraint decides). Stock for every line is
    reserved in the same transaction, or the order is refused with 409 ``out_of_stock`` and nothing stays.

    Prices: the kernel's pricing hook (``backoffice.pricing``; the promotions app provides it) prices the lines
    in the same transaction, with the buyer's ``codes`` and ``buyer["id"]``: per-line discounts, gift lines at
    price 0 (reserved like any line), and the promotions applied (a snapshot) are stored with the order;
    ``total = subtotal − discount_total``. Without promotions the total is the list prices' sum, as before.
    """
    platform_only(actor, "orders.process")
    shop = actor.shop
    head, cleaned = _clean_intake(shop, external_id=external_id, delivery_method=delivery_method, buyer=buyer,
                                  lines=lines)  # fmt: skip
    existing = Order.objects.for_shop(shop).filter(external_id=head["external_id"]).first()
    if existing is not None:
        return existing, False
    now = created_at or timezone.now()
    state = State.AWAITING_PACKAGING if shop.auto_confirm_orders else State.AWAITING_CONFIRMATION
    total = sum((c["unit_price"] * c["quantity"] for c in cleaned), Decimal("0.00"))
    codes = _clean_codes(codes)
    try:
        with transaction.atomic():
            # The order row first: a concurrent twin waits here on the unique index, then fails
            # before it reserves anything.
            order = Order.objects.for_shop(shop).create(
                shop=shop, number=f"~{uuid.uuid4().hex[:20]}", state=state, total=total, currency=shop.currency,
                ship_by=now + SHIP_WITHIN[head["delivery_method"]], created_at=now,
                confirmed_at=now if state == State.AWAITING_PACKAGING else None,
                sku_codes=" ".join(sorted({c["sku"].code for c in cleaned}))[:500], **head,
            )  # fmt: skip
            order.number = f"{order.pk:08d}"
            priced = pricing.price_order(shop=shop, order=order, lines=cleaned, buyer_id=head["buyer_ref"],
                                         codes=codes, at=now)  # fmt: skip
            total = priced.total
            order.total, order.subtotal, order.discount_total = total, priced.subtotal, priced.discount_total
            order.promotions = list(priced.applied)
            Order.objects.for_shop(shop).filter(pk=order.pk).update(
                number=order.number,
                total=total,
                subtotal=priced.subtotal,
                discount_total=priced.discount_total,
                promotions=order.promotions,
            )
            cleaned = [{"sku": p.sku, "quantity": p.quantity, "unit_price": p.unit_price, "discount": p.discount,
                        "gift": p.gift} for p in priced.lines]  # fmt: skip
            order_lines = OrderLine.objects.for_shop(shop).bulk_create(
                [
                    OrderLine(shop=shop, order=order, sku=c["sku"], sku_code=c["sku"].code,
                              title=c["sku"].product.title[:255], quantity=c["quantity"], unit_price=c["unit_price"],
                              discount=c["discount"], is_gift=c["gift"])
                    for c in cleaned
                ]
            )  # fmt: skip
            # Two orders naming the same SKUs in opposite order cannot deadlock here: stock_reserve locks
            # every stock row of every line in one statement, in id order (tested in test_concurrency).
            try:
                allocations = catalog.stock_reserve(
                    actor=stock_actor(actor), reference=f"order:{order.number}",
                    lines=[{"sku": c["sku"], "quantity": c["quantity"], "warehouse": None} for c in cleaned],
                )  # fmt: skip
            except Conflict as exc:
                raise _out_of_stock(exc, cleaned) from exc
            OrderAllocation.objects.for_shop(shop).bulk_create(
                [
                    OrderAllocation(shop=shop, order=order, line=line, warehouse_id=a["warehouse"], quantity=a["quantity"])
                    for line, a in zip(order_lines, allocations, strict=True)
                ]
            )  # fmt: skip
            data = {"external_id": order.external_id, "total": str(total)}
            if priced.discount_total:
                data["discount"] = str(priced.discount_total)
            if priced.notes:
                # Codes the buyer gave that did nothing (unknown, used): the order went through without them.
                data["codes_ignored"] = list(priced.notes)
            order_event(order, kind="created", actor=actor, to_state=state, at=now, data=data)
            audit_record(shop=shop, actor=actor, action="order.created", target=order,
                         changes=diff({}, {"state": state, "external_id": order.external_id, "total": total,
                                           "delivery_method": order.delivery_method}))  # fmt: skip
    except IntegrityError:
        existing = Order.objects.for_shop(shop).filter(external_id=head["external_id"]).first()
        if existing is None:
            raise
        return existing, False
    return order, True
