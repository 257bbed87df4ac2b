"""The payouts demo (``load_payouts_demo``) on a demo shop built as ``make run`` builds it: the catalog demo, the
storefront simulator, the promotions demo, then this. Built once for the module (inside a transaction rolled back
at the end: nothing leaks to other modules); each test reads it in its own savepoint."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from payouts import selectors, statements
from payouts.models import Account, Kind, LedgerEntry, LedgerTransaction, Withdrawal
from payouts.tests.factories import assert_invariants
from tests.fixtures import make_member, make_shop, owner_actor, web_client_for


@pytest.fixture(scope="module")
def demo_shop(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        shop = make_shop("Payouts demo shop")
        for command in ("load_catalog_demo", "simulate_orders", "load_promotions_demo"):
            call_command(command, shop=[shop.pk], stdout=io.StringIO())
        out = io.StringIO()
        call_command("load_payouts_demo", shop=[shop.pk], stdout=out)
        before = list(LedgerTransaction.objects.for_shop(shop).order_by("id").values_list("id", flat=True))
        again = io.StringIO()
        call_command("load_payouts_demo", shop=[shop.pk], stdout=again)
        yield shop, out.getvalue(), again.getvalue(), before
        transaction.set_rollback(True)


@pytest.fixture
def built(demo_shop, db):
    return demo_shop


def test_settled_and_pending_sales_a_refund_and_ad_charges(built):
    shop, out, _again, _before = built
    kinds = set(LedgerTransaction.objects.for_shop(shop).values_list("kind", flat=True))
    assert {Kind.SALE, Kind.SETTLE, Kind.REFUND, Kind.AD_SPEND, Kind.WITHDRAWAL} <= kinds, out
    assert selectors.pending_sales(shop=shop).exists()  # the younger half still waits for its window
    b = selectors.balance(shop=shop)
    assert b[Account.PENDING] > 0 and b[Account.AVAILABLE] > 0 and b[Account.ADS] > 0 and b[Account.REFUNDS] > 0
    assert_invariants(shop)


def test_one_paid_one_requested_one_awaiting_approval(built):
    shop, out, _again, _before = built
    statuses = sorted(Withdrawal.objects.for_shop(shop).values_list("status", flat=True))
    assert statuses == ["awaiting_approval", "paid", "requested"], out
    paid = Withdrawal.objects.for_shop(shop).get(status="paid")
    assert paid.bank_reference and selectors.balance(shop=shop)[Account.PAYOUTS] == paid.amount
    in_transit = sum(w.amount for w in Withdrawal.objects.for_shop(shop).exclude(status="paid"))
    assert selectors.balance(shop=shop)[Account.IN_TRANSIT] == in_transit
    # A finance member may give the second approval (the owner asked for it); the statements list the payout.
    awaiting = Withdrawal.objects.for_shop(shop).get(status="awaiting_approval")
    finance = make_member(shop, "finance")
    page = web_client_for(finance.user).get(f"/shops/{shop.pk}/payouts/withdrawals/{awaiting.pk}/")
    assert page.status_code == 200
    statement = statements.payout_statement(shop=shop, actor=owner_actor(shop), withdrawal=paid.pk)
    kinds = {row[4] for row in statements.statement_rows(statement)}
    assert {"sale", "settle", "withdrawal"} <= kinds
    assert LedgerEntry.objects.for_shop(shop).filter(withdrawal_id=paid.pk, account=Account.PAYOUTS).exists()


def test_running_it_again_books_and_withdraws_nothing_more(built):
    shop, _out, again, before = built
    assert "withdrawals already there" in again and "0 postings booked" in again
    assert list(LedgerTransaction.objects.for_shop(shop).order_by("id").values_list("id", flat=True)) == before
    assert Withdrawal.objects.for_shop(shop).count() == 3
