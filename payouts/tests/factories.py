"""Test data for payouts, built through the real services (orders' state machine publishes the events)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from backoffice.authz import system_actor
from orders import services as orders
from orders.tests.factories import make_sku, order_in
from payouts import selectors, services
from payouts.models import Account, Balance, LedgerEntry, LedgerTransaction
from promotions.services import ads as ad_services
from tests.fixtures import owner_actor

D = Decimal


def delivered(shop, price: str = "1000.00", quantity: int = 1, sku=None):
    """An order driven to delivered through the services (its sale is booked by the event)."""
    if sku is None:
        sku, _wh = make_sku(shop, stock=50, price=price)
    return order_in(shop, "delivered", sku=sku, unit_price=price, quantity=quantity)


def refund(shop, order, amount: str):
    return orders.refund_create(actor=owner_actor(shop), order=order, amount=amount, reason="test")


def settle(shop, *, days: int = 0) -> int:
    return services.settle_matured(actor=system_actor(shop), now=timezone.now() + timedelta(days=days))


def balances(shop) -> dict[str, Decimal]:
    return selectors.balance(shop=shop)


def campaign(shop, product):
    body = {"name": "Payouts ads", "placement": "search", "products": [product.pk], "daily_budget": "1000.00",
            "bid": "2.00", "starts_at": (timezone.now() - timedelta(days=3)).isoformat()}  # fmt: skip
    c = ad_services.ad_campaign_create(actor=owner_actor(shop), data=body)
    return ad_services.ad_campaign_activate(actor=owner_actor(shop), campaign=c)


def push_spend(shop, campaign, day: date, spend: str) -> None:
    ad_services.ad_stats_push(actor=system_actor(shop), campaign=campaign,
                              data={"day": day.isoformat(), "impressions": 10, "clicks": 1, "spend": spend})  # fmt: skip


def assert_invariants(shop) -> None:
    """Every transaction has two or more entries summing to zero, every balance equals its entries' sum, the
    asset accounts are not negative, and ``ledger_verify`` agrees."""
    txns = LedgerTransaction.objects.for_shop(shop).annotate(t=Sum("entries__amount"), n=Count("entries"))
    for txn in txns:
        assert txn.t == 0 and txn.n >= 2, (txn.kind, txn.key, txn.t, txn.n)
    sums = dict(
        LedgerEntry.objects.for_shop(shop).values("account").annotate(t=Sum("amount")).values_list("account", "t")
    )
    rows = dict(Balance.objects.for_shop(shop).values_list("account", "amount"))
    for account in Account.values:
        assert sums.get(account, D(0)) == rows.get(account, D(0)), (account, sums, rows)
    for account in (Account.PENDING, Account.AVAILABLE, Account.IN_TRANSIT):
        assert rows.get(account, D(0)) >= 0, (account, rows)
    assert rows.get(Account.DEBT, D(0)) <= 0
    assert services.ledger_verify(shop=shop) == []
