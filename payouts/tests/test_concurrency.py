"""The ledger under concurrent postings on PostgreSQL (``tests.races.race``: threads released together, each on
its own connection; a deadlock, a 500 or any unexpected error fails the test). Invariants checked after each."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.authz import system_actor
from backoffice.errors import Conflict
from orders import services as orders
from orders.tests.factories import make_sku, order_in
from payouts import services
from payouts.models import Account, Kind, LedgerTransaction
from payouts.tests.factories import assert_invariants, balances, delivered, refund, settle
from tests.fixtures import owner_actor
from tests.races import race, require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
A = Account


@pytest.fixture(autouse=True)
def _postgresql():
    require_postgresql()


def booked(results) -> int:
    return sum(r is not None for r in results)


def test_delivery_refund_and_settlement_replayed_ten_times_at_once_are_booked_once(shop, without_payouts_events):
    order = delivered(shop, "1000.00")  # not heard: the race books it
    actor = system_actor(shop)
    assert booked(race(10, lambda i: services.sale_post(actor=actor, order=order))) == 1
    r = refund(shop, order, "100.00")
    assert booked(race(10, lambda i: services.refund_post(actor=actor, order=order, refund=r))) == 1
    assert sum(race(10, lambda i: settle(shop, days=15))) == 1
    kinds = sorted(LedgerTransaction.objects.for_shop(shop).values_list("kind", flat=True))
    assert kinds == ["refund", "sale", "settle"]
    assert balances(shop)[A.AVAILABLE] == D("855.00")
    assert_invariants(shop)


def test_a_hundred_debits_of_100_01_against_1000_00_at_most_nine_succeed(shop):
    services.post(shop=shop, kind=Kind.ADJUSTMENT, key="fund",
                  entries=[(A.ADJUSTMENTS, D("-1000.00")), (A.AVAILABLE, D("1000.00"))])  # fmt: skip

    def debit(i: int):
        refs = {"withdrawal": i + 1}
        return services.post(shop=shop, kind=Kind.WITHDRAWAL, key=f"{i + 1}:request",
                             entries=[(A.AVAILABLE, D("-100.01"), refs), (A.IN_TRANSIT, D("100.01"), refs)])  # fmt: skip

    results = race(100, debit, expected=(Conflict,))
    ok = [r for r in results if isinstance(r, LedgerTransaction)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(ok) == 9 and len(refused) == 91
    assert {c.code for c in refused} == {"insufficient_funds"}
    b = balances(shop)
    assert (b[A.AVAILABLE], b[A.IN_TRANSIT]) == (D("99.91"), D("900.09"))
    assert b[A.AVAILABLE] + b[A.IN_TRANSIT] == D("1000.00")
    assert_invariants(shop)


def test_deliveries_refunds_and_settlements_of_one_shop_at_once_do_not_deadlock(shop):
    sku, _wh = make_sku(shop, stock=40, price="100.00")
    on_the_way = [order_in(shop, "delivering", sku=sku, unit_price="100.00") for _ in range(4)]
    done = [delivered(shop, "100.00", sku=sku) for _ in range(4)]
    owner = owner_actor(shop)

    def work(i: int):
        if i % 3 == 0:
            return orders.order_deliver(actor=owner, order=on_the_way[i // 3])
        if i % 3 == 1:
            return refund(shop, done[i // 3], "10.00")
        return settle(shop, days=15)

    race(12, work)
    assert LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.SALE).count() == 8
    assert LedgerTransaction.objects.for_shop(shop).filter(kind=Kind.REFUND).count() == 4
    settle(shop, days=15)
    assert balances(shop)[A.PENDING] == 0
    assert_invariants(shop)
