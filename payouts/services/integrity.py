"""The ledger's self-check (``manage.py payouts_verify``, the nightly ``payouts.tasks.verify``): every balance
row equals the sum of its account's entries, and every transaction has two or more entries summing to zero.

``ledger_verify(*, shop=None) -> list[Drift]`` reads with aggregate queries (one per check, over one shop or
all of them) and returns what is wrong; an empty list means the ledger is sound. It writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Sum

from payouts.models import ZERO, Balance, LedgerEntry, LedgerTransaction

if TYPE_CHECKING:
    from accounts.models import Shop


@dataclass(frozen=True)
class Drift:
    shop_id: int
    what: str  # "balance" | "transaction"
    ref: str  # the account, or the transaction "<id> <kind>:<key>"
    expected: Decimal  # from the entries (a transaction: 0)
    found: Decimal  # the balance row (a transaction: the sum of its entries)
    entries: int | None = None  # a transaction: how many entries it has

    def __str__(self) -> str:
        if self.what == "balance":
            return f"shop {self.shop_id}: balance {self.ref} is {self.found}, its entries sum to {self.expected}"
        return f"shop {self.shop_id}: transaction {self.ref} has {self.entries} entries summing to {self.found}"


def ledger_verify(*, shop: Shop | int | None = None) -> list[Drift]:
    shop_id = getattr(shop, "pk", shop)
    entries = LedgerEntry.unscoped.all() if shop_id is None else LedgerEntry.objects.for_shop(shop_id)
    balances = Balance.unscoped.all() if shop_id is None else Balance.objects.for_shop(shop_id)
    txns = LedgerTransaction.unscoped.all() if shop_id is None else LedgerTransaction.objects.for_shop(shop_id)
    drifts: list[Drift] = []

    sums = {(r["shop_id"], r["account"]): r["total"]
            for r in entries.order_by().values("shop_id", "account").annotate(total=Sum("amount"))}  # fmt: skip
    rows = {(r["shop_id"], r["account"]): r["amount"] for r in balances.values("shop_id", "account", "amount")}
    for key in sorted(set(sums) | set(rows)):
        expected, found = sums.get(key, ZERO), rows.get(key, ZERO)
        if expected != found:
            drifts.append(Drift(shop_id=key[0], what="balance", ref=key[1], expected=expected, found=found))

    unbalanced = (
        txns.order_by()
        .annotate(total=Sum("entries__amount"), n=Count("entries"))
        .exclude(total=0, n__gte=2)
        .values_list("shop_id", "pk", "kind", "key", "total", "n")
    )
    for shop_id_, pk, kind, key, total, n in unbalanced:
        drifts.append(Drift(shop_id=shop_id_, what="transaction", ref=f"{pk} {kind}:{key}", expected=ZERO,
                            found=total if total is not None else ZERO, entries=n))  # fmt: skip
    return drifts
