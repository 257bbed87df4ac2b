"""Withdrawals with two-person approval, and the shop's payout settings.

State machine (each transition once, under the withdrawal's row lock; any other is 409 naming the state)::

    request ──(amount > threshold)──> awaiting_approval ──second approve──> requested
       └────────────────────────────────────────────────────────────────────────> requested
    requested ──platform approve──> approved ──platform pay──> paid
    requested | approved ──platform fail──> failed
    awaiting_approval | requested ──cancel (the requester or the owner)──> cancelled

Money (``ledger.post``, keys ``(withdrawal, "<id>:<step>")``, so a retried step books nothing twice):

- request: ``available −a, in_transit +a`` (``<id>:request``) at once, whatever the approval still needed: two
  requests can never spend the same money; above ``available`` → 409 ``insufficient_funds``, nothing saved;
- paid: ``in_transit −a, payouts +a`` (``<id>:paid``);
- failed / cancelled: ``in_transit −a, available +a`` (``<id>:failed`` / ``<id>:cancelled``).

Who: requesting needs ``payouts.withdraw`` (owner-only unless granted; the caller — API or page — also asks
for a fresh re-authentication, ``backoffice.reauth``). Above the shop's ``second_approval_above`` another member
holding ``payouts.approve`` must approve before the platform sees it; the requester never can (403
``own_withdrawal``). Cancelling needs ``payouts.withdraw`` and is the requester's or the owner's. The platform
steps are platform staff's (the platform API, the admin): they act as ``system_actor(shop, user=staff)``.

Locks: the withdrawal row first, then the shop's balance rows (``ledger.book``): the ledger's documented order.
Status changes tell the requester and the members holding ``payouts.view`` (kind ``withdrawal_status``, on
commit); a request waiting for a second approval tells the members holding ``payouts.approve``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import selectors as accounts_selectors
from accounts import services as accounts
from backoffice.audit import audit_record
from backoffice.authz import Actor, require, system_actor
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from backoffice.money import parse_money
from payouts.models import Account, Kind, PayoutSettings, Withdrawal
from payouts.services.ledger import book, insufficient_funds

if TYPE_CHECKING:
    from accounts.models import Shop

A = Account
S = Withdrawal.Status
WITHDRAW, APPROVE, VIEW = "payouts.withdraw", "payouts.approve", "payouts.view"
NOTICE_KIND = "withdrawal_status"
# The platform's decision on a withdrawal (the admin's actions and the platform API ask it of staff).
PLATFORM_PERMISSION = "payouts.change_withdrawal"


# -- helpers -------------------------------------------------------------------------------------------------
def _locked(withdrawal: Withdrawal) -> Withdrawal:
    """The withdrawal's row, locked for this transaction and read again (another request may have moved it)."""
    return Withdrawal.objects.for_shop(withdrawal.shop_id).select_for_update().get(pk=withdrawal.pk)


def _conflict(w: Withdrawal) -> Conflict:
    return Conflict(
        _("This withdrawal is %(status)s: it can no longer be changed this way.") % {"status": w.get_status_display()},
        code=f"withdrawal_{w.status}",
    )


def _expect(w: Withdrawal, *allowed: str) -> None:
    if w.status not in allowed:
        raise _conflict(w)


def _move(shop_id: int, w: Withdrawal, step: str, legs: list[tuple[str, Decimal]]) -> None:
    refs = {"withdrawal": w.pk}
    with book(shop_id) as b:
        txn = b.post(kind=Kind.WITHDRAWAL, key=f"{w.pk}:{step}", memo=f"withdrawal {w.pk} {step}",
                     entries=[(account, amount, refs) for account, amount in legs])  # fmt: skip
    if txn is None:  # the row lock makes each step run once: a booked key means the state machine was bypassed
        raise _conflict(w)


def _audit(actor: Actor, w: Withdrawal, verb: str, before: str | None, **extra: Any) -> None:
    changes: dict[str, list[Any]] = {"status": [before, w.status]}
    if before is None:
        # Named apart from orders' refund "amount": the audit log hides it from readers without payouts.view.
        changes["withdrawal_amount"] = [None, str(w.amount)]
    for key, value in extra.items():
        changes[key] = [None, value]
    audit_record(shop=actor.shop, actor=actor, action=f"withdrawal.{verb}", target=w, changes=changes)


