"""Reads of the payouts app.

- ``balance(*, shop) -> dict[str, Decimal]``: every account's balance, one indexed query over the shop's balance
  rows (never a sum over entries: the same cost at 10 entries or 10 million). ``balance_summary`` adds the
  currency and shows ``debt`` as the positive amount owed.
- ``ledger_list(*, shop, actor, filters=None) -> QuerySet[LedgerEntry]``: the entries, newest first (the API
  pages them with a cursor on ``-id``). Filters: ``kind`` and ``account`` (comma-separated values of
  ``Kind``/``Account``), ``date_from``/``date_to`` (a day in the shop's zone or an ISO date-time, on when the
  entry was booked), ``order`` (an order number of the shop). A bad value is a ``ValidationFailed`` naming the
  filter (400), never a 500.
- ``pending_sales(*, shop) -> QuerySet[LedgerTransaction]``: the sales not settled yet (``unsettled_sales``: the
  partial index on ``settled_at``, never every sale ever) that still hold money in ``pending`` (``remaining``),
  oldest first; each matures at ``occurred_at + shop.return_window_days`` (the
  balance page's "pending, with the date each part matures"; ``settle_matured`` moves those past it).
- The balance page and the dashboard card: ``pending_by_maturity`` (pending grouped by the shop's day each part
  matures), ``next_settlement`` (the first of those days, or today for parts matured already), ``balance_series``
  (each day's closing ``available`` and ``pending``, one statement with a window function), ``parse_chart_days``;
  the ledger page: ``ledger_references`` (order numbers and campaign names of a page's entries, two queries).

Access: the selectors narrow with ``restrict(…, "payouts.view")``; ledger rows have no per-object scope.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import BigIntegerField, Exists, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, restrict, system_actor
from backoffice.errors import ValidationFailed
from backoffice.parsing import parse_day_or_moment
from backoffice.tenancy.zones import day_bounds, local_today, shop_zone
from orders import selectors as orders_selectors
from payouts.models import ZERO, Account, Balance, Kind, LedgerEntry, LedgerTransaction, PayoutSettings, Withdrawal
from promotions import ads_selectors

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


def unsettled_sales(*, shop: Shop) -> QuerySet[LedgerTransaction]:
    """The sales that have not left ``pending`` yet (``settled_at`` NULL): read through the partial index
    ``ledger_sale_unsettled``, so the cost follows the sales waiting, never every sale the shop ever made."""
    return LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SALE, settled_at__isnull=True)


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
    return (
        unsettled_sales(shop=shop)
        .annotate(remaining=Subquery(remaining))
        .filter(remaining__gt=0)
        .order_by("occurred_at", "id")
    )


# -- withdrawals (payouts.services.withdrawals writes them) ------------------------------------------------------
def withdrawal_list(*, shop: Shop, actor: Actor, filters: Any = None) -> QuerySet[Withdrawal]:
    """The shop's withdrawals, newest first; ``status`` filter (comma-separated ``Withdrawal.Status`` values)."""
    filters = filters or {}
    qs = restrict(Withdrawal.objects.for_shop(shop), actor, VIEW)
    if status := filters.get("status"):
        qs = qs.filter(status__in=_choices(status, "status", Withdrawal.Status.values))
    return qs.select_related("requested_by", "second_approved_by", "cancelled_by").order_by("-id")


def withdrawal_get(*, actor: Actor, pk: Any, action: str = VIEW) -> Withdrawal | None:
    """One withdrawal of the actor's shop they may see (``action``: a step's own action, for its confirmation
    page); None when it is not there, another shop's, or a bad id."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    qs = restrict(Withdrawal.objects.for_shop(actor.shop), actor, action)
    return qs.select_related("requested_by", "second_approved_by", "cancelled_by").filter(pk=pk).first()


def payout_settings(*, shop: Shop) -> PayoutSettings | None:
    """The shop's payout settings row (None until first saved: no second approval)."""
    return PayoutSettings.objects.for_shop(shop).filter(shop=shop).first()


