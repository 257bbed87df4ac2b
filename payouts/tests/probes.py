"""The payouts app's rows of the one probe table (permission matrix + isolation sweep): the read API."""

from __future__ import annotations

from payouts.models import Balance, LedgerEntry, LedgerTransaction
from payouts.tests import statement_probes, withdrawal_probes
from payouts.tests.factories import delivered
from tests.shop_routes import Probe

API = "api:payouts_api:"


def extend_world(world) -> None:
    # A delivered order books a sale, so the ledger list and the balance are not empty.
    world.objects["payouts_order"] = delivered(world.shop, "250.00")
    withdrawal_probes.extend_world(world)  # funds, a threshold and withdrawals in the states the probes need
    statement_probes.extend_world(world)  # a paid withdrawal and a finished statement job


def snapshot(shop) -> dict:
    return {
        "ledger_transactions": list(
            LedgerTransaction.objects.for_shop(shop).order_by("id").values_list("id", "kind", "key")
        ),
        "ledger_entries": LedgerEntry.objects.for_shop(shop).count(),
        "balances": list(Balance.objects.for_shop(shop).order_by("account").values_list("account", "amount")),
        **withdrawal_probes.snapshot(shop),
        **statement_probes.snapshot(shop),
    }


PROBES: list[Probe] = [
    Probe(API + "balance", "get", "payouts.view", 200),
    Probe(API + "ledger-list", "get", "payouts.view", 200),
    # Pages: the balance and the ledger (payouts/web/pages.py)
    Probe("payouts:balance", "get", "payouts.view", 200, api=False),
    Probe("payouts:ledger", "get", "payouts.view", 200, api=False),
    # Withdrawals and the payout settings (payouts/tests/withdrawal_probes.py)
    *withdrawal_probes.PROBES,
    # Statements and the reconciliation export (payouts/tests/statement_probes.py)
    *statement_probes.PROBES,
]
