"""The report type the payouts app contributes to the analytics registry (``backoffice.reports``):

``payouts``: the ledger's statement summary for the period, per day, week or month of the shop (or the whole
period as one row): the balance (pending + available, as the statements show it) at the start, what was sold
(what buyers paid for delivered orders), the commission, refunds, ad spend and payouts booked in it, the other
movements of the balance (withdrawals still under way, debt paid or incurred, platform adjustments), and the
balance at the end. For every row, opening + sales − commission − refunds − ads − payouts + other = closing, and
a row's closing is the next row's opening.

Read through ``payouts.statements``: the period is a reconciliation statement (entries booked in its days, in the
shop's zone), its opening balances come from ``Statement.balances`` (one statement), and the entries are summed per
bucket and account in one query; the buckets are chained here. Two queries whatever the number of entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.authz import Actor
from backoffice.reports import Chart, Column, Param, ReportType
from backoffice.tenancy.zones import shop_zone
from payouts import statements
from payouts.models import ZERO, Account

VIEW = "payouts.view"
CENT = Decimal("0.01")
GROUPINGS = (("month", _("Month")), ("week", _("Week")), ("day", _("Day")), ("period", _("Whole period")))
TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _bucket(day: date, group_by: str, first: date) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return day.replace(day=1)
    if group_by == "period":
        return first
    return day


def _buckets(params: Mapping[str, Any]) -> list[date]:
    out: list[date] = []
    day = params["date_from"]
    while day <= params["date_to"]:
        bucket = _bucket(day, params["group_by"], params["date_from"])
        if not out or out[-1] != bucket:
            out.append(bucket)
        day += timedelta(days=1)
    return out


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT) + ZERO


def _balance(values: Mapping[str, Decimal]) -> Decimal:
    return values[Account.PENDING] + values[Account.AVAILABLE]


def build(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    shop = actor.shop
    zone = shop_zone(shop)
    group_by = params["group_by"]
    statement = statements.reconciliation(shop=shop, actor=actor, date_from=params["date_from"].isoformat(),
                                          date_to=params["date_to"].isoformat())  # fmt: skip
    opening, _closing = statement.balances()
    entries = statement.entries().order_by()
    moves: dict[date, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(statements.ACCOUNTS, ZERO))
    if group_by == "period":
        rows = ((params["date_from"], account, total) for account, total in
                entries.values_list("account").annotate(total=Sum("amount")))  # fmt: skip
    else:
        trunc = TRUNC[group_by]("created_at", tzinfo=zone)
        rows = entries.annotate(bucket=trunc).values_list("bucket", "account").annotate(total=Sum("amount"))
    for bucket, account, total in rows:
        day = timezone.localtime(bucket, zone).date() if isinstance(bucket, datetime) else bucket
        moves[day][account] += _cents(total)
    progress(60)
    running = dict(opening)
    for bucket in _buckets(params):
        moved = moves.get(bucket) or dict.fromkeys(statements.ACCOUNTS, ZERO)
        start = _balance(running)
        for account, amount in moved.items():
            running[account] += amount
        end = _balance(running)
        sales = -moved[Account.SALES]
        spent = (moved[Account.COMMISSION], moved[Account.REFUNDS], moved[Account.ADS], moved[Account.PAYOUTS])
        other = end - start - sales + sum(spent)
        yield [bucket, start, sales, *spent, other, end]


PAYOUTS = ReportType(
    key="payouts",
    label=_("Payouts statement"),
    description=_(
        "The balance at the start and end of each day, week or month, and what moved it: sales, commission, "
        "refunds, ad spend, payouts and other movements."
    ),
    columns=(
        Column("period", _("Period"), "date"),
        Column("opening", _("Opening balance"), "money", requires=VIEW),
        Column("sales", _("Sales"), "money", requires=VIEW),
        Column("commission", _("Commission"), "money", requires=VIEW),
        Column("refunds", _("Refunds"), "money", requires=VIEW),
        Column("ads", _("Ads"), "money", requires=VIEW),
        Column("payouts", _("Payouts"), "money", requires=VIEW),
        Column("other", _("Other movements"), "money", requires=VIEW),
        Column("closing", _("Closing balance"), "money", requires=VIEW),
    ),
    build=build,
    params=(
        Param("date_from", _("From"), "date", default=lambda: timezone.localdate().replace(day=1)),
        Param("date_to", _("To"), "date", default=timezone.localdate),
        Param("group_by", _("Group by"), "choice", default="month", choices=GROUPINGS),
    ),
    actions=(VIEW,),
    chart=Chart(x="period", series=("opening", "closing"), kind="line"),
)

REPORT_TYPES = [PAYOUTS]
