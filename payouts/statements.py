"""Statements and the reconciliation export of the payouts ledger (reads).

**What a statement covers**

- *A month* (``month_statement``): the entries **booked** in a calendar month of the shop's time zone,
  ``[first day 00:00, next month's first day 00:00)`` on ``created_at``. Booking time, not ``occurred_at``: a
  closed month's statement never changes when a late event (a backfill, an ad re-push) is booked afterwards —
  that lands in the month it was booked in, and the row shows when it happened beside it.
- *A payout* (``payout_statement``): a paid withdrawal, i.e. the withdrawal transaction that moved money into the
  ``payouts`` account. It settled the transactions booked **after the previous payout's paid transaction, up to
  and including its own** (the first payout: everything from the shop's first posting). The range is on
  transaction ids: every posting of a shop holds the shop's balance lock (``payouts.services.ledger``), so a
  shop's ids are in booking order.
- *The payout an entry was settled in* (reconciliation export, column ``payout``): the first payout whose range
  holds the entry's transaction; blank while no payout has been paid since.

**Opening and closing balances** are every account's balance just before and just after the period, and
``balance`` = ``pending`` + ``available`` (the seller's money not yet withdrawn). They are read in one SQL
statement (one snapshot): the balance row minus what was booked since the boundary, so the cost grows with
the entries after the period, never with the whole history. Within a statement, opening + the rows' movements
= closing, for every account (the streamed closing row is computed from the rows themselves, so a posting
booked while a current month streams cannot break it).

**Rows** (``statement_rows``): one per ledger transaction, oldest first, with its movement on every account —
a sale shows ``sales`` −total, ``pending`` +net, ``commission`` +commission; a refund ``refunds`` +amount and
where the money came from; an ad charge ``ads`` +spend; a withdrawal ``available``/``in_transit``/``payouts`` —
between an ``opening`` and a ``closing`` row. The reconciliation export (``reconciliation_rows``) has one row
per entry, with its order number, refund id, campaign and day, withdrawal id and payout.

Queries are constant (a handful per statement, whatever its size) and rows are streamed with ``iterator()``.
A period with more than ``STREAM_MAX_ROWS`` entries is built by a background job instead
(``payouts.services.statement_export_create``). Access: ``payouts.view`` (``restrict``/``can``); order numbers
are looked up as the system, as the ledger list does (the entries are the reader's to see, the orders are not
shown).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, restrict, system_actor
from backoffice.errors import Forbidden, NotFound, ValidationFailed
from backoffice.parsing import parse_day_or_moment, parse_id
from backoffice.tabular import FORMATS
from backoffice.tenancy.zones import local_today, shop_zone
from orders import selectors as orders_selectors
from payouts.models import ZERO, Account, Balance, Kind, LedgerEntry, LedgerTransaction, StatementJob, Withdrawal

if TYPE_CHECKING:
    from accounts.models import Shop

VIEW = "payouts.view"
CENT = Decimal("0.01")
STREAM_MAX_ROWS = 20_000  # entries; a bigger period is built by a background job (StatementJob)
CHUNK = 2000
ACCOUNTS = list(Account.values)
STATEMENT_COLUMNS = ["line", "transaction", "booked_at", "occurred_at", "kind", "order", "refund", "campaign",
                     "ad_day", "withdrawal", "memo", *ACCOUNTS, "balance"]  # fmt: skip
RECONCILIATION_COLUMNS = ["entry", "transaction", "booked_at", "occurred_at", "kind", "key", "account", "amount",
                          "order", "refund", "campaign", "ad_day", "withdrawal", "payout", "memo"]  # fmt: skip
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


def _fail(field_name: str, message: str):
    raise ValidationFailed(message, fields={field_name: [message]})


def _required(value: Any, field_name: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        _fail(field_name, _("This parameter is required."))
    return text


def parse_format(value: Any, field_name: str = "format") -> str:
    """``csv`` (the default when empty) or ``xlsx``."""
    text = str(value or "csv").strip().lower()
    if text not in FORMATS:
        _fail(field_name, _("Choose one of: %(v)s") % {"v": ", ".join(FORMATS)})
    return text


def parse_month(value: Any, field_name: str = "month") -> date:
    """``YYYY-MM`` → the month's first day."""
    text = _required(value, field_name)
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1 <= int(match.group(1)) <= 9998:
        _fail(field_name, _("Use a month as YYYY-MM."))
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(shop: Shop, month: date) -> tuple[datetime, datetime]:
    """The instants ``[start, end)`` of the calendar month in the shop's zone."""
    zone = shop_zone(shop)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = datetime.combine(month, time.min).replace(tzinfo=zone)
    end = datetime.combine(following, time.min).replace(tzinfo=zone)
    return start, end


