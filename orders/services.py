"""Writes for orders: one use case per function, one transaction each, one audit entry each.

Every transition locks the order row (``SELECT ... FOR UPDATE``) and re-reads its state, so of two
racing transitions exactly one wins; the loser answers 409. Stock moves through the catalog services
inside the same transaction (reserve on intake, ship on hand-over, release on cancel, adjust on return).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backoffice.jobs import job_claim
from catalog import services as catalog
from catalog.models import SKU, Warehouse
from orders.models import (
    SHIP_WITHIN,
    DeliveryMethod,
    ExportJob,
    Order,
    OrderAllocation,
    OrderEvent,
    OrderLine,
    Refund,
    Return,
    ReturnLine,
)

State = Order.State
RState = Return.State
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# helpers


def _user(actor):
    user = getattr(actor, "user", actor)
    return user if getattr(user, "pk", None) else None


def _stock_actor(actor):
    """The catalog's stock services check the *catalog* scope of an Actor; orders act on stock as the
    user (an order's warehouse was chosen at intake, and a support agent receiving a return may not hold
    ``catalog.manage_stock``)."""
    return _user(actor)


def _shop_of(actor, shop):
    shop = shop or getattr(actor, "shop", None)
    if shop is None:
        raise ValueError("a shop is required")
    return shop


def _money(value, field: str, *, positive: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Enter an amount."), fields={field: [_("Enter an amount.")]})
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        msg = _("Must be more than zero.") if positive else _("Must not be negative.")
        raise ValidationFailed(msg, fields={field: [msg]})
    if amount != amount.quantize(CENT) or amount >= Decimal("10000000000"):
        raise ValidationFailed(_("Use at most 2 decimal places."), fields={field: [_("Use at most 2 decimal places.")]})
    return amount.quantize(CENT)


def _same_shop(shop, *objs) -> None:
    for obj in objs:
        if obj is not None and obj.shop_id != shop.pk:
            raise NotFound(_("Not found."))


def _ensure_in_scope(actor, order: Order) -> None:
    """A member limited to chosen warehouses acts only on orders allocated in one of them."""
    if isinstance(actor, Actor) and "warehouse" in actor.scopes:
        allowed = actor.scopes["warehouse"]
        if not OrderAllocation.objects.for_shop(order.shop_id).filter(order=order, warehouse_id__in=allowed).exists():
            raise Forbidden(_("This order is outside your warehouses."), code="out_of_scope")


def _locked(shop, order: Order) -> Order:
    _same_shop(shop, order)
    locked = Order.objects.for_shop(shop).select_for_update().filter(pk=order.pk).first()
    if locked is None:
        raise NotFound(_("Not found."))
    return locked


def _event(order: Order, *, kind: str, actor, from_state: str = "", to_state: str = "", message: str = "",
           data: dict | None = None, at=None) -> OrderEvent:  # fmt: skip
    return OrderEvent.objects.for_shop(order.shop_id).create(
        shop_id=order.shop_id, order=order, kind=kind, from_state=from_state, to_state=to_state,
        actor=_user(actor), message=message[:500], data=data or {}, created_at=at or timezone.now(),
    )  # fmt: skip


def _allocations(order: Order) -> list[dict]:
    rows = OrderAllocation.objects.for_shop(order.shop_id).filter(order=order).select_related("line")
    return [{"sku": a.line.sku_id, "warehouse": a.warehouse_id, "quantity": a.quantity} for a in rows]


def _illegal(order: Order, verb: str) -> Conflict:
    return Conflict(
        _("Cannot %(verb)s an order that is %(state)s.") % {"verb": verb, "state": order.get_state_display().lower()},
        code="invalid_transition",
    )


# ---------------------------------------------------------------------------------------------
# intake (integration side)


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
    if not lines:
        errors["lines"] = [_("Give at least one line.")]
    cleaned: list[dict] = []
    codes = [str((line or {}).get("sku") or "").strip() for line in lines or []]
    skus = {s.code: s for s in SKU.objects.for_shop(shop).filter(code__in=codes).select_related("product")}
    for i, line in enumerate(lines or []):
        line = line if isinstance(line, dict) else {}
        sku = skus.get(codes[i])
        if sku is None:
            errors[f"lines.{i}.sku"] = [_("Unknown SKU: %(code)s") % {"code": codes[i]}]
        qty = line.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0 or qty > 100000:
            errors[f"lines.{i}.quantity"] = [_("A positive whole number.")]
        try:
            price = _money(line.get("unit_price"), f"lines.{i}.unit_price")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            price = None
        cleaned.append({"sku": sku, "quantity": qty, "unit_price": price})
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    head = {"external_id": external_id, "delivery_method": delivery_method, "buyer_name": name[:200],
            "buyer_phone": phone[:40], "buyer_address": address[:500]}  # fmt: skip
    return head, cleaned


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
    shop,
    external_id: str,
    delivery_method: str,
    buyer: dict[str, Any],
    lines: Sequence[dict[str, Any]],
    actor=None,
    created_at=None,
) -> tuple[Order, bool]:
    """A paid order arrives from the storefront: ``lines`` are ``{"sku": code, "quantity", "unit_price"}``.

    Returns ``(order, created)``. An ``external_id`` seen before returns that order and creates nothing
    (also when two identical requests race: the unique constraint decides). Stock for every line is
    reserved in the same transaction, or the order is refused with 409 ``out_of_stock`` and nothing stays.
    """
    head, cleaned = _clean_intake(shop, external_id=external_id, delivery_method=delivery_method, buyer=buyer,
                                  lines=lines)  # fmt: skip
    existing = Order.objects.for_shop(shop).filter(external_id=head["external_id"]).first()
    if existing is not None:
        return existing, False
    now = created_at or timezone.now()
    state = State.AWAITING_PACKAGING if shop.auto_confirm_orders else State.AWAITING_CONFIRMATION
    total = sum((c["unit_price"] * c["quantity"] for c in cleaned), Decimal("0.00"))
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
            Order.objects.for_shop(shop).filter(pk=order.pk).update(number=order.number)
            order_lines = OrderLine.objects.for_shop(shop).bulk_create(
                [
                    OrderLine(shop=shop, order=order, sku=c["sku"], sku_code=c["sku"].code,
                              title=c["sku"].product.title[:255], quantity=c["quantity"], unit_price=c["unit_price"])
                    for c in cleaned
                ]
            )  # fmt: skip
            try:
                allocations = catalog.stock_reserve(
                    actor=_stock_actor(actor), shop=shop, reference=f"order:{order.number}",
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
            _event(order, kind="created", actor=actor, to_state=state, at=now,
                   data={"external_id": order.external_id, "total": str(total)})  # fmt: skip
            audit_record(shop=shop, actor=actor, action="order.created", target=order,
                         changes=diff({}, {"state": state, "external_id": order.external_id, "total": total,
                                           "delivery_method": order.delivery_method}))  # fmt: skip
    except IntegrityError:
        existing = Order.objects.for_shop(shop).filter(external_id=head["external_id"]).first()
        if existing is None:
            raise
        return existing, False
    return order, True


# ---------------------------------------------------------------------------------------------
# transitions


def _transition(*, shop, actor, order: Order, allowed_from: Sequence[str], to: str, verb: str, kind: str,
                fields: dict[str, Any] | None = None, before_save=None, message: str = "") -> Order:  # fmt: skip
    shop = _shop_of(actor, shop)
    with transaction.atomic():
        order = _locked(shop, order)
        _ensure_in_scope(actor, order)
        if order.state not in allowed_from:
            raise _illegal(order, verb)
        fields = fields or {}
        before = {"state": order.state, **{k: getattr(order, k) for k in fields}}
        if before_save is not None:
            before_save(order)
        from_state = order.state
        order.state = to
        for key, value in fields.items():
            setattr(order, key, value)
        order.save(update_fields=["state", "updated_at", *fields])
        after = {"state": to, **fields}
        _event(order, kind=kind, actor=actor, from_state=from_state, to_state=to, message=message,
               data={k: v for k, v in diff(before, after).items() if k != "state"})  # fmt: skip
        audit_record(shop=shop, actor=actor, action=f"order.{kind}", target=order, changes=diff(before, after))
    return order


def order_confirm(*, actor, order: Order, shop=None) -> Order:
    """The seller has checked the order: awaiting_confirmation → awaiting_packaging."""
    return _transition(shop=shop, actor=actor, order=order, allowed_from=[State.AWAITING_CONFIRMATION],
                       to=State.AWAITING_PACKAGING, verb=_("confirm"), kind="confirmed",
                       fields={"confirmed_at": timezone.now()})  # fmt: skip


def _clean_packages(order: Order, packages, carrier: str) -> list[dict]:
    """An optional split into several parcels: every unit of every line in exactly one package."""
    if not packages:
        return []
    if not isinstance(packages, list):
        raise ValidationFailed(_("Give packages as a list."), fields={"packages": [_("Not a list.")]})
    lines = {line.pk: line.quantity for line in OrderLine.objects.for_shop(order.shop_id).filter(order=order)}
    packed: dict[int, int] = dict.fromkeys(lines, 0)
    out = []
    for i, pkg in enumerate(packages):
        pkg = pkg if isinstance(pkg, dict) else {}
        tracking = str(pkg.get("tracking_number") or "").strip()
        if not tracking:
            raise ValidationFailed(_("Each package needs a tracking number."),
                                   fields={f"packages.{i}.tracking_number": [_("This field is required.")]})  # fmt: skip
        items = []
        for j, item in enumerate(pkg.get("lines") or []):
            item = item if isinstance(item, dict) else {}
            line_id, qty = item.get("line"), item.get("quantity")
            if line_id not in lines or not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
                raise ValidationFailed(_("Unknown line or bad quantity."),
                                       fields={f"packages.{i}.lines.{j}": [_("Unknown line or bad quantity.")]})  # fmt: skip
            packed[line_id] += qty
            items.append({"line": line_id, "quantity": qty})
        if not items:
            raise ValidationFailed(_("A package holds at least one line."),
                                   fields={f"packages.{i}.lines": [_("Empty.")]})  # fmt: skip
        out.append(
            {"carrier": str(pkg.get("carrier") or carrier)[:80], "tracking_number": tracking[:80], "lines": items}
        )
    if packed != lines:
        raise ValidationFailed(_("The packages must hold every unit of every line exactly once."),
                               fields={"packages": [_("Quantities do not add up to the order.")]})  # fmt: skip
    return out


def order_pack(*, actor, order: Order, carrier: str, tracking_number: str, packages: list | None = None,
               shop=None) -> Order:  # fmt: skip
    """Packed and labelled: awaiting_packaging → awaiting_deliver, with carrier and tracking number
    (and optionally a split into several packages)."""
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip()
    errors = {}
    if not carrier:
        errors["carrier"] = [_("This field is required.")]
    if not tracking_number:
        errors["tracking_number"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Give the carrier and the tracking number."), fields=errors)
    split = _clean_packages(order, packages, carrier) if packages else []
    return _transition(shop=shop, actor=actor, order=order, allowed_from=[State.AWAITING_PACKAGING],
                       to=State.AWAITING_DELIVER, verb=_("pack"), kind="packed",
                       fields={"carrier": carrier[:80], "tracking_number": tracking_number[:80], "packages": split,
                               "packed_at": timezone.now()})  # fmt: skip


def _each_order(orders, items: Sequence[dict], apply) -> dict[str, Any]:
    """Apply one transition per order, each in its own transaction; a refusal is reported, not raised."""
    by_id = {o.pk: o for o in orders.filter(pk__in=[item["id"] for item in items])}
    done: list[int] = []
    failed: dict[str, dict[str, str]] = {}
    for item in items:
        order = by_id.get(item["id"])
        if order is None:
            failed[str(item["id"])] = {"code": "not_found", "message": _("Not found.")}
            continue
        try:
            apply(order, item)
            done.append(order.pk)
        except (Conflict, Forbidden, NotFound, ValidationFailed) as exc:
            failed[str(item["id"])] = {"code": exc.code, "message": exc.message}
    return {"done": done, "failed": failed}


def order_confirm_many(*, actor: Actor, orders, ids: Sequence[int]) -> dict[str, Any]:
    """Bulk confirm: ``orders`` is the actor's visible queryset; returns ``{"done": [...], "failed": {id: error}}``."""
    items = [{"id": pk} for pk in dict.fromkeys(ids)]
    return _each_order(orders, items, lambda order, _item: order_confirm(actor=actor, order=order))