def withdrawal_actions(*, actor: Actor, withdrawal: Withdrawal) -> set[str]:
    """What this member may do to the withdrawal now (the pages' buttons): ``approve`` (second approval: holds
    ``payouts.approve``, is not the requester) and ``cancel`` (holds ``payouts.withdraw``, is the requester or
    the owner), each only in the states the service accepts."""
    S = Withdrawal.Status
    found = set()
    user_id = getattr(actor.user, "pk", None)
    if (
        withdrawal.status == S.AWAITING_APPROVAL
        and can(actor, "payouts.approve", withdrawal)
        and (user_id != withdrawal.requested_by_id)
    ):
        found.add("approve")
    if (
        withdrawal.status in (S.AWAITING_APPROVAL, S.REQUESTED)
        and can(actor, "payouts.withdraw", withdrawal)
        and (actor.is_owner or user_id == withdrawal.requested_by_id)
    ):
        found.add("cancel")
    return found


def withdrawal_platform_queue(*, status: str | None = "requested") -> QuerySet[Withdrawal]:
    """Platform code (the platform API, the admin): withdrawals of every shop the platform sees — never one still
    awaiting its second approval — in ``status`` (all of those when None), oldest first."""
    qs = Withdrawal.unscoped.exclude(status=Withdrawal.Status.AWAITING_APPROVAL).select_related("shop")
    if status:
        allowed = [s for s in Withdrawal.Status.values if s != Withdrawal.Status.AWAITING_APPROVAL]
        qs = qs.filter(status__in=_choices(status, "status", allowed))
    return qs.order_by("id")


# -- the balance page and the dashboard card (payouts/web/pages.py, payouts/dashboard.py) -----------------------
CHART_DAYS = (30, 90)  # the balance chart's windows, in the shop's days (the first is the default)
CHART_ACCOUNTS = (Account.AVAILABLE, Account.PENDING)


def pending_by_maturity(*, shop: Shop, actor: Actor) -> list[dict[str, Any]]:
    """``pending`` grouped by the day its parts mature — the shop's calendar day of ``delivered +
    return_window_days`` — oldest first: ``[{"day": date, "amount": Decimal, "orders": int}]``. A day already
    past is money the next settlement run (hourly) moves. Nothing for an actor without ``payouts.view``.

    One query, over the unsettled sales only (``unsettled_sales``: the partial index) and their ``pending``
    entries: per order what it still holds and when it was sold (its sale entry's transaction), summed by day here.
    Not a subquery per sale: PostgreSQL evaluated it twice per row and, its estimate growing with the sales
    waiting, compiled the statement (JIT) for half a second on every balance page of a busy shop."""
    zone, window = shop_zone(shop), timedelta(days=shop.return_window_days)
    waiting = unsettled_sales(shop=shop).annotate(order=Cast("key", output_field=BigIntegerField())).values("order")
    per_order = (
        restrict(LedgerEntry.objects.for_shop(shop), actor, VIEW)
        .filter(account=Account.PENDING, order_id__in=waiting)
        .order_by()
        .values("order_id")
        .annotate(remaining=Sum("amount"), sold_at=Min("transaction__occurred_at", filter=Q(kind=Kind.SALE)))
        .filter(remaining__gt=0)
        .values_list("remaining", "sold_at")
    )
    days: dict[date, dict[str, Any]] = {}
    for remaining, sold_at in per_order:
        day = timezone.localtime(sold_at + window, zone).date()
        group = days.setdefault(day, {"day": day, "amount": ZERO, "orders": 0})
        group["amount"] += remaining
        group["orders"] += 1
    return [days[day] for day in sorted(days)]


def next_settlement(*, shop: Shop, groups: list[dict[str, Any]], today: date | None = None) -> dict[str, Any] | None:
    """The next settlement that moves money, from ``pending_by_maturity``'s groups: ``{"day", "amount",
    "orders"}``, or None when nothing is pending. Parts matured already (the hourly run has not reached them yet)
    settle today, together."""
    if not groups:
        return None
    today = today or local_today(shop_zone(shop))
    due = [g for g in groups if g["day"] <= today]
    if not due:
        return dict(groups[0])
    return {"day": today, "amount": sum((g["amount"] for g in due), ZERO), "orders": sum(g["orders"] for g in due)}


def parse_chart_days(value: Any) -> int:
    """The chart's window from the query string (``days``): one of ``CHART_DAYS``; empty is the first."""
    if value in (None, ""):
        return CHART_DAYS[0]
    if str(value).strip() not in {str(d) for d in CHART_DAYS}:
        message = _("Choose one of: %(v)s") % {"v": ", ".join(map(str, CHART_DAYS))}
        raise ValidationFailed(message, fields={"days": [message]})
    return int(str(value).strip())