def _cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT) + ZERO  # + 0: no "-0.00" from a float -0.0


# -- payouts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Payout:
    withdrawal: int
    transaction: int  # the paid transaction (money into ``payouts``)
    amount: Decimal
    paid_at: datetime  # when the paid transaction was booked


def _paid_entries(shop: Shop, actor: Actor) -> QuerySet[LedgerEntry]:
    """The ``payouts`` legs of withdrawal transactions: one per paid withdrawal (found through the transactions'
    (shop, kind) index, then the entries' transaction index: never a scan of the shop's entries)."""
    withdrawals = LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.WITHDRAWAL).values("pk")
    entries = LedgerEntry.objects.for_shop(shop).filter(transaction__in=withdrawals, account=Account.PAYOUTS,
                                                        amount__gt=0)  # fmt: skip
    return restrict(entries, actor, VIEW)


def payout_list(*, shop: Shop, actor: Actor) -> QuerySet[LedgerEntry]:
    """The shop's payouts (paid withdrawals), newest first: entries with ``withdrawal_id``, ``transaction_id``,
    ``amount`` and ``created_at`` (when it was paid). Paginate it; ``payout_details`` adds the bank reference."""
    return _paid_entries(shop, actor).order_by("-transaction_id")


def payout_details(*, shop: Shop, withdrawal_ids: list[int]) -> dict[int, Withdrawal]:
    """The withdrawals of a page of payouts (their bank reference), one query."""
    return {w.pk: w for w in Withdrawal.objects.for_shop(shop).filter(pk__in=withdrawal_ids)}


def _payouts(shop: Shop, actor: Actor) -> list[Payout]:
    rows = _paid_entries(shop, actor).order_by("transaction_id")
    return [Payout(w, t, a, c) for w, t, a, c in
            rows.values_list("withdrawal_id", "transaction_id", "amount", "created_at")]  # fmt: skip


def statement_job_list(*, shop: Shop, actor: Actor) -> QuerySet[StatementJob]:
    """The statement files built in the background that this member may see (the kernel's job rule), newest
    first."""
    return restrict(StatementJob.objects.for_shop(shop), actor, VIEW).select_related("created_by").order_by("-id")


# -- statements ---------------------------------------------------------------------------------------------
@dataclass
class Statement:
    """A period of the ledger: the entries in it (``entries``), and the boundary the opening and closing balances
    are read at (``column`` ≥ ``start`` is after the opening; ``column`` ≥ ``end`` after the closing; ``end``
    None: up to now)."""

    shop: Shop
    actor: Actor
    kind: str
    name: str  # for the file name: "2026-11", "payout-7"
    column: str  # "created_at" or "transaction_id"
    start: Any
    end: Any
    payout: Payout | None = None
    payouts: list[Payout] = field(default_factory=list)

    @property
    def filename_stem(self) -> str:
        return f"statement-{self.shop.pk}-{self.name}"

    def entries(self) -> QuerySet[LedgerEntry]:
        q = Q(**{f"{self.column}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{self.column}__lt": self.end})
        return restrict(LedgerEntry.objects.for_shop(self.shop), self.actor, VIEW).filter(q)

    def count(self) -> int:
        return self.entries().count()

    def balances(self) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """(opening, closing): every account's balance at the period's start and end, one SQL statement."""
        if not can(self.actor, VIEW):
            raise Forbidden(_("You may not see the shop's payouts."))
        entries, balances = LedgerEntry._meta.db_table, Balance._meta.db_table
        end = self.end
        # The entries after the end are a subset of those after the start: one range read gives both sums.
        since_end = f"coalesce(sum(amount) FILTER (WHERE {self.column} >= %s), 0)" if end is not None else "0"
        sql = f"""
            WITH moved AS (
                SELECT account, sum(amount) AS since_start, {since_end} AS since_end
                FROM {entries} WHERE shop_id = %s AND {self.column} >= %s GROUP BY account
            )
            SELECT b.account, b.amount - coalesce(m.since_start, 0), b.amount - coalesce(m.since_end, 0)
            FROM {balances} b LEFT JOIN moved m ON m.account = b.account WHERE b.shop_id = %s
        """  # noqa: S608 - the names are the models' tables and columns, the values are parameters
        # Raw SQL gets its values as the ORM would write them (SQLite compares UTC text).
        adapt = connection.ops.adapt_datetimefield_value if self.column == "created_at" else (lambda v: v)
        params = [*([adapt(end)] if end is not None else []), self.shop.pk, adapt(self.start), self.shop.pk]
        opening, closing = dict.fromkeys(ACCOUNTS, ZERO), dict.fromkeys(ACCOUNTS, ZERO)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for account, before, after in cursor.fetchall():
                # SQLite's sums come back as floats: through their text, to the cent.
                opening[account], closing[account] = _cents(before), _cents(after)
        return opening, closing