def order_pack_many(*, actor: Actor, orders, items: Sequence[dict]) -> dict[str, Any]:
    """Bulk pack: ``items`` are ``{"id", "carrier", "tracking_number"}``; same answer as ``order_confirm_many``."""
    return _each_order(
        orders,
        items,
        lambda order, item: order_pack(
            actor=actor, order=order, carrier=item["carrier"], tracking_number=item["tracking_number"]
        ),
    )


def order_ship(*, actor, order: Order, shop=None) -> Order:
    """Handed over to the carrier: awaiting_deliver → delivering. The reserved units leave stock."""
    shop = _shop_of(actor, shop)

    def ship(locked: Order) -> None:
        catalog.stock_ship(actor=_stock_actor(actor), shop=shop, allocations=_allocations(locked),
                           reference=f"order:{locked.number}")  # fmt: skip

    return _transition(shop=shop, actor=actor, order=order, allowed_from=[State.AWAITING_DELIVER],
                       to=State.DELIVERING, verb=_("ship"), kind="shipped", fields={"shipped_at": timezone.now()},
                       before_save=ship)  # fmt: skip


def order_deliver(*, actor, order: Order, shop=None, message: str = "") -> Order:
    """The buyer has the parcel: delivering → delivered."""
    return _transition(shop=shop, actor=actor, order=order, allowed_from=[State.DELIVERING], to=State.DELIVERED,
                       verb=_("deliver"), kind="delivered", fields={"delivered_at": timezone.now()},
                       message=message)  # fmt: skip


