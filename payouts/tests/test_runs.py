"""Issue #13's review: the settlement reads only the unsettled sales (a partial index, constant queries), every
platform run writes one audit entry per transaction (not one per order), the finance roles of shops opened before
``payouts.approve`` existed get it (accounts migration 0007), the demo's payout clerk can sign in, a background
CSV statement is written through a temporary file (memory flat in the rows), and the fixes found on the way."""

from __future__ import annotations

import importlib
import io
import json
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry, Role, ShopGroupObjectPermission
from accounts.services.roles import set_role_permissions
from backoffice.authz import can, load_actor, system_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from backoffice.tabular import csv_lines, write_file
from payouts import selectors, services, statements
from payouts.models import Account, Kind, LedgerTransaction, StatementJob
from payouts.services import events, withdrawals
from payouts.services import statements as statement_services
from payouts.tests.factories import assert_invariants, balances, campaign, push_spend
from tests.fixtures import make_member, owner_actor, shop_today, web_client_for
from tests.races import require_postgresql

pytestmark = pytest.mark.django_db
D = Decimal
A = Account


def sale(shop, order_id: int, amount: str = "100.00", *, days_ago: int = 30) -> None:
    """A sale booked as ``sale_post`` books it (the ledger does not need the order row)."""
    refs = {"order": order_id}
    services.post(shop=shop, kind=Kind.SALE, key=str(order_id), at=timezone.now() - timedelta(days=days_ago),
                  entries=[(A.SALES, -D(amount), refs), (A.PENDING, D(amount), refs)])  # fmt: skip


def audits(shop, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.for_shop(shop).filter(action=action).order_by("id"))


# -- c. only the unsettled sales are read ------------------------------------------------------------------------
def _index_scan_rows(plan: dict, index: str) -> int | None:
    """The actual rows of the plan node scanning ``index`` (None when the plan does not use it)."""
    if plan.get("Index Name") == index:
        return plan["Actual Rows"]
    for child in plan.get("Plans", []):
        if (found := _index_scan_rows(child, index)) is not None:
            return found
    return None


def test_pending_by_maturity_reads_only_the_unsettled_sales_in_constant_queries(shop):
    require_postgresql()  # the plan read below is PostgreSQL's: fail on anything else, never skip
    actor = owner_actor(shop)
    for n in range(1, 41):
        sale(shop, 10_000 + n, days_ago=30)
    assert services.settle_matured(actor=system_actor(shop)) == 40
    assert not LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SALE, settled_at__isnull=True).exists()
    with CaptureQueriesContext(connection) as few:
        assert selectors.pending_by_maturity(shop=shop, actor=actor) == []
    for n in range(1, 4):
        sale(shop, 20_000 + n, days_ago=0)
    with CaptureQueriesContext(connection) as many:
        groups = selectors.pending_by_maturity(shop=shop, actor=actor)
    assert len(many.captured_queries) == len(few.captured_queries) == 1
    assert [(g["orders"], g["amount"]) for g in groups] == [(3, D("300.00"))]
    assert 'settled_at" IS NULL' in many.captured_queries[0]["sql"]
    # The 40 settled sales are not in the partial index the unsettled ones are read through.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show the index path
        sql, params = selectors.pending_sales(shop=shop).query.sql_with_params()
        cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        raw = cur.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    assert _index_scan_rows(plan, "ledger_sale_unsettled") == 3


def test_a_matured_sale_refunded_in_full_leaves_the_unsettled_set_without_a_settlement(shop):
    sale(shop, 30_001, "80.00")
    refs = {"order": 30_001, "refund": 1}
    services.post(shop=shop, kind=Kind.REFUND, key="1", entries=[(A.REFUNDS, D("80.00"), refs),
                                                                 (A.PENDING, D("-80.00"), refs)])  # fmt: skip
    assert not selectors.pending_sales(shop=shop).exists()  # nothing left to move
    assert services.settle_matured(actor=system_actor(shop)) == 0
    row = LedgerTransaction.objects.for_shop(shop).get(kind=Kind.SALE, key="30001")
    assert row.settled_at is not None  # closed: no later run reads it again
    assert not LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SETTLE).exists()
    assert audits(shop, "settlement.run") == []  # nothing moved, nothing to record
    assert_invariants(shop)