def month_statement(*, shop: Shop, actor: Actor, month: Any) -> Statement:
    """The statement of a calendar month (``YYYY-MM``, or a ``date``; empty: the current month) in the shop's
    zone."""
    if month in (None, ""):
        month = local_today(shop_zone(shop)).replace(day=1)
    first = month if isinstance(month, date) else parse_month(month)
    start, end = month_bounds(shop, first)
    return Statement(shop=shop, actor=actor, kind="month", name=first.strftime("%Y-%m"), column="created_at",
                     start=start, end=end)  # fmt: skip


def payout_statement(*, shop: Shop, actor: Actor, withdrawal: Any) -> Statement:
    """The statement of a payout: what the paid withdrawal settled (see the module's docstring). ``NotFound``
    when the shop has no paid withdrawal of that id."""
    wid = parse_id(withdrawal, "withdrawal")
    payouts = _payouts(shop, actor)
    index = next((i for i, p in enumerate(payouts) if p.withdrawal == wid), None)
    if index is None:
        raise NotFound(_("No paid withdrawal with this id."))
    payout = payouts[index]
    previous = payouts[index - 1].transaction if index else 0
    return Statement(shop=shop, actor=actor, kind="payout", name=f"payout-{wid}", column="transaction_id",
                     start=previous + 1, end=payout.transaction + 1, payout=payout, payouts=payouts)  # fmt: skip


def reconciliation(*, shop: Shop, actor: Actor, date_from: Any, date_to: Any) -> Statement:
    """Every entry booked from ``date_from`` to ``date_to`` (days in the shop's zone, both included, or ISO
    date-times; empty: from the first of the current month, to today), for ``reconciliation_rows``."""
    zone = shop_zone(shop)
    today = local_today(zone)
    start = parse_day_or_moment(date_from or today.replace(day=1).isoformat(), "from", tz=zone)
    end = parse_day_or_moment(date_to or today.isoformat(), "to", end_of_day=True, tz=zone)
    if start > end:
        _fail("to", _("The end must be after the start."))
    # ``end`` is inclusive (the end of its day): the statement's bound is exclusive, a microsecond later.
    end_exclusive = end + (datetime.min.replace(microsecond=1) - datetime.min)
    name = f"reconciliation-{timezone.localtime(start, zone).date()}-{timezone.localtime(end, zone).date()}"
    return Statement(shop=shop, actor=actor, kind="reconciliation", name=name, column="created_at", start=start,
                     end=end_exclusive, payouts=_payouts(shop, actor))  # fmt: skip


def statement_for(*, shop: Shop, actor: Actor, kind: str, params: dict) -> Statement:
    """A statement from a job's (or request's) parameters: ``month``; ``withdrawal``; ``from`` and ``to``."""
    if kind == "month":
        return month_statement(shop=shop, actor=actor, month=params.get("month"))
    if kind == "payout":
        return payout_statement(shop=shop, actor=actor, withdrawal=params.get("withdrawal"))
    if kind == "reconciliation":
        return reconciliation(shop=shop, actor=actor, date_from=params.get("from"), date_to=params.get("to"))
    _fail("kind", _("Choose one of: %(v)s") % {"v": "month, payout, reconciliation"})


# -- rows ---------------------------------------------------------------------------------------------------
def _with_refs(statement: Statement) -> QuerySet[LedgerEntry]:
    orders = orders_selectors.order_list(shop=statement.shop, actor=system_actor(statement.shop), prefetch=False)
    number = Subquery(orders.filter(pk=OuterRef("order_id")).order_by().values("number")[:1])
    return statement.entries().annotate(order_number=number)


def _ad_day(kind: str, key: str) -> str:
    # Ad spend keys are "<campaign>:<day>" (a fix: "<campaign>:<day>:<n>").
    return key.split(":")[1] if kind in (Kind.AD_SPEND, Kind.AD_SPEND_FIX) and ":" in key else ""