def order_cancel(*, actor, order: Order, reason: str, comment: str = "", shop=None) -> Order:
    """Cancel before hand-over, with a reason code; the reserved units become available again."""
    shop = _shop_of(actor, shop)
    comment = (comment or "").strip()
    if reason not in Order.CancelReason.values:
        raise ValidationFailed(_("Choose a reason."), fields={"reason": [
            _("Choose one of: %(v)s") % {"v": ", ".join(Order.CancelReason.values)}]})  # fmt: skip
    if reason == Order.CancelReason.OTHER and not comment:
        raise ValidationFailed(_("Say why."), fields={"comment": [_("Required when the reason is 'other'.")]})

    def release(locked: Order) -> None:
        catalog.stock_release(actor=_stock_actor(actor), shop=shop, allocations=_allocations(locked),
                              reference=f"order:{locked.number}")  # fmt: skip

    return _transition(shop=shop, actor=actor, order=order, allowed_from=Order.OPEN_STATES, to=State.CANCELLED,
                       verb=_("cancel"), kind="cancelled", before_save=release, message=comment,
                       fields={"cancel_reason": reason, "cancel_comment": comment[:500],
                               "cancelled_at": timezone.now()})  # fmt: skip


TRACKING_STATUSES = ("accepted", "in_transit", "arrived", "out_for_delivery", "delivered", "failed_attempt",
                     "returned_to_sender", "other")  # fmt: skip


