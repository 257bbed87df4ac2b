"""The ``payouts`` report type (the statement summary per month, week, day or for the whole period) against the
ledger's entries summed independently in Python, for a history booked through the services with the clock moved
(shop in Asia/Shanghai, UTC+8: an order delivered at 00:30 on the 1st belongs to that month)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Shop
from backoffice.authz import load_actor, system_actor
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.reports import clean_params, render, report_type
from orders.tests.factories import make_sku
from payouts import services
from payouts.models import Account, LedgerEntry
from payouts.services import withdrawals
from payouts.tests.factories import campaign, delivered, push_spend, refund
from tests.fixtures import make_member, make_shop, owner_actor

pytestmark = pytest.mark.django_db
D = Decimal
ZONE = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=ZONE)


def run(actor, **raw) -> list[dict]:
    report = report_type("payouts")
    result = render(actor, report, clean_params(report, raw))
    keys = [c.key for c in result.columns]
    return [dict(zip(keys, row, strict=True)) for row in result.rows]


@pytest.fixture
def history(db):
    """Aug 20: order A 1000.00 delivered. Sep 1 00:30 (Aug 31 16:30 UTC): order B 500.00. Sep 10: A settles, B is
    refunded 100.00, a campaign's Sep 9 spend of 30.00 is charged, a withdrawal of 200.00 is paid. Oct 1 00:30:
    order C 300.00, and a withdrawal of 20.00 is asked for (still under way)."""
    shop = make_shop("Report statements")
    Shop.objects.filter(pk=shop.pk).update(timezone="Asia/Shanghai")
    shop.refresh_from_db()
    staff = get_user_model().objects.create_superuser(username="report-staff", password="x-pass-2026-1",
                                                      email="report-staff@example.com")  # fmt: skip
    sku, _wh = make_sku(shop, stock=50, price="1000.00")
    with time_machine.travel(at(2026, 8, 20, 10, 0), tick=False):
        delivered(shop, "1000.00", sku=sku)
        ads = campaign(shop, sku.product)
    with time_machine.travel(at(2026, 9, 1, 0, 30), tick=False):
        b = delivered(shop, "500.00", sku=sku)
    with time_machine.travel(at(2026, 9, 10, 12, 0), tick=False):
        services.settle_matured(actor=system_actor(shop))
        refund(shop, b, "100.00")
        push_spend(shop, ads, date(2026, 9, 9), "30.00")
        services.ad_spend_sync(actor=system_actor(shop))
        w = withdrawals.withdrawal_request(actor=owner_actor(shop), amount="200.00")
        w = withdrawals.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
        withdrawals.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference="BANK-1")
    with time_machine.travel(at(2026, 10, 1, 0, 30), tick=False):
        delivered(shop, "300.00", sku=sku)
        withdrawals.withdrawal_request(actor=owner_actor(shop), amount="20.00")
    return shop


def expected_by_month(shop) -> dict[date, dict[str, Decimal]]:
    """The entries read back and summed per month of the shop's zone and account, in Python."""
    out: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entry in LedgerEntry.objects.for_shop(shop).all():
        month = timezone.localtime(entry.created_at, ZONE).date().replace(day=1)
        out[month][entry.account] += entry.amount
    return out


def test_months_match_the_ledger_and_chain(history):
    shop = history
    rows = run(owner_actor(shop), date_from="2026-08-01", date_to="2026-10-31")
    assert [r["period"] for r in rows] == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    moves = expected_by_month(shop)
    balance = D("0.00")  # nothing was booked before August
    for row in rows:
        m = moves[row["period"]]
        assert row["opening"] == balance
        assert row["sales"] == -m[Account.SALES]
        assert (row["commission"], row["refunds"], row["ads"], row["payouts"]) == (
            m[Account.COMMISSION], m[Account.REFUNDS], m[Account.ADS], m[Account.PAYOUTS])  # fmt: skip
        balance += m[Account.PENDING] + m[Account.AVAILABLE]
        assert row["closing"] == balance
        assert row["opening"] + row["sales"] - row["commission"] - row["refunds"] - row["ads"] - row["payouts"] + (
            row["other"]) == row["closing"]  # fmt: skip
    aug, sep, oct_ = rows
    # By hand: B (delivered 00:30 on Sep 1 in Shanghai, still Aug 31 in UTC) is September's.
    assert (aug["sales"], sep["sales"], oct_["sales"]) == (D("1000.00"), D("500.00"), D("300.00"))
    assert (sep["refunds"], sep["ads"], sep["payouts"], sep["other"]) == (D("100.00"), D("30.00"), D("200.00"), 0)
    assert oct_["other"] == D("-20.00")  # the withdrawal asked for in October is under way, not paid out


def test_a_later_start_opens_with_the_balance_then_and_the_whole_period_is_one_row(history):
    shop = history
    months = run(owner_actor(shop), date_from="2026-08-01", date_to="2026-10-31")
    from_sep = run(owner_actor(shop), date_from="2026-09-01", date_to="2026-10-31")
    assert from_sep == months[1:]
    (whole,) = run(owner_actor(shop), date_from="2026-08-01", date_to="2026-10-31", group_by="period")
    assert whole["period"] == date(2026, 8, 1)
    assert (whole["opening"], whole["closing"]) == (months[0]["opening"], months[-1]["closing"])
    for key in ("sales", "commission", "refunds", "ads", "payouts", "other"):
        assert whole[key] == sum(r[key] for r in months), key
    days = run(owner_actor(shop), date_from="2026-08-31", date_to="2026-09-01", group_by="day")
    assert [(r["period"], r["sales"]) for r in days] == [(date(2026, 8, 31), 0), (date(2026, 9, 1), D("500.00"))]
    weeks = run(owner_actor(shop), date_from="2026-08-01", date_to="2026-10-31", group_by="week")
    assert weeks[0]["period"] == date(2026, 7, 27) and weeks[-1]["closing"] == months[-1]["closing"]
    assert sum(r["sales"] for r in weeks) == D("1800.00")


def test_only_members_who_may_see_the_ledger(history):
    shop = history
    finance = load_actor(make_member(shop, "finance").user, shop)
    assert run(finance, date_from="2026-08-01", date_to="2026-08-31")[0]["sales"] == D("1000.00")
    for role in ("viewer", "operator"):
        with pytest.raises(Forbidden):
            run(load_actor(make_member(shop, role).user, shop), date_from="2026-08-01", date_to="2026-08-31")


@pytest.mark.parametrize(
    "raw,field",
    [({"group_by": "year"}, "group_by"), ({"date_from": "2026-13-01"}, "date_from"),
     ({"date_from": "2026-09-01", "date_to": "2026-08-01"}, "date_to"), ({"account": "sales"}, "account")],
)  # fmt: skip
def test_bad_parameters_name_the_field(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        clean_params(report_type("payouts"), raw)
    assert field in caught.value.fields
