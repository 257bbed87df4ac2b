"""Returns: requested → approved | rejected → received → refunded | exchanged, partial per line.

A return is checked on its order (the order's action and warehouse scope); every write locks the order
row first, then the return, like every other order write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can, in_shop, require
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from backoffice.money import parse_money
from catalog import services as catalog
from orders.models import ORDER_STEPS, RETURN_STEPS, Order, OrderLine, Refund, Return, ReturnLine
from orders.services._common import locked_order, order_event, stock_actor
from orders.services.refunds import add_refund

if TYPE_CHECKING:
    from catalog.models import Warehouse

RState = Return.State
CENT = Decimal("0.01")


def line_paid(line: OrderLine) -> Decimal:
    """What the buyer paid for a line: list price × quantity − the promotions' discount on it (0 for a gift)."""
    return line.unit_price * line.quantity - line.discount


def units_refund(*, paid: Decimal, quantity: int, before: int, units: int) -> Decimal:
    """What ``units`` more returned units of a line refund when ``before`` of its units were refunded already.

    Each unit refunds the net price paid (``paid / quantity``), in whole cents: the first ``n`` units of a line
    refund ``floor(paid × n / quantity)`` together, so the cents that do not divide go to the last unit, and the
    line's units refund exactly ``paid`` however they come back (one return or several, in any split)."""

    def first(n: int) -> Decimal:
        return (paid * n / quantity).quantize(CENT, rounding=ROUND_FLOOR)

    return first(before + units) - first(before)


def return_value(*, ret: Return) -> Decimal:
    """What a return refunds by default: per line, the net price paid for its units (``units_refund``), counting
    the units of the line earlier refunded returns gave back. Read under the order's lock (``return_refund``)."""
    rlines = list(ReturnLine.objects.for_shop(ret.shop_id).filter(ret=ret).select_related("line"))
    earlier = dict(
        ReturnLine.objects.for_shop(ret.shop_id)
        .filter(ret__order_id=ret.order_id, ret__state=RState.REFUNDED, line_id__in=[rl.line_id for rl in rlines])
        .exclude(ret=ret)
        .values("line_id")
        .annotate(n=Sum("quantity"))
        .values_list("line_id", "n")
    )
    value = Decimal("0.00")
    for rl in rlines:
        before = earlier.get(rl.line_id, 0)
        value += units_refund(paid=line_paid(rl.line), quantity=rl.line.quantity, before=before, units=rl.quantity)
        earlier[rl.line_id] = before + rl.quantity  # one line twice in a return: the second after the first
    return value


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


def return_request(*, actor: Actor, order: Order, lines: Sequence[dict], reason: str) -> Return:
    """A return of some units of some lines (``[{"line": id, "quantity": n}]``) of a delivered order
    (a member's, or the buyer's through the integration API as the system)."""
    require(actor, ORDER_STEPS["return"].action, order)
    shop = actor.shop
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason."), fields={"reason": [_("This field is required.")]})
    if not lines:
        raise ValidationFailed(_("Choose at least one line."), fields={"lines": [_("Empty.")]})
    with transaction.atomic():
        order = locked_order(actor, order)
        if order.state not in ORDER_STEPS["return"].sources:
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
        ret = Return.objects.for_shop(shop).create(shop=shop, order=order, reason=reason[:500],
                                                   created_by=actor.audit_user)  # fmt: skip
        ReturnLine.objects.for_shop(shop).bulk_create(
            [ReturnLine(shop=shop, ret=ret, line_id=line_id, quantity=qty) for line_id, qty in wanted.items()]
        )
        order_event(order, kind="return_requested", actor=actor, message=reason,
                    data={"return": ret.pk, "lines": {str(k): v for k, v in wanted.items()}})  # fmt: skip
        audit_record(shop=shop, actor=actor, action="return.requested", target=ret,
                     changes=diff({}, {"state": ret.state, "order": order.pk, "lines": wanted}))  # fmt: skip
    return ret