def order_tracking_event(*, order: Order, status: str, message: str = "", location: str = "", occurred_at=None,
                         shop=None, actor=None) -> OrderEvent:  # fmt: skip
    """A carrier's tracking event, pushed by the integration API, joins the timeline. ``delivered``
    on an order that is delivering also delivers it."""
    shop = _shop_of(actor, shop)
    if status not in TRACKING_STATUSES:
        raise ValidationFailed(_("Unknown tracking status."), fields={"status": [
            _("Choose one of: %(v)s") % {"v": ", ".join(TRACKING_STATUSES)}]})  # fmt: skip
    at = occurred_at or timezone.now()
    with transaction.atomic():
        order = _locked(shop, order)
        if order.state not in (State.DELIVERING, State.DELIVERED, State.AWAITING_DELIVER):
            raise _illegal(order, _("track"))
        event = _event(order, kind="tracking", actor=actor, message=message,
                       data={"status": status, "location": location[:200], "occurred_at": at.isoformat()})  # fmt: skip
        before = {"state": order.state}
        if status == "delivered" and order.state == State.DELIVERING:
            order.state = State.DELIVERED
            order.delivered_at = at
            order.save(update_fields=["state", "delivered_at", "updated_at"])
            _event(order, kind="delivered", actor=actor, from_state=State.DELIVERING, to_state=State.DELIVERED,
                   message=_("Delivered (carrier)"))  # fmt: skip
        audit_record(shop=shop, actor=actor, action="order.tracking_event", target=order,
                     changes={**diff(before, {"state": order.state}), "tracking": [None, status]})  # fmt: skip
    return event