def _notify(shop: Shop, w: Withdrawal) -> None:
    """On commit: tell the requester and the members holding ``payouts.view`` the new status (and, when a second
    approval is needed, the members holding ``payouts.approve`` other than the requester)."""

    def send() -> None:
        url = reverse("payouts:withdrawal_detail", args=[shop.pk, w.pk])
        viewers = accounts_selectors.actors_holding(shop=shop, action=VIEW)
        with translation.override(shop.language):
            amount = f"{w.amount} {shop.currency}"
            if w.status == S.AWAITING_APPROVAL:
                title = _("Withdrawal of %(amount)s needs your approval") % {"amount": amount}
                body = _("Another member holding the approval right must approve it before the marketplace pays it.")
                approvers = accounts_selectors.actors_holding(shop=shop, action=APPROVE)
                recipients = [a.user for a in approvers if a.user.pk != w.requested_by_id]
            else:
                title = _("Withdrawal of %(amount)s: %(status)s") % {"amount": amount, "status": w.get_status_display()}
                body = w.failure_reason if w.status == S.FAILED else ""
                recipients = [a.user for a in viewers]
            if w.status != S.AWAITING_APPROVAL and all(u.pk != w.requested_by_id for u in recipients):
                recipients.append(w.requested_by)  # their own request: told even without payouts.view
        notices = [accounts.Notice(recipient=u, kind=NOTICE_KIND, title=title, body=body, url=url) for u in recipients]
        if notices:
            accounts.notifications_send(actor=system_actor(shop), notices=notices)

    transaction.on_commit(send)


def _platform(platform_user: Any, withdrawal: Withdrawal) -> Actor:
    """The shop's system actor for a platform staff user (active staff holding ``payouts.change_withdrawal``)."""
    if not isinstance(withdrawal, Withdrawal):
        raise TypeError(f"a Withdrawal is needed, not {type(withdrawal).__name__}")
    user = platform_user
    if not (user is not None and user.is_authenticated and user.is_active and user.is_staff
            and user.has_perm(PLATFORM_PERMISSION)):  # fmt: skip
        raise Forbidden(_("Only the marketplace's payout staff may decide on withdrawals."), code="platform_only")
    return system_actor(withdrawal.shop, user=user)


def _money(value: Any, field: str, **kwargs: Any) -> Decimal | None:
    """``parse_money``, with a huge exponent ("1e400") a 400 too: ``parse_money`` quantizes before its limit check,
    and quantizing such a number raises ``InvalidOperation`` (reported to the kernel's owner)."""
    try:
        return parse_money(value, field, **kwargs)
    except InvalidOperation:
        message = _("Use at most 2 decimal places.")
        raise ValidationFailed(message, fields={field: [message]}) from None


# -- settings ------------------------------------------------------------------------------------------------
def payout_settings_update(*, actor: Actor, second_approval_above: Any) -> PayoutSettings:
    """Set the amount above which a withdrawal needs a second approver (None or "" turns it off)."""
    require(actor, WITHDRAW)
    threshold = _money(second_approval_above, "second_approval_above", optional=True)
    shop = actor.shop
    with transaction.atomic():
        row = PayoutSettings.objects.for_shop(shop).select_for_update().filter(shop=shop).first()
        if row is None:
            row, _created = PayoutSettings.objects.for_shop(shop).get_or_create(shop=shop)
            row = PayoutSettings.objects.for_shop(shop).select_for_update().get(pk=row.pk)
        before = row.second_approval_above
        row.second_approval_above = threshold
        row.updated_at = timezone.now()
        row.save(update_fields=["second_approval_above", "updated_at"])
        audit_record(shop=shop, actor=actor, action="payout_settings.update", target=row,
                     changes={"second_approval_above": [None if before is None else str(before),
                                                        None if threshold is None else str(threshold)]})  # fmt: skip
    return row


def _threshold(shop: Shop) -> Decimal | None:
    row = PayoutSettings.objects.for_shop(shop).filter(shop=shop).first()
    return row.second_approval_above if row else None


# -- the member's side ---------------------------------------------------------------------------------------
def withdrawal_request(*, actor: Actor, amount: Any) -> Withdrawal:
    """Take ``amount`` out of ``available`` into ``in_transit`` at once; the withdrawal is ``requested``, or
    ``awaiting_approval`` above the shop's threshold. 409 ``insufficient_funds`` above ``available``."""
    require(actor, WITHDRAW)
    value = _money(amount, "amount", positive=True)
    shop = actor.shop
    if not getattr(actor.user, "pk", None):
        raise Forbidden(_("A withdrawal is requested by a member."), code="member_only")
    threshold = _threshold(shop)
    status = S.AWAITING_APPROVAL if threshold is not None and value > threshold else S.REQUESTED
    now = timezone.now()
    with book(shop) as b:  # the balance rows locked: the funds check below cannot be overtaken
        if b.balance(A.AVAILABLE) < value:
            raise insufficient_funds()
        w = Withdrawal.objects.for_shop(shop).create(shop=shop, amount=value, status=status, requested_by=actor.user,
                                                     created_at=now, updated_at=now)  # fmt: skip
        refs = {"withdrawal": w.pk}
        b.post(kind=Kind.WITHDRAWAL, key=f"{w.pk}:request", memo=f"withdrawal {w.pk} request",
               entries=[(A.AVAILABLE, -value, refs), (A.IN_TRANSIT, value, refs)])  # fmt: skip
        _audit(actor, w, "request", None)
        _notify(shop, w)
    return w


