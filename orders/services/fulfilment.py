"""Fulfilment: the order state machine (confirm, pack, ship, deliver, cancel), one order or many, and
the carrier's tracking events.

Every move locks the order row (``SELECT ... FOR UPDATE``) and re-reads its state, so of two racing
moves exactly one wins; the loser answers 409. Stock moves through the catalog services inside the
same transaction (ship on hand-over, release on cancel)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import events, pricing
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from catalog import services as catalog
from orders import selectors
from orders.models import ORDER_STEPS, Carrier, Order, OrderEvent, OrderLine, TrackingStatus
from orders.services._common import (
    allocations_of,
    illegal,
    lock_tracking_numbers,
    locked_order,
    order_event,
    order_step,
    platform_only,
    stock_actor,
)
from orders.services.carriers import carrier_for_pack

State = Order.State


def order_confirm(*, actor: Actor, order: Order) -> Order:
    """The seller has checked the order: awaiting_confirmation → awaiting_packaging."""
    return order_step(actor=actor, order=order, step="confirm", verb=_("confirm"), kind="confirmed",
                      fields={"confirmed_at": timezone.now()})  # fmt: skip


def _clean_packages(actor: Actor, order: Order, packages, carrier: str) -> list[dict]:
    """An optional split into several parcels: every unit of every line in exactly one package."""
    if not packages:
        return []
    if not isinstance(packages, list):
        raise ValidationFailed(_("Give packages as a list."), fields={"packages": [_("Not a list.")]})
    lines = {line.pk: line.quantity for line in OrderLine.objects.for_shop(order.shop_id).filter(order=order)}
    packed: dict[int, int] = dict.fromkeys(lines, 0)
    out = []
    seen: set[tuple[str, str]] = set()
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
        package_carrier = carrier
        if str(pkg.get("carrier") or "").strip():  # another carrier for this parcel: one the shop's list knows
            _ref, package_carrier = carrier_for_pack(
                actor=actor, value=str(pkg["carrier"]), field=f"packages.{i}.carrier"
            )
        package = {"carrier": package_carrier[:80], "tracking_number": tracking[:80], "lines": items}
        key = selectors.tracking_key(package["carrier"], package["tracking_number"])
        if key in seen:
            raise ValidationFailed(_("Each package needs its own tracking number."),
                                   fields={f"packages.{i}.tracking_number": [_("Each package needs its own tracking number.")]})  # fmt: skip
        seen.add(key)
        out.append(package)
    if packed != lines:
        raise ValidationFailed(_("The packages must hold every unit of every line exactly once."),
                               fields={"packages": [_("Quantities do not add up to the order.")]})  # fmt: skip
    return out


def order_pack(*, actor: Actor, order: Order, carrier: Carrier | str, tracking_number: str,
               packages: list | None = None) -> Order:  # fmt: skip
    """Packed and labelled: awaiting_packaging → awaiting_deliver, with carrier and tracking number
    (and optionally a split into several packages). ``carrier`` is one of the shop's carriers, or its
    name or code; a shop without a carrier list names it in free text (``carrier_for_pack``)."""
    require(actor, ORDER_STEPS["pack"].action, order)
    tracking_number = (tracking_number or "").strip()
    errors = {}
    if not (carrier if isinstance(carrier, Carrier) else (carrier or "").strip()):
        errors["carrier"] = [_("This field is required.")]
    if not tracking_number:
        errors["tracking_number"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Give the carrier and the tracking number."), fields=errors)
    carrier_ref, carrier = carrier_for_pack(actor=actor, value=carrier)
    tracking_number = tracking_number[:80]
    split = _clean_packages(actor, order, packages, carrier) if packages else []
    # Every number this order will carry, by the field that named it (the main one first).
    numbers = {"tracking_number": (carrier, tracking_number)}
    for i, package in enumerate(split):
        numbers.setdefault(f"packages.{i}.tracking_number", (package["carrier"], package["tracking_number"]))

    def tracking_free(locked: Order) -> None:
        # Under the order's row lock and the shop+carrier lock: no other pack can take a number meanwhile.
        lock_tracking_numbers(locked.shop_id, [c for c, _t in numbers.values()])
        taken = selectors.tracking_numbers_taken(shop=actor.shop, pairs=numbers.values(), exclude_order_id=locked.pk)
        for field, (c, t) in numbers.items():
            if selectors.tracking_key(c, t) in taken:
                raise tracking_number_taken(field, carrier=c, tracking_number=t)

    return order_step(actor=actor, order=order, step="pack", verb=_("pack"), kind="packed", before_save=tracking_free,
                      fields={"carrier": carrier, "carrier_ref_id": carrier_ref.pk if carrier_ref else None, "tracking_number": tracking_number,
                              "packages": split, "packed_at": timezone.now()})  # fmt: skip


def order_tracking_correct(*, actor: Actor, order: Order, tracking_number: str) -> Order:
    """Correct a mistyped tracking number after packing, while the parcel is awaiting hand-over or on its way
    (not once delivered): the same carrier, a number no other live order of the shop has with it. The
    timeline and the audit entry keep the old and the new number."""
    step = ORDER_STEPS["correct_tracking"]
    require(actor, step.action, order)
    tracking_number = (tracking_number or "").strip()[:80]
    if not tracking_number:
        raise ValidationFailed(
            _("Give the tracking number."), fields={"tracking_number": [_("This field is required.")]}
        )
    with transaction.atomic():
        order = locked_order(actor, order)
        if order.state not in step.sources:
            raise illegal(order, _("correct the tracking number of"))
        old = order.tracking_number
        if selectors.tracking_key(order.carrier, old) == selectors.tracking_key(order.carrier, tracking_number):
            message = _("This is already the order's tracking number.")
            raise ValidationFailed(message, fields={"tracking_number": [message]})
        lock_tracking_numbers(order.shop_id, [order.carrier])
        pairs = [(order.carrier, tracking_number)]
        if selectors.tracking_numbers_taken(shop=actor.shop, pairs=pairs, exclude_order_id=order.pk):
            raise tracking_number_taken("tracking_number", carrier=order.carrier, tracking_number=tracking_number)
        order.tracking_number = tracking_number
        order.save(update_fields=["tracking_number", "updated_at"])
        changes = {"tracking_number": [old, tracking_number]}
        order_event(order, kind="tracking_corrected", actor=actor, data=changes, message=f"{old} → {tracking_number}")
        audit_record(shop=actor.shop, actor=actor, action="order.tracking_corrected", target=order, changes=changes)
    return order


def tracking_number_taken(field: str, *, carrier: str, tracking_number: str) -> Conflict:
    """The refusal of a tracking number another live order of the shop already has with this carrier."""
    message = _("Tracking number %(number)s is already used with carrier %(carrier)s.") % {
        "number": tracking_number, "carrier": carrier}  # fmt: skip
    return Conflict(message, code="tracking_number_taken", fields={field: [message]})


def _each_order(*, actor: Actor, items: Sequence[dict], apply: Callable[[Order, dict], Any]) -> dict[str, Any]:
    """Apply one move per order the actor may process, each in its own transaction; a refusal is
    reported, not raised."""
    visible = selectors.order_list(shop=actor.shop, actor=actor, action="orders.process", prefetch=False)
    by_id = {o.pk: o for o in visible.filter(pk__in=[item["id"] for item in items])}
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


def bulk_refusal(*, result: dict[str, Any], summary: str, fields: dict[str, list[str]]) -> ServiceError | None:
    """What a bulk move answers when it did nothing and something was refused (the API and the page raise
    it, so neither reads like success): 404 when no id named an order the member may process (another
    shop's, out of scope), else 409 with the failures' shared code (``nothing_done`` when they differ).
    None when something was done or nothing was asked: the caller reports the result."""
    failed = result["failed"]
    if not failed or result["done"]:
        return None
    codes = {failure["code"] for failure in failed.values()}
    if codes == {"not_found"}:
        return NotFound(summary, fields=fields)
    return Conflict(summary, code=codes.pop() if len(codes) == 1 else "nothing_done", fields=fields)


def order_confirm_many(*, actor: Actor, ids: Sequence[int]) -> dict[str, Any]:
    """Bulk confirm the actor's orders with these ids: ``{"done": [...], "failed": {id: error}}``."""
    require(actor, ORDER_STEPS["confirm"].action)
    items = [{"id": pk} for pk in dict.fromkeys(ids)]
    return _each_order(actor=actor, items=items, apply=lambda order, _item: order_confirm(actor=actor, order=order))


def order_pack_many(*, actor: Actor, items: Sequence[dict]) -> dict[str, Any]:
    """Bulk pack: ``items`` are ``{"id", "carrier", "tracking_number"}``; same answer as ``order_confirm_many``.
    A carrier the shop's list does not know is refused before anything is packed (400 on
    ``orders.<i>.carrier``): it is the request that is wrong, not one order."""
    require(actor, ORDER_STEPS["pack"].action)
    items = [{**item, "carrier": carrier_for_pack(actor=actor, value=item["carrier"], field=f"orders.{i}.carrier")[0]
              or item["carrier"]} for i, item in enumerate(items)]  # fmt: skip
    return _each_order(
        actor=actor,
        items=items,
        apply=lambda order, item: order_pack(
            actor=actor, order=order, carrier=item["carrier"], tracking_number=item["tracking_number"]
        ),
    )


def order_ship(*, actor: Actor, order: Order) -> Order:
    """Handed over to the carrier: awaiting_deliver → delivering. The reserved units leave stock."""

    def ship(locked: Order) -> None:
        catalog.stock_ship(actor=stock_actor(actor), allocations=allocations_of(locked),
                           reference=f"order:{locked.number}")  # fmt: skip

    return order_step(actor=actor, order=order, step="ship", verb=_("ship"), kind="shipped",
                      fields={"shipped_at": timezone.now()}, before_save=ship)  # fmt: skip


def order_deliver(*, actor: Actor, order: Order, message: str = "") -> Order:
    """The buyer has the parcel: delivering → delivered."""
    return order_step(actor=actor, order=order, step="deliver", verb=_("deliver"), kind="delivered",
                      fields={"delivered_at": timezone.now()}, message=message)  # fmt: skip


def order_cancel(*, actor: Actor, order: Order, reason: str, comment: str = "") -> Order:
    """Cancel before hand-over, with a reason code; the reserved units become available again."""
    require(actor, ORDER_STEPS["cancel"].action, order)
    comment = (comment or "").strip()
    if reason not in Order.CancelReason.values:
        raise ValidationFailed(_("Choose a reason."), fields={"reason": [
            _("Choose one of: %(v)s") % {"v": ", ".join(Order.CancelReason.values)}]})  # fmt: skip
    if reason == Order.CancelReason.OTHER and not comment:
        raise ValidationFailed(_("Say why."), fields={"comment": [_("Required when the reason is 'other'.")]})

    def release(locked: Order) -> None:
        # Usage, budget and codes the order's promotions consumed go back first: promotion rows are locked
        # before stock rows, as at intake, so a cancel and an intake never wait on each other in a cycle.
        pricing.order_cancelled(shop=actor.shop, order=locked)
        catalog.stock_release(actor=stock_actor(actor), allocations=allocations_of(locked),
                              reference=f"order:{locked.number}")  # fmt: skip

    return order_step(actor=actor, order=order, step="cancel", verb=_("cancel"), kind="cancelled",
                      before_save=release, message=comment,
                      fields={"cancel_reason": reason, "cancel_comment": comment[:500],
                              "cancelled_at": timezone.now()})  # fmt: skip


TRACKING_STATUSES = tuple(TrackingStatus.values)


def order_tracking_event(*, actor: Actor, order: Order, status: str, message: str = "", location: str = "",
                         occurred_at=None) -> OrderEvent:  # fmt: skip
    """A carrier's tracking event, pushed by the integration API (as the system), joins the timeline.
    ``delivered`` on an order that is delivering also delivers it."""
    platform_only(actor, ORDER_STEPS["track"].action)
    if status not in TRACKING_STATUSES:
        raise ValidationFailed(_("Unknown tracking status."), fields={"status": [
            _("Choose one of: %(v)s") % {"v": ", ".join(TRACKING_STATUSES)}]})  # fmt: skip
    at = occurred_at or timezone.now()
    with transaction.atomic():
        order = locked_order(actor, order)
        if order.state not in ORDER_STEPS["track"].sources:
            raise illegal(order, _("track"))
        event = order_event(order, kind="tracking", actor=actor, message=message,
                            data={"status": status, "location": location[:200], "occurred_at": at.isoformat()})  # fmt: skip
        before = {"state": order.state}
        if status == "delivered" and order.state == State.DELIVERING:
            order.state = State.DELIVERED
            order.delivered_at = at
            order.save(update_fields=["state", "delivered_at", "updated_at"])
            order_event(order, kind="delivered", actor=actor, from_state=State.DELIVERING, to_state=State.DELIVERED,
                        message=_("Delivered (carrier)"))  # fmt: skip
            events.publish("order.delivered", shop=actor.shop, order=order)
        audit_record(shop=actor.shop, actor=actor, action="order.tracking_event", target=order,
                     changes={**diff(before, {"state": order.state}), "tracking": [None, status]})  # fmt: skip
    return event