# ---------------------------------------------------------------------------------------------
# returns


def _returnable(order: Order) -> dict[int, int]:
    """Units per line still free to return (not in another live return)."""
    lines = {line.pk: line.quantity for line in OrderLine.objects.for_shop(order.shop_id).filter(order=order)}
    taken = (
        ReturnLine.objects.for_shop(order.shop_id)
        .filter(ret__order=order)
        .exclude(ret__state=RState.REJECTED)
        .values("line_id")
        .annotate(n=Sum("quantity"))
    )
    for row in taken:
        lines[row["line_id"]] -= row["n"]
    return lines


def return_request(*, order: Order, lines: Sequence[dict], reason: str, actor=None, shop=None) -> Return:
    """A return of some units of some lines (``[{"line": id, "quantity": n}]``) of a delivered order."""
    shop = _shop_of(actor, shop)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason."), fields={"reason": [_("This field is required.")]})
    if not lines:
        raise ValidationFailed(_("Choose at least one line."), fields={"lines": [_("Empty.")]})
    with transaction.atomic():
        order = _locked(shop, order)
        _ensure_in_scope(actor, order)
        if order.state != State.DELIVERED:
            raise Conflict(_("Only a delivered order can be returned."), code="invalid_transition")
        window = timedelta(days=shop.return_window_days)
        if order.delivered_at and timezone.now() > order.delivered_at + window:
            raise Conflict(_("The return window of this order has closed."), code="return_window_closed")
        free = _returnable(order)
        wanted: dict[int, int] = {}
        for i, item in enumerate(lines):
            item = item if isinstance(item, dict) else {}
            line_id, qty = item.get("line"), item.get("quantity")
            if line_id not in free:
                raise ValidationFailed(_("Unknown line."), fields={f"lines.{i}.line": [_("Not a line of this order.")]})
            if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
                raise ValidationFailed(_("A positive whole number."),
                                       fields={f"lines.{i}.quantity": [_("A positive whole number.")]})  # fmt: skip
            wanted[line_id] = wanted.get(line_id, 0) + qty
            if wanted[line_id] > free[line_id]:
                raise ValidationFailed(_("More than can be returned."), fields={
                    f"lines.{i}.quantity": [_("At most %(n)s.") % {"n": free[line_id]}]})  # fmt: skip
        ret = Return.objects.for_shop(shop).create(shop=shop, order=order, reason=reason[:500], created_by=_user(actor))
        ReturnLine.objects.for_shop(shop).bulk_create(
            [ReturnLine(shop=shop, ret=ret, line_id=line_id, quantity=qty) for line_id, qty in wanted.items()]
        )
        _event(order, kind="return_requested", actor=actor, message=reason,
               data={"return": ret.pk, "lines": {str(k): v for k, v in wanted.items()}})  # fmt: skip
        audit_record(shop=shop, actor=actor, action="return.requested", target=ret,
                     changes=diff({}, {"state": ret.state, "order": order.pk, "lines": wanted}))  # fmt: skip
    return ret


def _locked_return(shop, ret: Return) -> tuple[Return, Order]:
    _same_shop(shop, ret)
    # Lock the order first (the same order as every other order write), then the return.
    order = Order.objects.for_shop(shop).select_for_update().get(pk=ret.order_id)
    ret = Return.objects.for_shop(shop).select_for_update().get(pk=ret.pk)
    return ret, order


def _return_transition(*, shop, actor, ret: Return, allowed_from: Sequence[str], to: str, kind: str,
                       resolution: str = "", work=None) -> Return:  # fmt: skip
    shop = _shop_of(actor, shop)
    with transaction.atomic():
        ret, order = _locked_return(shop, ret)
        _ensure_in_scope(actor, order)
        if ret.state not in allowed_from:
            raise Conflict(_("This return is %(state)s: not possible now.") % {"state": ret.get_state_display().lower()},
                           code="invalid_transition")  # fmt: skip
        extra = work(ret, order) if work is not None else {}
        before = {"state": ret.state, "resolution": ret.resolution}
        ret.state = to
        if resolution:
            ret.resolution = resolution[:500]
        ret.save(update_fields=["state", "resolution", "updated_at"])
        _event(order, kind=f"return_{kind}", actor=actor, message=resolution,
               data={"return": ret.pk, "from": before["state"], "to": to, **(extra or {})})  # fmt: skip
        audit_record(shop=shop, actor=actor, action=f"return.{kind}", target=ret,
                     changes={**diff(before, {"state": to, "resolution": ret.resolution}),
                              **({"details": [None, extra]} if extra else {})})  # fmt: skip
    return ret


