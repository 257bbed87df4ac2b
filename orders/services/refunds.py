"""Refunds: money back to the buyer, full or partial, never more than paid minus already refunded."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from backoffice import events
from backoffice.audit import audit_record
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, ValidationFailed
from backoffice.money import parse_money
from orders.models import Order, Refund, Return
from orders.services._common import locked_order, order_event


def add_refund(*, actor: Actor, order: Order, amount: Decimal, reason: str, ret: Return | None = None) -> Refund:
    """The refund row and its timeline event, inside a transaction that holds the order's row lock
    (``refund_create``, ``return_refund``: each checks its action and writes its audit entry)."""
    # Nothing left to refund is a conflict with the order's state (409), also when the amount was not
    # given but worked out from it (a return's default refund comes out as zero): not a bad amount (400).
    if amount > order.refundable or order.refundable <= 0:
        raise Conflict(
            _("At most %(n)s can still be refunded on this order.") % {"n": order.refundable},
            code="refund_exceeds_paid", fields={"amount": [_("At most %(n)s.") % {"n": order.refundable}]},
        )  # fmt: skip
    if amount <= 0:
        raise ValidationFailed(_("Must be more than zero."), fields={"amount": [_("Must be more than zero.")]})
    refund = Refund.objects.for_shop(order.shop_id).create(shop_id=order.shop_id, order=order, ret=ret, amount=amount,
                                                           reason=reason[:500], actor=actor.audit_user)  # fmt: skip
    order.refunded_total += amount
    order.save(update_fields=["refunded_total", "updated_at"])
    order_event(order, kind="refunded", actor=actor, message=reason, data={"refund": refund.pk, "amount": str(amount)})
    events.publish("order.refunded", shop=actor.shop, order=order, refund=refund)  # payouts books the debit
    return refund


def refund_create(*, actor: Actor, order: Order, amount, reason: str) -> Refund:
    """Give money back: full or partial, never more than paid minus already refunded (the order row
    lock makes concurrent refunds queue, and a check constraint backs the rule). Platform staff refund
    on the marketplace's behalf as the system (the admin's action)."""
    require(actor, "orders.refund", order)
    amount = parse_money(amount, "amount", positive=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason."), fields={"reason": [_("This field is required.")]})
    with transaction.atomic():
        order = locked_order(actor, order)
        before = order.refunded_total
        refund = add_refund(actor=actor, order=order, amount=amount, reason=reason)
        audit_record(shop=actor.shop, actor=actor, action="refund.created", target=refund,
                     changes={"amount": [None, str(amount)], "order": [None, order.pk],
                              "refunded_total": [str(before), str(order.refunded_total)]})  # fmt: skip
    return refund