def test_a_zero_day_return_window_settles_and_closes_the_sale_at_delivery(shop):
    from payouts.tests.factories import delivered

    type(shop).objects.filter(pk=shop.pk).update(return_window_days=0)
    shop.refresh_from_db()
    order = delivered(shop, "200.00")
    row = LedgerTransaction.objects.for_shop(shop).get(kind=Kind.SALE, key=str(order.pk))
    assert row.settled_at is not None and balances(shop)[A.PENDING] == 0
    assert not selectors.unsettled_sales(shop=shop).exists()


def test_migration_0006_marks_the_sales_already_settled(shop):
    for n in (1, 2):
        sale(shop, 40_000 + n)
    services.settle_matured(actor=system_actor(shop))
    sale(shop, 40_003, days_ago=0)
    LedgerTransaction.objects.for_shop(shop).update(settled_at=None)  # as before the column existed
    migration = importlib.import_module("payouts.migrations.0006_sale_settled_at")
    from django.apps import apps

    migration.mark_settled(apps, SimpleNamespace(connection=connection))
    marked = dict(LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SALE)
                  .values_list("key", "settled_at"))  # fmt: skip
    settles = dict(LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SETTLE)
                   .values_list("key", "created_at"))  # fmt: skip
    assert marked == {"40001": settles["40001"], "40002": settles["40002"], "40003": None}
    others = LedgerTransaction.objects.for_shop(shop).exclude(kind=Kind.SALE)
    assert others.exists() and not others.filter(settled_at__isnull=True).exists()


# -- e. one audit entry per run ------------------------------------------------------------------------------
def test_a_settlement_run_of_many_sales_writes_one_audit_entry(shop):
    for n in range(1, 6):
        sale(shop, 50_000 + n)
    assert services.settle_matured(actor=system_actor(shop)) == 5
    [entry] = audits(shop, "settlement.run")
    assert entry.changes == {"sales": [None, 5]} and entry.target_type == "accounts.shop"
    assert entry.target_id == str(shop.pk)
    assert services.settle_matured(actor=system_actor(shop)) == 0
    assert len(audits(shop, "settlement.run")) == 1  # a run that moved nothing records nothing
    # The command (what the beat does, on demand): one more run, one more entry.
    sale(shop, 50_010)
    sale(shop, 50_011)
    call_command("payouts_settle", shop=shop.pk, stdout=io.StringIO())
    assert [e.changes["sales"] for e in audits(shop, "settlement.run")] == [[None, 5], [None, 2]]


def test_a_run_longer_than_a_batch_writes_one_entry_per_transaction(shop, monkeypatch):
    monkeypatch.setattr(events, "SETTLE_BATCH", 2)
    for n in range(1, 6):
        sale(shop, 60_000 + n)
    assert services.settle_matured(actor=system_actor(shop)) == 5
    assert [e.changes["sales"][1] for e in audits(shop, "settlement.run")] == [2, 2, 1]


def test_an_ad_spend_run_writes_one_audit_entry_for_its_charges(shop):
    from orders.tests.factories import make_sku

    sale(shop, 70_001, "1000.00")
    services.settle_matured(actor=system_actor(shop))
    sku, _wh = make_sku(shop, stock=5, price="100.00")
    c1, c2 = campaign(shop, sku.product), campaign(shop, sku.product)
    day = shop_today(shop) - timedelta(days=1)
    for c in (c1, c2):
        push_spend(shop, c, day, "10.00")
        push_spend(shop, c, day - timedelta(days=1), "5.00")
    assert services.ad_spend_sync(actor=system_actor(shop)) == 4
    [entry] = audits(shop, "ad_spend.charged")
    assert entry.changes == {"charges": [None, 4]}
    assert services.ad_spend_sync(actor=system_actor(shop)) == 0
    assert len(audits(shop, "ad_spend.charged")) == 1