def _return_step(*, actor: Actor, ret: Return, step: str, resolution: str = "",
                 work: Callable[[Return, Order], dict] | None = None) -> Return:  # fmt: skip
    """One move of the return state machine (``RETURN_STEPS[step]``), checked on the return's order."""
    move = RETURN_STEPS[step]
    in_shop(actor, ret)
    shop = actor.shop
    require(actor, move.action, ret.order)
    with transaction.atomic():
        # Lock the order first (the same order as every other order write), then the return.
        order = locked_order(actor, ret.order)
        ret = Return.objects.for_shop(shop).select_for_update().get(pk=ret.pk)
        if ret.state not in move.sources:
            raise Conflict(_("This return is %(state)s: not possible now.") % {"state": ret.get_state_display().lower()},
                           code="invalid_transition")  # fmt: skip
        extra = work(ret, order) if work is not None else {}
        before = {"state": ret.state, "resolution": ret.resolution}
        ret.state = move.target
        if resolution:
            ret.resolution = resolution[:500]
        ret.save(update_fields=["state", "resolution", "updated_at"])
        kind = f"return_{move.target}"
        order_event(order, kind=kind, actor=actor, message=resolution,
                    data={"return": ret.pk, "from": before["state"], "to": move.target, **(extra or {})})  # fmt: skip
        audit_record(shop=shop, actor=actor, action=f"return.{move.target}", target=ret,
                     changes={**diff(before, {"state": move.target, "resolution": ret.resolution}),
                              **({"details": [None, extra]} if extra else {})})  # fmt: skip
    return ret


def return_approve(*, actor: Actor, ret: Return, note: str = "") -> Return:
    return _return_step(actor=actor, ret=ret, step="approve", resolution=note)


def return_reject(*, actor: Actor, ret: Return, note: str) -> Return:
    require(actor, RETURN_STEPS["reject"].action)
    if not (note or "").strip():
        raise ValidationFailed(_("Say why the return is rejected."), fields={"note": [_("This field is required.")]})
    return _return_step(actor=actor, ret=ret, step="reject", resolution=note.strip())


def return_receive(*, actor: Actor, ret: Return, warehouse: Warehouse | None = None,
                   lines: Sequence[dict] | None = None) -> Return:  # fmt: skip
    """The parcel is back. Each line goes back to ``on_hand`` of a warehouse, or is written off
    (``warehouse=None``); ``lines`` (``[{"id": return line id, "warehouse": Warehouse | None}]``) may
    choose per line. A member limited to chosen warehouses puts stock back only into those."""
    action = RETURN_STEPS["receive"].action
    require(actor, action)
    shop = actor.shop
    in_shop(actor, warehouse)
    per_line = {}
    for i, item in enumerate(lines or []):
        if not isinstance(item, dict) or "id" not in item:
            raise ValidationFailed(_("Bad line."), fields={f"lines.{i}": [_("Give the return line id.")]})
        in_shop(actor, item.get("warehouse"))
        per_line[item["id"]] = item.get("warehouse")
    for wh in {warehouse, *per_line.values()} - {None}:
        if not can(actor, action, wh):
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
                catalog.stock_adjust(actor=stock_actor(actor), sku=rl.line.sku, warehouse=wh, delta=rl.quantity,
                                     reason="return", reference=f"return:{locked.pk}",
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

    return _return_step(actor=actor, ret=ret, step="receive", work=receive)


def return_exchange(*, actor: Actor, ret: Return, note: str = "") -> Return:
    """The buyer gets replacement goods instead of money (sent as a new order by the storefront)."""
    return _return_step(actor=actor, ret=ret, step="exchange", resolution=note)


def return_refund(*, actor: Actor, ret: Return, amount=None, reason: str = "") -> tuple[Return, Refund]:
    """Refund a received return (by default what its units cost the buyer, ``return_value``: the net price of a
    discounted line, nothing for a gift; capped at what is still refundable)."""
    require(actor, RETURN_STEPS["refund"].action)
    due_given = parse_money(amount, "amount", positive=True, optional=True)
    holder: dict[str, Refund] = {}

    def refund(locked: Return, order: Order) -> dict:
        # The net price paid, not the list price: a discounted line refunds what its units cost the buyer.
        value = return_value(ret=locked)
        due = due_given if due_given is not None else min(value, order.refundable)
        holder["refund"] = add_refund(actor=actor, order=order, amount=due,
                                      reason=reason or _("Return %(n)s") % {"n": locked.pk}, ret=locked)  # fmt: skip
        return {"refund": holder["refund"].pk, "amount": str(due)}

    ret = _return_step(actor=actor, ret=ret, step="refund", work=refund)
    return ret, holder["refund"]