def return_approve(*, actor, ret: Return, note: str = "", shop=None) -> Return:
    return _return_transition(shop=shop, actor=actor, ret=ret, allowed_from=[RState.REQUESTED], to=RState.APPROVED,
                              kind="approved", resolution=note)  # fmt: skip


def return_reject(*, actor, ret: Return, note: str, shop=None) -> Return:
    if not (note or "").strip():
        raise ValidationFailed(_("Say why the return is rejected."), fields={"note": [_("This field is required.")]})
    return _return_transition(shop=shop, actor=actor, ret=ret, allowed_from=[RState.REQUESTED], to=RState.REJECTED,
                              kind="rejected", resolution=note.strip())  # fmt: skip


def return_receive(*, actor, ret: Return, warehouse: Warehouse | None = None,
                   lines: Sequence[dict] | None = None, shop=None) -> Return:  # fmt: skip
    """The parcel is back. Each line goes back to ``on_hand`` of a warehouse, or is written off
    (``warehouse=None``); ``lines`` (``[{"id": return line id, "warehouse": Warehouse | None}]``) may
    choose per line."""
    shop = _shop_of(actor, shop)
    _same_shop(shop, warehouse)
    per_line = {}
    for i, item in enumerate(lines or []):
        if not isinstance(item, dict) or "id" not in item:
            raise ValidationFailed(_("Bad line."), fields={f"lines.{i}": [_("Give the return line id.")]})
        _same_shop(shop, item.get("warehouse"))
        per_line[item["id"]] = item.get("warehouse")
    # A member limited to chosen warehouses puts stock back only into those.
    for wh in {warehouse, *per_line.values()} - {None}:
        if isinstance(actor, Actor) and not can(actor, "orders.manage_returns", wh):
            raise Forbidden(_("This warehouse is outside your scope."), code="out_of_scope",
                            fields={"warehouse": [_("Choose one of your warehouses.")]})  # fmt: skip

    def receive(locked: Return, order: Order) -> dict:
        rlines = list(ReturnLine.objects.for_shop(shop).filter(ret=locked).select_related("line__sku"))
        unknown = set(per_line) - {rl.pk for rl in rlines}
        if unknown:
            raise ValidationFailed(_("Unknown return line."), fields={"lines": [_("Not a line of this return.")]})
        done = {}
        for rl in rlines:
            wh = per_line.get(rl.pk, warehouse)
            if wh is not None:
                catalog.stock_adjust(actor=_stock_actor(actor), shop=shop, sku=rl.line.sku, warehouse=wh,
                                     delta=rl.quantity, reason="return", reference=f"return:{locked.pk}",
                                     note=f"order {order.number}")  # fmt: skip
            rl.disposition = ReturnLine.Disposition.RESTOCK if wh is not None else ReturnLine.Disposition.WRITE_OFF
            rl.warehouse = wh
            OrderLine.objects.for_shop(shop).filter(pk=rl.line_id).update(
                returned_quantity=F("returned_quantity") + rl.quantity
            )
            done[str(rl.line_id)] = {"quantity": rl.quantity, "disposition": rl.disposition,
                                     "warehouse": wh.pk if wh else None}  # fmt: skip
        ReturnLine.objects.for_shop(shop).bulk_update(rlines, ["disposition", "warehouse"])
        return {"lines": done}

    return _return_transition(shop=shop, actor=actor, ret=ret, allowed_from=[RState.APPROVED], to=RState.RECEIVED,
                              kind="received", work=receive)  # fmt: skip


def return_exchange(*, actor, ret: Return, note: str = "", shop=None) -> Return:
    """The buyer gets replacement goods instead of money (sent as a new order by the storefront)."""
    return _return_transition(shop=shop, actor=actor, ret=ret, allowed_from=[RState.RECEIVED], to=RState.EXCHANGED,
                              kind="exchanged", resolution=note)  # fmt: skip