def test_a_backfill_writes_one_audit_entry(shop, without_payouts_events):
    from payouts.tests.factories import delivered

    delivered(shop, "100.00")
    delivered(shop, "200.00")
    assert services.backfill(actor=system_actor(shop)) == 2
    [entry] = audits(shop, "ledger.backfilled")
    assert entry.changes == {"postings": [None, 2]}
    assert services.backfill(actor=system_actor(shop)) == 0 and len(audits(shop, "ledger.backfilled")) == 1


def test_each_withdrawal_transition_writes_exactly_one_audit_entry(shop):
    from payouts.tests.test_withdrawals import fund, payout_staff

    fund(shop, "1000.00")
    owner = owner_actor(shop)
    staff = payout_staff()
    withdrawals.payout_settings_update(actor=owner, second_approval_above="100.00")
    finance = load_actor(make_member(shop, "finance").user, shop)
    w = withdrawals.withdrawal_request(actor=owner, amount="300.00")
    w = withdrawals.withdrawal_second_approve(actor=finance, withdrawal=w)
    w = withdrawals.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    w = withdrawals.withdrawal_mark_failed(platform_user=staff, withdrawal=w, reason="closed account")
    other = withdrawals.withdrawal_request(actor=owner, amount="50.00")
    withdrawals.withdrawal_cancel(actor=owner, withdrawal=other)
    rows = AuditEntry.objects.for_shop(shop).filter(action__startswith="withdrawal.").order_by("id")
    assert [(e.action, e.target_id) for e in rows] == [
        ("withdrawal.request", str(w.pk)), ("withdrawal.second_approve", str(w.pk)),
        ("withdrawal.approve", str(w.pk)), ("withdrawal.fail", str(w.pk)),
        ("withdrawal.request", str(other.pk)), ("withdrawal.cancel", str(other.pk)),
    ]  # fmt: skip


def test_the_run_entries_read_as_sentences_in_the_audit_log(shop):
    sale(shop, 80_001)
    services.settle_matured(actor=system_actor(shop))
    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/audit/", {"action": "settlement.run"})
    assert page.status_code == 200
    assert b"Settlement: 1 sales moved from pending to available" in page.content


# -- a. payouts.approve for the finance roles of older shops -----------------------------------------------------
def test_migration_0007_grants_payouts_approve_to_built_in_finance_roles_once(shop):
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0007_finance_roles_payouts_approve")
    finance_role = Role.objects.for_shop(shop).get(key="finance")
    before_actions = ROLE_TEMPLATES["finance"][1] - {"payouts.approve"}
    set_role_permissions(finance_role, before_actions)  # a shop opened before the action existed
    member = make_member(shop, "finance")
    assert not can(load_actor(member.user, shop), "payouts.approve")
    grants = ShopGroupObjectPermission.objects.filter(content_object_id=shop.pk)
    other_before = set(grants.exclude(group_id=finance_role.group_id).values_list("group_id", "permission_id"))

    editor = SimpleNamespace(connection=connection)
    migration.grant(apps, editor)
    migration.grant(apps, editor)  # idempotent
    assert can(load_actor(member.user, shop), "payouts.approve")  # at once: the access cache was told
    approve = grants.filter(permission__codename="payouts__approve")
    assert list(approve.values_list("group_id", flat=True)) == [finance_role.group_id]
    assert set(grants.exclude(group_id=finance_role.group_id).values_list("group_id", "permission_id")) == other_before
    assert not can(load_actor(make_member(shop, "admin").user, shop), "payouts.approve")  # finance's alone