def withdrawal_second_approve(*, actor: Actor, withdrawal: Withdrawal) -> Withdrawal:
    """A second member holding ``payouts.approve`` (never the requester) lets the platform see it."""
    require(actor, APPROVE, withdrawal)
    with transaction.atomic():
        w = _locked(withdrawal)
        _expect(w, S.AWAITING_APPROVAL)
        if actor.user is None or actor.user.pk == w.requested_by_id:
            raise Forbidden(_("The member who requested a withdrawal cannot approve it: another member must."),
                            code="own_withdrawal")  # fmt: skip
        w.status, w.second_approved_by, w.second_approved_at = S.REQUESTED, actor.user, timezone.now()
        w.updated_at = w.second_approved_at
        w.save(update_fields=["status", "second_approved_by", "second_approved_at", "updated_at"])
        _audit(actor, w, "second_approve", S.AWAITING_APPROVAL)
        _notify(actor.shop, w)
    return w


def withdrawal_cancel(*, actor: Actor, withdrawal: Withdrawal) -> Withdrawal:
    """The requester (or the owner) takes it back before the platform approved it: the money returns."""
    require(actor, WITHDRAW, withdrawal)
    with transaction.atomic():
        w = _locked(withdrawal)
        if not actor.is_system and not actor.is_owner and actor.user.pk != w.requested_by_id:
            raise Forbidden(_("Only the member who requested it, or the owner, may cancel a withdrawal."),
                            code="not_requester")  # fmt: skip
        _expect(w, S.AWAITING_APPROVAL, S.REQUESTED)
        before = w.status
        _move(w.shop_id, w, "cancelled", [(A.IN_TRANSIT, -w.amount), (A.AVAILABLE, w.amount)])
        w.status, w.cancelled_by, w.cancelled_at = S.CANCELLED, actor.audit_user, timezone.now()
        w.updated_at = w.cancelled_at
        w.save(update_fields=["status", "cancelled_by", "cancelled_at", "updated_at"])
        _audit(actor, w, "cancel", before)
        _notify(actor.shop, w)
    return w


# -- the platform's side -------------------------------------------------------------------------------------
def withdrawal_platform_approve(*, platform_user: Any, withdrawal: Withdrawal) -> Withdrawal:
    """Platform staff accept a ``requested`` withdrawal for payment."""
    actor = _platform(platform_user, withdrawal)
    with transaction.atomic():
        w = _locked(withdrawal)
        _expect(w, S.REQUESTED)
        w.status, w.platform_user, w.approved_at = S.APPROVED, platform_user, timezone.now()
        w.updated_at = w.approved_at
        w.save(update_fields=["status", "platform_user", "approved_at", "updated_at"])
        _audit(actor, w, "approve", S.REQUESTED)
        _notify(actor.shop, w)
    return w


def withdrawal_mark_paid(*, platform_user: Any, withdrawal: Withdrawal, bank_reference: str) -> Withdrawal:
    """The money reached the shop's bank: ``in_transit`` → ``payouts``, with the bank's reference."""
    actor = _platform(platform_user, withdrawal)
    reference = str(bank_reference or "").strip()
    if not reference or len(reference) > 100:
        message = _("Enter the bank's reference (at most 100 characters).")
        raise ValidationFailed(message, fields={"bank_reference": [message]})
    with transaction.atomic():
        w = _locked(withdrawal)
        _expect(w, S.APPROVED)
        _move(w.shop_id, w, "paid", [(A.IN_TRANSIT, -w.amount), (A.PAYOUTS, w.amount)])
        w.status, w.platform_user, w.paid_at, w.bank_reference = S.PAID, platform_user, timezone.now(), reference
        w.updated_at = w.paid_at
        w.save(update_fields=["status", "platform_user", "paid_at", "bank_reference", "updated_at"])
        _audit(actor, w, "pay", S.APPROVED, bank_reference=reference)
        _notify(actor.shop, w)
    return w


def withdrawal_mark_failed(*, platform_user: Any, withdrawal: Withdrawal, reason: str) -> Withdrawal:
    """The payment failed (or the platform refuses it): the money returns to ``available``."""
    actor = _platform(platform_user, withdrawal)
    text = str(reason or "").strip()
    if not text or len(text) > 500:
        message = _("Say why (at most 500 characters).")
        raise ValidationFailed(message, fields={"reason": [message]})
    with transaction.atomic():
        w = _locked(withdrawal)
        _expect(w, S.REQUESTED, S.APPROVED)
        before = w.status
        _move(w.shop_id, w, "failed", [(A.IN_TRANSIT, -w.amount), (A.AVAILABLE, w.amount)])
        w.status, w.platform_user, w.failed_at, w.failure_reason = S.FAILED, platform_user, timezone.now(), text
        w.updated_at = w.failed_at
        w.save(update_fields=["status", "platform_user", "failed_at", "failure_reason", "updated_at"])
        _audit(actor, w, "fail", before, reason=text)
        _notify(actor.shop, w)
    return w


__all__ = [
    "payout_settings_update",
    "withdrawal_cancel",
    "withdrawal_mark_failed",
    "withdrawal_mark_paid",
    "withdrawal_platform_approve",
    "withdrawal_request",
    "withdrawal_second_approve",
]