ENTRY_FIELDS = ("id", "transaction_id", "account", "amount", "order_number", "refund_id", "campaign_id",
                "withdrawal_id", "transaction__kind", "transaction__key", "transaction__memo",
                "transaction__occurred_at", "created_at")  # fmt: skip


def transactions(statement: Statement) -> Iterator[dict]:
    """The period's transactions, oldest first, each with its movement per account (streamed)."""
    rows = _with_refs(statement).order_by("transaction_id", "id").values_list(*ENTRY_FIELDS, named=True)
    current: dict | None = None
    for e in rows.iterator(chunk_size=CHUNK):
        if current is None or current["transaction"] != e.transaction_id:
            if current is not None:
                yield current
            kind, key = e.transaction__kind, e.transaction__key
            current = {"transaction": e.transaction_id, "booked_at": e.created_at,
                       "occurred_at": e.transaction__occurred_at, "kind": kind, "key": key,
                       "memo": e.transaction__memo, "order": "", "refund": None, "campaign": None,
                       "withdrawal": None, "ad_day": _ad_day(kind, key),
                       "moves": dict.fromkeys(ACCOUNTS, ZERO)}  # fmt: skip
        current["moves"][e.account] += e.amount
        current["order"] = current["order"] or e.order_number or ""
        current["refund"] = current["refund"] or e.refund_id
        current["campaign"] = current["campaign"] or e.campaign_id
        current["withdrawal"] = current["withdrawal"] or e.withdrawal_id
    if current is not None:
        yield current


def _balance(values: dict[str, Decimal]) -> Decimal:
    return values[Account.PENDING] + values[Account.AVAILABLE]


def statement_rows(statement: Statement, opening: dict[str, Decimal] | None = None) -> Iterator[list]:
    """The statement's table (``STATEMENT_COLUMNS``): the opening row, one row per transaction (the account
    columns are its movements, ``balance`` the running pending + available after it), the closing row
    (opening + the movements above, per account)."""
    if opening is None:
        opening, _closing = statement.balances()
    running = dict(opening)
    blank = ["", "", "", "", "", "", "", "", ""]
    yield ["opening", "", *blank, *(opening[a] for a in ACCOUNTS), _balance(opening)]
    for t in transactions(statement):
        for account, amount in t["moves"].items():
            running[account] += amount
        yield ["transaction", t["transaction"], t["booked_at"], t["occurred_at"], t["kind"], t["order"], t["refund"],
               t["campaign"], t["ad_day"], t["withdrawal"], t["memo"], *(t["moves"][a] for a in ACCOUNTS),
               _balance(running)]  # fmt: skip
    yield ["closing", "", *blank, *(running[a] for a in ACCOUNTS), _balance(running)]


def reconciliation_rows(statement: Statement) -> Iterator[list]:
    """One row per entry (``RECONCILIATION_COLUMNS``), oldest first, with the payout it was settled in."""
    paid = [p.transaction for p in statement.payouts]
    rows = _with_refs(statement).order_by("id").values_list(*ENTRY_FIELDS, named=True)
    for e in rows.iterator(chunk_size=CHUNK):
        at = bisect.bisect_left(paid, e.transaction_id)
        payout = statement.payouts[at].withdrawal if at < len(paid) else None
        kind, key = e.transaction__kind, e.transaction__key
        yield [e.id, e.transaction_id, e.created_at, e.transaction__occurred_at, kind, key, e.account, e.amount,
               e.order_number or "", e.refund_id, e.campaign_id, _ad_day(kind, key), e.withdrawal_id, payout,
               e.transaction__memo]  # fmt: skip


def table(statement: Statement) -> tuple[list[str], Iterator[list]]:
    """(header, rows) of the statement's file."""
    if statement.kind == "reconciliation":
        return list(RECONCILIATION_COLUMNS), reconciliation_rows(statement)
    return list(STATEMENT_COLUMNS), statement_rows(statement)


def summary(statement: Statement) -> dict[str, Any]:
    """What a page shows of a statement: opening and closing balances per account and ``balance`` (pending +
    available), the movements per kind and account, and how many entries (3 queries)."""
    opening, closing = statement.balances()
    by_kind: dict[str, dict[str, Decimal]] = {}
    for kind, account, total in statement.entries().order_by().values_list("kind", "account").annotate(t=Sum("amount")):
        by_kind.setdefault(kind, dict.fromkeys(ACCOUNTS, ZERO))[account] = total
    entries = statement.count()
    return {"opening": opening, "closing": closing, "opening_balance": _balance(opening),
            "closing_balance": _balance(closing), "by_kind": by_kind, "entries": entries}  # fmt: skip