def balance_series(*, shop: Shop, actor: Actor, days: int, today: date | None = None) -> dict[str, Any]:
    """The daily closing balance of ``available`` and ``pending`` over the shop's last ``days`` days (today
    included): ``{"days": [date], "available": [Decimal], "pending": [Decimal]}``.

    The balance rows and the window's per-day sums of entries (by when they were booked, in the shop's zone) are
    read in one transaction; a day's closing balance is ``balance − moved in the window + moved up to that day``.
    The cost follows the entries in the window, not the ledger's size. Empty for an actor without ``payouts.view``."""
    zone = shop_zone(shop)
    today = today or local_today(zone)
    first = today - timedelta(days=days - 1)
    labels = [first + timedelta(days=i) for i in range(days)]
    out: dict[str, Any] = {"days": labels, **{account: [] for account in CHART_ACCOUNTS}}
    if not can(actor, VIEW):
        return out
    start, _end = day_bounds(first, zone)
    # Read in one transaction (each account's balance row, then the window's per-day movements): ORM queries, so
    # the chart reads the same on PostgreSQL and on the embedded SQLite default.
    with transaction.atomic():
        balances = dict(
            Balance.objects.for_shop(shop).filter(account__in=CHART_ACCOUNTS).values_list("account", "amount")
        )
        moved_rows = (
            LedgerEntry.objects.for_shop(shop)
            .filter(account__in=CHART_ACCOUNTS, created_at__gte=start)
            .annotate(day=TruncDate("created_at", tzinfo=zone))
            .order_by()
            .values("account", "day")
            .annotate(total=Sum("amount"))
        )
        moved: dict[str, dict[date, Decimal]] = {account: {} for account in CHART_ACCOUNTS}
        for row in moved_rows:
            moved[row["account"]][row["day"]] = row["total"]
    rows = []
    for account in CHART_ACCOUNTS:
        amount = balances.get(account, ZERO)
        in_window = sum(moved[account].values(), ZERO)
        running = ZERO
        if not moved[account]:
            rows.append((account, None, amount, ZERO, ZERO))
        for day in sorted(moved[account]):
            running += moved[account][day]
            rows.append((account, day, amount, running, in_window))
    closing: dict[str, dict[date, Decimal]] = {account: {} for account in CHART_ACCOUNTS}
    opening: dict[str, Decimal] = {}
    for account, day, amount, running, moved in rows:
        opening[account] = amount - (moved or ZERO)
        if day is not None:
            # A day past today (a clock stepped back) counts as today's.
            closing[account][min(day, today)] = opening[account] + running
    for account in CHART_ACCOUNTS:
        value = opening.get(account, ZERO)
        for day in labels:
            value = closing[account].get(day, value)
            out[account].append(value)
    return out


def ledger_references(*, shop: Shop, actor: Actor, entries: list[LedgerEntry]) -> dict[str, dict[int, Any]]:
    """What a ledger page shows for the entries' references, two queries whatever the page size: ``orders``
    ``{id: {"number", "visible"}}`` — every order's number (the reader may read its ledger rows, and finds them by
    number already), ``visible`` when the reader may open the order (``orders.view`` and its scope) — and
    ``campaigns`` ``{id: name}`` for the ad campaigns the reader may open (``promotions.view``)."""
    order_ids = {e.order_id for e in entries if e.order_id}
    campaign_ids = {e.campaign_id for e in entries if e.campaign_id}
    orders: dict[int, Any] = {}
    if order_ids:
        everyone = orders_selectors.order_list(shop=shop, actor=system_actor(shop), prefetch=False)
        mine = orders_selectors.order_list(shop=shop, actor=actor, prefetch=False).filter(pk=OuterRef("pk"))
        rows = everyone.filter(pk__in=order_ids).annotate(visible=Exists(mine)).values_list("pk", "number", "visible")
        orders = {pk: {"number": number, "visible": visible} for pk, number, visible in rows}
    campaigns: dict[int, str] = {}
    if campaign_ids:
        visible = ads_selectors.campaign_list(shop=shop, actor=actor).filter(pk__in=campaign_ids)
        campaigns = dict(visible.order_by().values_list("pk", "name"))
    return {"orders": orders, "campaigns": campaigns}