def return_refund(*, actor, ret: Return, amount=None, reason: str = "", shop=None) -> tuple[Return, Refund]:
    """Refund a received return (by default the value of its lines, capped at what is still refundable)."""
    shop = _shop_of(actor, shop)
    holder: dict[str, Refund] = {}

    def refund(locked: Return, order: Order) -> dict:
        value = sum((rl.line.unit_price * rl.quantity for rl in ReturnLine.objects.for_shop(shop)
                     .filter(ret=locked).select_related("line")), Decimal("0.00"))  # fmt: skip
        due = _money(amount, "amount", positive=True) if amount not in (None, "") else min(value, order.refundable)
        holder["refund"] = _refund(shop=shop, actor=actor, order=order, amount=due,
                                   reason=reason or _("Return %(n)s") % {"n": locked.pk}, ret=locked)  # fmt: skip
        return {"refund": holder["refund"].pk, "amount": str(due)}

    ret = _return_transition(shop=shop, actor=actor, ret=ret, allowed_from=[RState.RECEIVED], to=RState.REFUNDED,
                             kind="refunded", work=refund)  # fmt: skip
    return ret, holder["refund"]


# ---------------------------------------------------------------------------------------------
# refunds


def _refund(*, shop, actor, order: Order, amount: Decimal, reason: str, ret: Return | None = None) -> Refund:
    """Inside a transaction that holds the order's row lock."""
    if amount <= 0:
        raise ValidationFailed(_("Must be more than zero."), fields={"amount": [_("Must be more than zero.")]})
    if amount > order.refundable:
        raise Conflict(
            _("At most %(n)s can still be refunded on this order.") % {"n": order.refundable},
            code="refund_exceeds_paid", fields={"amount": [_("At most %(n)s.") % {"n": order.refundable}]},
        )  # fmt: skip
    refund = Refund.objects.for_shop(shop).create(shop=shop, order=order, ret=ret, amount=amount, reason=reason[:500],
                                                  actor=_user(actor))  # fmt: skip
    order.refunded_total += amount
    order.save(update_fields=["refunded_total", "updated_at"])
    _event(order, kind="refunded", actor=actor, message=reason, data={"refund": refund.pk, "amount": str(amount)})
    return refund