# -- b. the demo's payout clerk ----------------------------------------------------------------------------------
def test_the_demo_payout_clerk_signs_in_with_the_demo_password(db):
    from django.contrib.auth import get_user_model

    from payouts.management.commands import load_payouts_demo as demo

    old = get_user_model().objects.create_user(username=demo.PLATFORM_USER, email="x@example.com", is_staff=True)
    old.set_unusable_password()
    old.save()  # as an earlier demo left it
    clerk = demo.platform_user()
    assert clerk.check_password(demo.DEMO_PASSWORD) and clerk.is_staff
    assert clerk.has_perm("payouts.change_withdrawal")
    clerk.set_password("changed-by-someone-2026")
    clerk.save()
    assert demo.platform_user().check_password("changed-by-someone-2026")  # a password someone set is kept
    from django.test import Client

    client = Client()
    signed_in = client.post("/admin/login/", {"username": demo.PLATFORM_USER, "password": "changed-by-someone-2026",
                                              "next": "/admin/"})  # fmt: skip
    assert signed_in.status_code == 302
    assert client.get("/admin/payouts/withdrawal/").status_code == 200


# -- d. a background CSV statement: through a temporary file ---------------------------------------------------
def test_a_background_csv_statement_is_the_streamed_csv_built_through_a_temporary_file(shop):
    for n in range(1, 4):
        sale(shop, 90_000 + n, days_ago=0)
    services.settle_matured(actor=system_actor(shop), now=timezone.now() + timedelta(days=30))
    owner = owner_actor(shop)
    month = shop_today(shop).strftime("%Y-%m")
    job = statement_services.statement_export_create(actor=owner, kind="month", fmt="csv", params={"month": month})
    job = statement_services.statement_export_build(actor=system_actor(shop), job_id=job.pk)
    assert job.status == StatementJob.Status.DONE, job.message
    with job.file.open("rb") as f:
        built = f.read()
    statement = statements.month_statement(shop=shop, actor=owner, month=month)
    header, rows = statements.table(statement)
    streamed = "".join(csv_lines(header, rows)).encode()
    assert built == streamed and job.processed_rows == 3 + 3 + 2  # opening, 3 sales, 3 settlements, closing


def test_the_csv_writer_memory_does_not_grow_with_the_rows(shop):
    header = ["line", "memo", "amount"]

    def rows(n: int):
        for i in range(n):
            yield [i, f"order {i} " + "x" * 150, D("12345.67")]

    def peak(fn) -> int:
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    job = StatementJob(shop=shop, kind="month", fmt="csv")
    small = peak(lambda: statement_services._save_csv(job, "small.csv", header, rows(1_000)))
    big = peak(lambda: statement_services._save_csv(job, "big.csv", header, rows(40_000)))
    in_memory = peak(lambda: write_file("csv", header, rows(40_000)))
    assert job.file.size > 6_000_000  # 40,000 rows of ~170 bytes
    assert big < 2 * small + 512 * 1024, (small, big)  # flat: not 40 times the small file's
    assert big * 5 < in_memory, (big, in_memory)


# -- bugs found in the review ------------------------------------------------------------------------------------
def test_a_zero_threshold_shows_as_zero_and_survives_a_save_of_the_settings_page(shop):
    withdrawals.payout_settings_update(actor=owner_actor(shop), second_approval_above="0")
    web = web_client_for(shop.owner)
    page = web.get(f"/shops/{shop.pk}/payouts/settings/")
    assert page.status_code == 200
    assert b'name="second_approval_above" value="0.00"' in page.content  # was shown empty: "off"
    saved = web.post(f"/shops/{shop.pk}/payouts/settings/", {"second_approval_above": "0.00"})
    assert saved.status_code == 302
    assert selectors.payout_settings(shop=shop).second_approval_above == D("0.00")


def test_payouts_settle_refuses_an_impossible_now_with_a_message(shop):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--now"):
        call_command("payouts_settle", shop=shop.pk, now="2026-13-01T00:00:00+00:00", stdout=io.StringIO())
