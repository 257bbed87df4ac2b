"""A Hypothesis state machine over random event sequences (deliver, refund, settle, ad spend pushed and
re-pushed, replays): after every step the ledger's invariants hold and the balances match a plain model."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from backoffice.authz import system_actor
from orders.tests.factories import make_sku, order_in
from payouts import services
from payouts.models import Account
from payouts.tests.factories import assert_invariants, balances, campaign, push_spend, refund, settle
from tests.fixtures import shop_today

pytestmark = pytest.mark.django_db
D = Decimal
A = Account
CENT = D("0.01")
RATE = D("0.05")  # the test shop is platinum
money = st.decimals(min_value=D("0.01"), max_value=D("3000.00"), places=2)


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def test_random_event_sequences_keep_the_ledger_sound(shop):
    sku, _wh = make_sku(shop, stock=10_000, price="100.00")
    ad = campaign(shop, sku.product)
    actor = system_actor(shop)
    today = shop_today(shop)

    class Ledger(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.orders: list[list] = []  # [order, refunded]
            self.spend: dict[int, Decimal] = {}  # day offset -> last pushed spend

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @rule(price=money)
        def deliver(self, price):
            order = order_in(shop, "delivered", sku=sku, unit_price=str(price))
            self.orders.append([order, D(0)])

        @precondition(lambda self: any(o.total > r for o, r in self.orders))
        @rule(data=st.data(), share=st.integers(min_value=1, max_value=100))
        def refund(self, data, share):
            open_ = [pair for pair in self.orders if pair[0].total > pair[1]]
            pair = data.draw(st.sampled_from(open_))
            amount = max(_round((pair[0].total - pair[1]) * share / 100), CENT)
            refund(shop, pair[0], str(amount))
            pair[1] += amount

        @rule(days=st.sampled_from([0, 15]))
        def settle(self, days):
            settle(shop, days=days)

        @rule(offset=st.integers(min_value=1, max_value=3), spend=st.decimals(min_value=0, max_value=500, places=2))
        def push_ad_spend(self, offset, spend):
            push_spend(shop, ad, today - timedelta(days=offset), str(spend))
            self.spend[offset] = spend
            services.ad_spend_sync(actor=actor)

        @precondition(lambda self: self.orders)
        @rule(data=st.data())
        def replay_a_sale(self, data):
            order, _refunded = data.draw(st.sampled_from(self.orders))
            assert services.sale_post(actor=actor, order=order) is None

        @invariant()
        def sound(self):
            assert_invariants(shop)
            b = balances(shop)
            assert b[A.SALES] == -sum((o.total for o, _r in self.orders), D(0))
            assert b[A.REFUNDS] == sum((r for _o, r in self.orders), D(0))
            assert b[A.ADS] == sum(self.spend.values(), D(0))
            commission = D(0)
            for o, r in self.orders:
                c = _round(o.total * RATE)
                commission += c - _round(c * r / o.total)
            assert b[A.COMMISSION] == commission
            assert not (b[A.AVAILABLE] > 0 and b[A.DEBT] < 0), "available while a debt is unpaid"

    run_state_machine_as_test(
        Ledger,
        settings=settings(max_examples=40, stateful_step_count=8, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]),
    )  # fmt: skip