def refund_create(*, actor, order: Order, amount, reason: str, shop=None) -> Refund:
    """Give money back: full or partial, never more than paid minus already refunded (the order row
    lock makes concurrent refunds queue, and a check constraint backs the rule)."""
    shop = _shop_of(actor, shop)
    amount = _money(amount, "amount", positive=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason."), fields={"reason": [_("This field is required.")]})
    with transaction.atomic():
        order = _locked(shop, order)
        _ensure_in_scope(actor, order)
        before = order.refunded_total
        refund = _refund(shop=shop, actor=actor, order=order, amount=amount, reason=reason)
        audit_record(shop=shop, actor=actor, action="refund.created", target=refund,
                     changes={"amount": [None, str(amount)], "order": [None, order.pk],
                              "refunded_total": [str(before), str(order.refunded_total)]})  # fmt: skip
    return refund


# ---------------------------------------------------------------------------------------------
# exports


def export_create(*, actor: Actor, fmt: str, filters: dict | None = None) -> ExportJob:
    """Queue an order export (CSV or XLSX); the worker builds it with the creator's masking."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed(_("Choose CSV or XLSX."), fields={"format": [_("Choose csv or xlsx.")]})
    shop = actor.shop
    keep = {k: str(v) for k, v in (filters or {}).items() if k in EXPORT_FILTER_KEYS and v not in (None, "")}
    with transaction.atomic():
        job = ExportJob.objects.for_shop(shop).create(
            shop=shop, fmt=fmt, filters=keep, created_by=actor.user,
            contact_visible=can(actor, "orders.view_buyer_contact"),
        )  # fmt: skip
        audit_record(shop=shop, actor=actor, action="order_export.created", target=job,
                     changes=diff({}, {"format": fmt, "filters": keep}))  # fmt: skip
        from orders.tasks import build_export

        transaction.on_commit(lambda: build_export.delay(shop.pk, job.pk))
    return job


EXPORT_FILTER_KEYS = ("state", "date_from", "date_to", "delivery_method", "overdue", "warehouse", "search")


EXPORT_STALE_AFTER = timedelta(minutes=30)


def export_build(*, shop_id: int, job_id: int) -> ExportJob:
    """Build the export file (idempotent: a finished job is left alone)."""
    from accounts.models import Shop
    from backoffice.authz import load_actor
    from orders.exports import write_export

    shop = Shop.objects.get(pk=shop_id)
    job = job_claim(ExportJob, shop_id=shop_id, job_id=job_id, stale_after=EXPORT_STALE_AFTER)
    if job is None:  # finished, or another worker is on it
        return ExportJob.objects.for_shop(shop).get(pk=job_id)
    actor = load_actor(job.created_by, shop)
    with transaction.atomic():
        job = ExportJob.objects.for_shop(shop).select_for_update().get(pk=job_id)
        if actor is None or not can(actor, "orders.export"):
            job.status, job.message = ExportJob.Status.FAILED, "The member may no longer export orders."
        else:
            name, content, rows = write_export(shop=shop, actor=actor, fmt=job.fmt, filters=job.filters,
                                               contact_visible=job.contact_visible)  # fmt: skip
            job.file.save(name, content, save=False)
            job.rows, job.status = rows, ExportJob.Status.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["file", "rows", "status", "message", "finished_at"])
        audit_record(shop=shop, actor=None, action="order_export.finished", target=job,
                     changes={"status": [ExportJob.Status.RUNNING, job.status], "rows": [0, job.rows]})  # fmt: skip
    return job


# ---------------------------------------------------------------------------------------------
# deadlines

OVERDUE_BATCH = 5000


def _overdue_notices(shop, order_ids: list[int]) -> list:
    """One notice per active member who processes orders, counting the newly overdue orders they can see
    (a member limited to chosen warehouses hears only about orders allocated there)."""
    from accounts.selectors import actors_holding
    from accounts.services import Notice
    from orders.selectors import order_list

    notices = []
    for actor in actors_holding(shop=shop, action="orders.process"):
        mine = list(
            order_list(shop=shop, actor=actor, action="orders.process", prefetch=False)
            .filter(pk__in=order_ids)
            .order_by("ship_by")
            .values_list("number", flat=True)
        )
        if not mine:
            continue
        numbers = ", ".join(mine[:20]) + ("…" if len(mine) > 20 else "")
        notices.append(Notice(recipient=actor.user, kind="overdue_orders",
                              title=ngettext("%(n)s order is past its ship-by time",
                                             "%(n)s orders are past their ship-by time", len(mine)) % {"n": len(mine)},
                              body=numbers, url=f"/shops/{shop.pk}/orders/?overdue=1"))  # fmt: skip
    return notices


def overdue_scan(*, shop_id: int, now=None) -> dict[str, int]:
    """Put each open order that passed its ship-by time on its timeline, once, and tell the members who
    process orders. Safe to run again: an order is reported once; a big backlog goes in batches."""
    from accounts.models import Shop
    from accounts.services import notifications_send

    now = now or timezone.now()
    with transaction.atomic():
        # One scan per shop at a time (a second beat tick waits, then finds nothing to do).
        shop = Shop.objects.select_for_update().get(pk=shop_id)
        due = list(
            Order.objects.for_shop(shop)
            .filter(state__in=Order.OPEN_STATES, ship_by__lt=now, overdue_notified_at__isnull=True)
            .order_by("ship_by")
            .values_list("pk", "ship_by")[:OVERDUE_BATCH]
        )
        if not due:
            return {"overdue": 0, "notified": 0}
        ids = [pk for pk, _ship_by in due]
        Order.objects.for_shop(shop).filter(pk__in=ids).update(overdue_notified_at=now)
        OrderEvent.objects.for_shop(shop).bulk_create(
            [OrderEvent(shop=shop, order_id=pk, kind="overdue", data={"ship_by": ship_by.isoformat()}, created_at=now)
             for pk, ship_by in due]
        )  # fmt: skip
        with translation.override(shop.language):  # written by a worker: in the shop's language
            notices = _overdue_notices(shop, ids)
        notifications_send(shop=shop, notices=notices)
    return {"overdue": len(ids), "notified": len(notices)}
