"""Writes of the payouts app (see each module's docstring for the rules):

- ``ledger``: ``post`` / ``book`` — the one way money is booked (idempotent keys, zero-sum, funds checked);
- ``events``: what orders' events and the promotions app's ad statistics book (sale, settlement, refund, ad
  spend), ``settle_matured``, ``ad_spend_sync``, ``backfill``;
- ``integrity``: ``ledger_verify`` (balances against entries, zero-sum transactions).
- ``statements``: ``statement_export_create`` / ``statement_export_build`` (statement files built in the
  background; the reads are ``payouts.statements``).
"""

from payouts.services.events import (
    ad_spend_sync,
    backfill,
    commission_rate,
    matured_sales,
    refund_post,
    sale_post,
    settle_matured,
)
from payouts.services.integrity import Drift, ledger_verify
from payouts.services.ledger import Book, book, insufficient_funds, lock_balances, post
from payouts.services.statements import statement_export_build, statement_export_create

__all__ = [
    "Book",
    "Drift",
    "ad_spend_sync",
    "backfill",
    "book",
    "commission_rate",
    "insufficient_funds",
    "ledger_verify",
    "lock_balances",
    "matured_sales",
    "post",
    "refund_post",
    "sale_post",
    "settle_matured",
    "statement_export_build",
    "statement_export_create",
]
