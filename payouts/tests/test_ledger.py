"""The posting service (shape, idempotency, funds) and the database's own guards (PostgreSQL triggers), and
``payouts_verify`` catching an entry changed behind the ledger's back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from backoffice.errors import Conflict
from payouts import services, tasks
from payouts.models import Account, Kind, LedgerEntry, LedgerTransaction
from payouts.tests.factories import assert_invariants, balances, delivered
from tests.races import require_postgresql

pytestmark = pytest.mark.django_db
D = Decimal
A = Account


def fund(shop, amount: str = "1000.00", key: str = "fund"):
    return services.post(shop=shop, kind=Kind.ADJUSTMENT, key=key,
                         entries=[(A.ADJUSTMENTS, -D(amount)), (A.AVAILABLE, D(amount))])  # fmt: skip


def test_post_is_idempotent_on_its_business_key(shop):
    assert fund(shop) is not None
    assert fund(shop) is None
    assert balances(shop)[A.AVAILABLE] == D("1000.00")
    assert LedgerTransaction.objects.for_shop(shop).count() == 1
    assert_invariants(shop)


@pytest.mark.parametrize(
    "entries",
    [
        [(A.AVAILABLE, D("1.00")), (A.ADJUSTMENTS, D("-0.99"))],  # unbalanced
        [(A.AVAILABLE, D("0.00")), (A.ADJUSTMENTS, D("0.00"))],  # nothing
        [(A.AVAILABLE, 1.0), (A.ADJUSTMENTS, -1.0)],  # floats
        [(A.AVAILABLE, D("0.001")), (A.ADJUSTMENTS, D("-0.001"))],  # below a cent
        [("cash", D("1.00")), (A.ADJUSTMENTS, D("-1.00"))],  # no such account
    ],
)
def test_post_refuses_a_malformed_transaction(shop, entries):
    with pytest.raises(ValueError):
        services.post(shop=shop, kind=Kind.ADJUSTMENT, key="bad", entries=entries)
    assert LedgerTransaction.objects.for_shop(shop).count() == 0


def test_available_never_goes_below_zero(shop):
    fund(shop, "100.00")
    debit = [(A.AVAILABLE, D("-100.01")), (A.IN_TRANSIT, D("100.01"))]
    with pytest.raises(Conflict) as exc:
        services.post(shop=shop, kind=Kind.WITHDRAWAL, key="1:request", entries=debit)
    assert exc.value.code == "insufficient_funds" and exc.value.status_code == 409
    assert balances(shop)[A.AVAILABLE] == D("100.00")
    assert not LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.WITHDRAWAL).exists()


@pytest.fixture
def pg():
    require_postgresql()


def test_entries_cannot_be_updated_or_deleted(shop, pg):
    delivered(shop, "100.00")
    entry = LedgerEntry.objects.for_shop(shop).first()
    for sql in ("UPDATE payouts_ledgerentry SET amount = amount + 1 WHERE id = %s",
                "DELETE FROM payouts_ledgerentry WHERE id = %s"):  # fmt: skip
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [entry.pk])
    assert LedgerEntry.objects.for_shop(shop).get(pk=entry.pk).amount == entry.amount


def test_an_unbalanced_transaction_is_refused_at_commit(shop, pg):
    txn = LedgerTransaction.objects.for_shop(shop).create(shop=shop, kind=Kind.ADJUSTMENT, key="raw",
                                                          occurred_at="2026-01-01T00:00Z")  # fmt: skip
    with pytest.raises(DatabaseError, match="unbalanced"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("INSERT INTO payouts_ledgerentry (shop_id, transaction_id, account, amount, kind, created_at) "
                    "VALUES (%s, %s, 'available', 5, 'adjustment', now()), (%s, %s, 'adjustments', -4, 'adjustment', now())",
                    [shop.pk, txn.pk, shop.pk, txn.pk])  # fmt: skip
        # The test runs inside one transaction that never commits: make the deferred check run now, as COMMIT would.
        cur.execute("SET CONSTRAINTS payouts_txn_zero_sum IMMEDIATE")
    with transaction.atomic(), connection.cursor() as cur:  # a balanced one passes the same check
        cur.execute("INSERT INTO payouts_ledgerentry (shop_id, transaction_id, account, amount, kind, created_at) "
                    "VALUES (%s, %s, 'available', 5, 'adjustment', now()), (%s, %s, 'adjustments', -5, 'adjustment', now())",
                    [shop.pk, txn.pk, shop.pk, txn.pk])  # fmt: skip
        cur.execute("SET CONSTRAINTS payouts_txn_zero_sum IMMEDIATE")


def test_tampering_with_an_entry_makes_payouts_verify_fail(shop, pg):
    delivered(shop, "100.00")
    call_command("payouts_verify")
    entry = LedgerEntry.objects.for_shop(shop).filter(account=A.PENDING).first()
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending commit-time checks first
        cur.execute("ALTER TABLE payouts_ledgerentry DISABLE TRIGGER payouts_entry_immutable")
        cur.execute("UPDATE payouts_ledgerentry SET amount = amount + 7 WHERE id = %s", [entry.pk])
        cur.execute("ALTER TABLE payouts_ledgerentry ENABLE TRIGGER payouts_entry_immutable")
    drifts = services.ledger_verify(shop=shop)
    assert {(d.what, d.found - d.expected) for d in drifts} == {("balance", D("-7.00")), ("transaction", D("7.00"))}
    with pytest.raises(CommandError, match="2 problem"):
        call_command("payouts_verify")
    assert tasks.verify() == 2  # the nightly beat task finds the same
