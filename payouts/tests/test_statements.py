"""Statements (a month, a payout) and the reconciliation export (``payouts.statements``): exact rows for a known
history booked through the services with the clock moved, opening + movements = closing, sums per kind, the
month's boundary in the shop's time zone, the background path, 400s naming the parameter, 403 and 404.

The history (shop in Asia/Shanghai, UTC+8; 5 % commission; 14-day return window) is built once for the module
inside a transaction rolled back at the end; each test reads it in its own savepoint."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Shop
from backoffice.authz import system_actor
from orders.tests.factories import make_sku
from payouts import services, statements
from payouts.models import Account, LedgerEntry, StatementJob
from payouts.services import withdrawals
from payouts.tests.factories import assert_invariants, campaign, delivered, push_spend, refund
from tests.fixtures import api_client_for, make_member, make_shop, owner_actor, web_client_for

D = Decimal
ZONE = ZoneInfo("Asia/Shanghai")
ACCOUNTS = statements.ACCOUNTS


def at(*args) -> datetime:
    return datetime(*args, tzinfo=ZONE)


def paid(shop, staff, amount: str):
    w = withdrawals.withdrawal_request(actor=owner_actor(shop), amount=amount)
    w = withdrawals.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    return withdrawals.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference=f"BANK-{w.pk}")


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """Oct 20: order A 1000.00 delivered. Nov 1 00:30 Shanghai (Oct 31 16:30 UTC): order B 500.00. Nov 10: A
    settles, B is refunded 100.00, a campaign's Nov 9 spend of 30.00 is charged, a withdrawal of 200.00 is paid
    (payout 1). Dec 1 00:30: order C 300.00, a withdrawal of 20.00 paid (payout 2)."""
    with django_db_blocker.unblock(), transaction.atomic():
        shop = make_shop("Statements")
        Shop.objects.filter(pk=shop.pk).update(timezone="Asia/Shanghai")
        shop.refresh_from_db()
        staff = get_user_model().objects.create_superuser(username="statements-staff", password="x-pass-2026-1",
                                                          email="statements-staff@example.com")  # fmt: skip
        sku, _wh = make_sku(shop, stock=50, price="1000.00")
        h = {"shop": shop, "staff": staff}
        with time_machine.travel(at(2026, 10, 20, 10, 0), tick=False):
            h["a"] = delivered(shop, "1000.00", sku=sku)
            h["campaign"] = campaign(shop, sku.product)
        with time_machine.travel(at(2026, 11, 1, 0, 30), tick=False):
            h["b"] = delivered(shop, "500.00", sku=sku)
        with time_machine.travel(at(2026, 11, 10, 12, 0), tick=False):
            services.settle_matured(actor=system_actor(shop))
            h["refund"] = refund(shop, h["b"], "100.00")
            push_spend(shop, h["campaign"], date(2026, 11, 9), "30.00")
            services.ad_spend_sync(actor=system_actor(shop))
            h["w1"] = paid(shop, staff, "200.00")
        with time_machine.travel(at(2026, 12, 1, 0, 30), tick=False):
            h["c"] = delivered(shop, "300.00", sku=sku)
            h["w2"] = paid(shop, staff, "20.00")
        yield h
        transaction.set_rollback(True)


@pytest.fixture
def h(history, db):
    return history


def _read(response) -> list[list[str]]:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _col(header: list[str], name: str) -> int:
    return header.index(name)


def _money(rows, header, line: str) -> dict[str, Decimal]:
    row = next(r for r in rows if r[0] == line)
    return {a: D(row[_col(header, a)]) for a in ACCOUNTS}


def _api(h, path: str, **params):
    return api_client_for(h["shop"].owner).get(f"/api/v1/shops/{h['shop'].pk}/{path}", params)


def test_the_month_in_the_shops_zone_lists_its_transactions_between_opening_and_closing(h):
    shop = h["shop"]
    rows = _read(_api(h, "statements/", month="2026-11", format="csv"))
    header, body = rows[0], rows[1:]
    assert header == statements.STATEMENT_COLUMNS
    kind, order, refund_col = _col(header, "kind"), _col(header, "order"), _col(header, "refund")
    lines = [(r[0], r[kind], r[order], r[refund_col]) for r in body]
    # Order B was delivered at 00:30 on Nov 1 in Shanghai (Oct 31 in UTC): November's, in the shop's zone.
    assert lines == [
        ("opening", "", "", ""),
        ("transaction", "sale", h["b"].number, ""),
        ("transaction", "settle", h["a"].number, ""),
        ("transaction", "refund", h["b"].number, str(h["refund"].pk)),
        ("transaction", "ad_spend", "", ""),
        ("transaction", "withdrawal", "", ""),
        ("transaction", "withdrawal", "", ""),
        ("closing", "", "", ""),
    ]
    opening, closing = _money(body, header, "opening"), _money(body, header, "closing")
    assert opening == {**dict.fromkeys(ACCOUNTS, D(0)), "sales": D("-1000.00"), "pending": D("950.00"),
                       "commission": D("50.00")}  # fmt: skip
    assert closing == {**dict.fromkeys(ACCOUNTS, D(0)), "sales": D("-1500.00"), "pending": D("380.00"),
                       "available": D("720.00"), "commission": D("70.00"), "refunds": D("100.00"),
                       "ads": D("30.00"), "payouts": D("200.00")}  # fmt: skip
    # Opening + every row's movement = closing, account by account; the balance column is pending + available.
    for account in ACCOUNTS:
        moved = sum((D(r[_col(header, account)]) for r in body if r[0] == "transaction"), D(0))
        assert opening[account] + moved == closing[account], account
    assert [r[-1] for r in body if r[0] != "transaction"] == ["950.00", "1100.00"]
    ad = next(r for r in body if r[kind] == "ad_spend")
    assert (ad[_col(header, "campaign")], ad[_col(header, "ad_day")], ad[_col(header, "ads")]) == (
        str(h["campaign"].pk), "2026-11-09", "30.00")  # fmt: skip
    # The same figures from the summary (the page's), and the next month opens where this one closed.
    summary = statements.summary(statements.month_statement(shop=shop, actor=owner_actor(shop), month="2026-11"))
    assert (
        summary["opening"] == opening and summary["closing"] == closing and summary["entries"] == 4 + 2 + 3 + 2 + 2 + 2
    )
    december = statements.summary(statements.month_statement(shop=shop, actor=owner_actor(shop), month="2026-12"))
    assert december["opening"] == closing
    october = _read(_api(h, "statements/", month="2026-10"))
    assert [r[_col(header, "kind")] for r in october[1:]] == ["", "sale", ""]
    assert_invariants(shop)


def test_sums_per_kind_match_what_the_services_booked(h):
    shop = h["shop"]
    by_kind = statements.summary(statements.month_statement(shop=shop, actor=owner_actor(shop), month="2026-11"))[
        "by_kind"
    ]
    assert set(by_kind) == {"sale", "settle", "refund", "ad_spend", "withdrawal"}
    assert (by_kind["sale"]["sales"], by_kind["sale"]["commission"], by_kind["sale"]["pending"]) == (
        D("-500.00"), D("25.00"), D("475.00"))  # fmt: skip
    assert (by_kind["settle"]["pending"], by_kind["settle"]["available"]) == (D("-950.00"), D("950.00"))
    assert (by_kind["refund"]["refunds"], by_kind["refund"]["commission"], by_kind["refund"]["pending"]) == (
        D("100.00"), D("-5.00"), D("-95.00"))  # fmt: skip
    assert (by_kind["ad_spend"]["ads"], by_kind["ad_spend"]["available"]) == (D("30.00"), D("-30.00"))
    assert (by_kind["withdrawal"]["payouts"], by_kind["withdrawal"]["available"], by_kind["withdrawal"]["in_transit"]) == (
        D("200.00"), D("-200.00"), D("0"))  # fmt: skip
    for kind, moves in by_kind.items():
        assert sum(moves.values(), D(0)) == 0, kind  # every transaction sums to zero, so does every kind


def test_a_payout_covers_what_was_booked_since_the_previous_payout(h):
    first = _read(_api(h, f"statements/payout/{h['w1'].pk}/"))
    header = first[0]
    kinds = [r[_col(header, "kind")] for r in first[1:-1]]
    # Everything from the shop's first posting up to and including payout 1's paid step.
    assert kinds == ["", "sale", "sale", "settle", "refund", "ad_spend", "withdrawal", "withdrawal"]
    assert _money(first, header, "opening") == dict.fromkeys(ACCOUNTS, D(0))
    closing = _money(first, header, "closing")
    assert closing["payouts"] == D("200.00") and closing["available"] == D("720.00")
    second = _read(_api(h, f"statements/payout/{h['w2'].pk}/", format="csv"))
    assert [r[_col(header, "kind")] for r in second[1:-1]] == ["", "sale", "withdrawal", "withdrawal"]
    assert _money(second, header, "opening") == closing  # it opens where payout 1 closed
    assert [r[_col(header, "withdrawal")] for r in second[2:-1] if r[_col(header, "kind")] == "withdrawal"] == [
        str(h["w2"].pk)] * 2  # fmt: skip
    assert _money(second, header, "closing")["payouts"] == D("220.00")


def test_the_reconciliation_export_names_each_entrys_source_and_payout(h):
    rows = _read(_api(h, "reconciliation/", **{"from": "2026-11-01", "to": "2026-12-31"}))
    header, body = rows[0], rows[1:]
    assert header == statements.RECONCILIATION_COLUMNS
    assert len(body) == LedgerEntry.objects.for_shop(h["shop"]).count() - 4  # all but order A's sale (October)
    col = {name: _col(header, name) for name in header}
    refund_rows = [r for r in body if r[col["kind"]] == "refund"]
    assert {(r[col["order"]], r[col["refund"]]) for r in refund_rows} == {(h["b"].number, str(h["refund"].pk))}
    assert {r[col["ad_day"]] for r in body if r[col["kind"]] == "ad_spend"} == {"2026-11-09"}
    # Settled in payout 1: everything up to its paid step; in payout 2: order C and the second withdrawal.
    assert {r[col["payout"]] for r in body if r[col["order"]] == h["b"].number} == {str(h["w1"].pk)}
    assert {r[col["payout"]] for r in body if r[col["order"]] == h["c"].number} == {str(h["w2"].pk)}
    assert {r[col["payout"]] for r in body if r[col["withdrawal"]] == str(h["w2"].pk)} == {str(h["w2"].pk)}
    assert sum(D(r[col["amount"]]) for r in body) == 0
    xlsx = _api(h, "reconciliation/", **{"from": "2026-11-01", "to": "2026-11-30", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == statements.RECONCILIATION_COLUMNS
    assert sheet.max_row == 1 + 4 + 2 + 3 + 2 + 2 + 2


def test_a_statement_costs_the_same_queries_whatever_its_size(h):
    shop = h["shop"]
    api = api_client_for(shop.owner)

    def queries(path: str, **params) -> int:
        _read(api.get(path, params))  # the access cache warm
        with CaptureQueriesContext(connection) as ctx:
            _read(api.get(path, params))
        return len(ctx.captured_queries)

    base = f"/api/v1/shops/{shop.pk}"
    queries(f"{base}/balance/")  # the member's first requests settle their access cache
    assert queries(f"{base}/statements/", month="2026-11") == queries(f"{base}/statements/", month="2026-10")
    small = queries(f"{base}/reconciliation/", **{"from": "2026-10-01", "to": "2026-10-31"})
    assert queries(f"{base}/reconciliation/", **{"from": "2026-10-01", "to": "2026-12-31"}) == small


def test_a_big_period_goes_through_a_background_job(h, monkeypatch):
    shop = h["shop"]
    monkeypatch.setattr(statements, "STREAM_MAX_ROWS", 5)
    r = _api(h, "statements/", month="2026-11")
    assert r.status_code == 409 and r.json()["error"]["code"] == "statement_too_large"
    api = api_client_for(shop.owner)
    created = api.post(f"/api/v1/shops/{shop.pk}/statement-exports/", {"kind": "month", "month": "2026-11",
                                                                       "format": "xlsx"})  # fmt: skip
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "pending" and job["download_url"] is None and job["params"] == {"month": "2026-11"}
    built = services.statement_export_build(actor=system_actor(shop), job_id=job["id"])
    assert built.status == StatementJob.Status.DONE and built.processed_rows == 8 and built.progress == 100
    polled = api.get(job["url"]).json()
    assert polled["status"] == "done" and polled["download_url"]
    download = api.get(polled["download_url"])
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["opening", *["transaction"] * 6,
                                                                                "closing"]  # fmt: skip
    # The page: too big to download directly → a page offering to prepare it; the POST starts a job.
    web = web_client_for(shop.owner)
    page = web.get(f"/shops/{shop.pk}/payouts/statements/month/", {"month": "2026-11", "format": "csv"})
    assert page.status_code == 409 and b'id="prepare-form"' in page.content
    before = StatementJob.objects.for_shop(shop).count()
    started = web.post(f"/shops/{shop.pk}/payouts/statements/", {"kind": "payout", "withdrawal": h["w1"].pk,
                                                                 "format": "csv"})  # fmt: skip
    assert started.status_code == 302 and StatementJob.objects.for_shop(shop).count() == before + 1
    listing = web.get(f"/shops/{shop.pk}/payouts/statements/")
    assert listing.status_code == 200 and f'data-download="{built.pk}"'.encode() in listing.content
    assert b"hx-trigger" in listing.content  # a job is still pending: the list polls


def test_a_member_who_lost_payouts_view_gets_a_failed_job(h):
    shop = h["shop"]
    finance = make_member(shop, "finance")
    from backoffice.authz import load_actor

    job = services.statement_export_create(actor=load_actor(finance.user, shop), kind="month", fmt="csv",
                                           params={"month": "2026-11"})  # fmt: skip
    from accounts import services as accounts_services

    accounts_services.staff_deactivate(actor=owner_actor(shop), membership=finance)
    built = services.statement_export_build(actor=system_actor(shop), job_id=job.pk)
    assert built.status == StatementJob.Status.FAILED and not built.file


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [("statements/", {"month": "2026-13"}, "month"), ("statements/", {"month": "november"}, "month"),
     ("statements/", {"month": "2026-11", "format": "pdf"}, "format"),
     ("reconciliation/", {"from": "2026-02-30"}, "from"), ("reconciliation/", {"to": "tomorrow"}, "to"),
     ("reconciliation/", {"from": "2026-11-02", "to": "2026-11-01"}, "to"),
     ("statements/payout/{w1}/", {"format": "doc"}, "format")],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_naming_it(h, path, params, field):
    r = _api(h, path.format(w1=h["w1"].pk), **params)
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content


@pytest.mark.parametrize(
    ("body", "field"),
    [({"kind": "month"}, "month"), ({"kind": "payout", "withdrawal": 999999999}, "withdrawal"),
     ({"kind": "week"}, "kind"), ({"kind": "month", "month": "2026-11", "format": "pdf"}, "format"),
     ({"kind": "reconciliation", "from": "2026-11-31"}, "from")],
)  # fmt: skip
def test_a_bad_background_statement_is_a_400_naming_it_and_creates_nothing(h, body, field):
    shop = h["shop"]
    before = StatementJob.objects.for_shop(shop).count()
    r = api_client_for(shop.owner).post(f"/api/v1/shops/{shop.pk}/statement-exports/", body)
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content
    assert StatementJob.objects.for_shop(shop).count() == before
    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/payouts/statements/", {"month": "2026-13"})
    assert page.status_code == 400 and b'id="month-error"' in page.content


def test_roles_without_payouts_view_get_403_and_other_shops_404(h):
    shop = h["shop"]
    viewer = make_member(shop, "viewer").user
    for path in ("statements/", f"statements/payout/{h['w1'].pk}/", "reconciliation/", "statement-exports/"):
        r = api_client_for(viewer).get(f"/api/v1/shops/{shop.pk}/{path}")
        assert r.status_code == 403 and "1500.00" not in r.content.decode(), path
        assert api_client_for(make_shop().owner).get(f"/api/v1/shops/{shop.pk}/{path}").status_code == 404
    assert web_client_for(viewer).get(f"/shops/{shop.pk}/payouts/statements/").status_code == 403
    finance = api_client_for(make_member(shop, "finance").user)
    assert finance.get(f"/api/v1/shops/{shop.pk}/statements/", {"month": "2026-11"}).status_code == 200
    # Another shop's paid withdrawal, or one not paid, has no payout statement here.
    other = make_shop()
    assert finance.get(f"/api/v1/shops/{shop.pk}/statements/payout/{h['w1'].pk + 1000}/").status_code == 404
    other_api = api_client_for(other.owner)
    assert other_api.get(f"/api/v1/shops/{other.pk}/statements/payout/{h['w1'].pk}/").status_code == 404
    job = services.statement_export_create(
        actor=owner_actor(shop), kind="month", fmt="csv", params={"month": "2026-11"}
    )
    services.statement_export_build(actor=system_actor(shop), job_id=job.pk)
    assert other_api.get(f"/api/v1/shops/{other.pk}/statement-exports/{job.pk}/download/").status_code == 404
    assert web_client_for(other.owner).get(
        f"/shops/{other.pk}/payouts/statements/jobs/{job.pk}/download/").status_code == 404  # fmt: skip


def test_the_statements_page_shows_the_month_and_the_payouts_with_their_downloads(h):
    shop = h["shop"]
    web = web_client_for(shop.owner)
    page = web.get(f"/shops/{shop.pk}/payouts/statements/", {"month": "2026-11"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<span data-opening>950.00</span>" in html and "<span data-closing>1100.00</span>" in html
    assert f'data-payout="{h["w1"].pk}"' in html and f"BANK-{h['w1'].pk}" in html
    assert f"/payouts/statements/payout/{h['w2'].pk}/?format=xlsx" in html
    assert web.get(f"/shops/{shop.pk}/payouts/statements/", {"page": "x", "jobs_page": "99"}).status_code == 200
    download = web.get(f"/shops/{shop.pk}/payouts/statements/payout/{h['w1'].pk}/", {"format": "csv"})
    assert [r[0] for r in _read(download)][-1] == "closing"
    bad = web.get(f"/shops/{shop.pk}/payouts/statements/reconciliation/", {"from": "2026-11-31"})
    assert bad.status_code == 400 and b"from" in bad.content
    later = datetime.now(tz=ZONE) + timedelta(days=1)
    assert web.get(f"/shops/{shop.pk}/payouts/statements/month/", {"month": later.strftime("%Y-%m")}).status_code == 200
    assert Account.PAYOUTS in statements.ACCOUNTS
