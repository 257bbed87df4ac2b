"""Reads of the payouts app.

- ``balance(*, shop) -> dict[str, Decimal]``: every account's balance, one indexed query over the shop's balance
  rows (never a sum over entries: the same cost at 10 entries or 10 million). ``balance_summary`` adds the
  currency and shows ``debt`` as the positive amount owed.
- ``ledger_list(*, shop, actor, filters=None) -> QuerySet[LedgerEntry]``: the entries, newest first (the API
  pages them with a cursor on ``-id``). Filters: ``kind`` and ``account`` (comma-separated values of
  ``Kind``/``Account``), ``date_from``/``date_to`` (a day in the shop's zone or an ISO date-time, on when the
  entry was booked), ``order`` (an order number of the shop). A bad value is a ``ValidationFailed`` naming the
  filter (400), never a 500.
- ``pending_sales(*, shop) -> QuerySet[LedgerTransaction]``: the sales not settled yet that still hold money in
  ``pending`` (``remaining``), oldest first; each matures at ``occurred_at + shop.return_window_days`` (the
  balance page's "pending, with the date each part matures"; ``settle_matured`` moves those past it).

Access: the selectors narrow with ``restrict(…, "payouts.view")``; ledger rows have no per-object scope.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from backoffice.authz import Actor, restrict, system_actor
from backoffice.errors import ValidationFailed
from backoffice.parsing import parse_day_or_moment
from orders import selectors as orders_selectors
from payouts.models import ZERO, Account, Balance, Kind, LedgerEntry, LedgerTransaction

if TYPE_CHECKING:
    from accounts.models import Shop

VIEW = "payouts.view"


def balance(*, shop: Shop) -> dict[str, Decimal]:
    """{account: balance} for every account (0 for one never posted to)."""
    found = dict(Balance.objects.for_shop(shop).values_list("account", "amount"))
    return {account: found.get(account, ZERO) for account in Account.values}


def balance_summary(*, shop: Shop) -> dict[str, Any]:
    """What the balance endpoint answers: the shop's currency, ``pending``, ``available``, ``in_transit`` and
    ``debt`` (what the shop owes, ≥ 0; the next settlement pays it before anything reaches ``available``)."""
    b = balance(shop=shop)
    return {"currency": shop.currency, "pending": b[Account.PENDING], "available": b[Account.AVAILABLE],
            "in_transit": b[Account.IN_TRANSIT], "debt": -b[Account.DEBT]}  # fmt: skip


def _choices(value: Any, field: str, allowed: list[str]) -> list[str]:
    values = [v.strip() for v in str(value).split(",") if v.strip()]
    bad = sorted(set(values) - set(allowed))
    if bad or not values:
        message = _("Choose one of: %(v)s") % {"v": ", ".join(allowed)}
        raise ValidationFailed(message, fields={field: [message]})
    return values


def ledger_list(*, shop: Shop, actor: Actor, filters: Any = None) -> QuerySet[LedgerEntry]:
    filters = filters or {}
    qs = restrict(LedgerEntry.objects.for_shop(shop), actor, VIEW)
    if kind := filters.get("kind"):
        qs = qs.filter(kind__in=_choices(kind, "kind", Kind.values))
    if account := filters.get("account"):
        qs = qs.filter(account__in=_choices(account, "account", Account.values))
    start = parse_day_or_moment(filters.get("date_from"), "date_from")
    end = parse_day_or_moment(filters.get("date_to"), "date_to", end_of_day=True)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lte=end)
    if start is not None and end is not None and start > end:
        message = _("The end must be after the start.")
        raise ValidationFailed(message, fields={"date_to": [message]})
    if number := str(filters.get("order") or "").strip()[:32]:
        # The order's number is looked up as the system: a member who may read the ledger finds an order's
        # entries by its number even without orders.view (the entries are theirs to read; the order is not shown).
        orders = orders_selectors.order_list(shop=shop, actor=system_actor(shop), prefetch=False)
        qs = qs.filter(order_id__in=list(orders.filter(number=number).values_list("pk", flat=True)[:1]))
    return qs.select_related("transaction").order_by("-id")


def pending_sales(*, shop: Shop) -> QuerySet[LedgerTransaction]:
    """Unsettled sales with what they still hold in ``pending`` (``remaining`` > 0), oldest first."""
    remaining = (
        LedgerEntry.objects.for_shop(shop)
        .filter(account=Account.PENDING, order_id=Cast(OuterRef("key"), output_field=BigIntegerField()))
        .order_by()
        .values("order_id")
        .annotate(t=Sum("amount"))
        .values("t")
    )
    txns = LedgerTransaction.objects.for_shop(shop)
    settled = txns.filter(kind=Kind.SETTLE).values("key")
    return (
        txns.filter(kind=Kind.SALE)
        .exclude(key__in=settled)
        .annotate(remaining=Subquery(remaining))
        .filter(remaining__gt=0)
        .order_by("occurred_at", "id")
    )
