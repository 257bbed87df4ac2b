"""The shop's double-entry ledger: transactions, their entries, and one balance row per account.

Sign convention: an account's balance is the plain sum of its entries, and every transaction's entries sum
to zero. The shop's own money sits in the asset accounts (``pending``, ``available``, ``in_transit``: never
below zero); the others accumulate where money came from or went to:

=============  =====================================================================  ================
account        meaning                                                                balance
=============  =====================================================================  ================
sales          what buyers paid for delivered orders (the counter-account of a sale)  ≤ 0 (−gross)
pending        sold, not settled yet (inside the return window)                       ≥ 0
available      settled, may be withdrawn                                              ≥ 0
in_transit     withdrawals under way                                                  ≥ 0
debt           what the shop owes the marketplace (a refund or ad charge that         ≤ 0 (−owed)
               ``available`` could not cover); the next credit to available pays it
commission     the marketplace's commission, net of commission given back on refunds  ≥ 0 in practice
refunds        money given back to buyers                                             ≥ 0
ads            ad spend charged                                                       ≥ 0
payouts        money that left for the shop's bank account                            ≥ 0
adjustments    platform corrections (``adjustment`` transactions)                     any
=============  =====================================================================  ================

So ``available`` never goes negative: a charge it cannot cover is split, the rest booked against ``debt``
(an explicit, visible liability), never silently. Entries are immutable (a PostgreSQL trigger refuses UPDATE
and DELETE); corrections are new transactions. A deferred constraint trigger checks at commit that each
transaction's entries sum to zero (``payouts.services.ledger.post`` checks it first on every database).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from backoffice.tenancy.models import ShopOwnedModel

MONEY = {"max_digits": 16, "decimal_places": 2}
ZERO = Decimal("0.00")


class Account(models.TextChoices):
    SALES = "sales"
    PENDING = "pending"
    AVAILABLE = "available"
    IN_TRANSIT = "in_transit"
    DEBT = "debt"
    COMMISSION = "commission"
    REFUNDS = "refunds"
    ADS = "ads"
    PAYOUTS = "payouts"
    ADJUSTMENTS = "adjustments"


# Accounts whose balance may never go below zero / above zero (CHECK constraints on Balance).
NOT_NEGATIVE = (Account.PENDING, Account.AVAILABLE, Account.IN_TRANSIT)
NOT_POSITIVE = (Account.DEBT,)


class Kind(models.TextChoices):
    """What a transaction records; with its business key it is unique per shop (a replay posts nothing)."""

    SALE = "sale"  # key: order id
    SETTLE = "settle"  # key: order id
    REFUND = "refund"  # key: refund id
    AD_SPEND = "ad_spend"  # key: "<campaign id>:<day>"
    AD_SPEND_FIX = "ad_spend_fix"  # key: "<campaign id>:<day>:<n>"
    WITHDRAWAL = "withdrawal"  # key: "<withdrawal id>:<step>"
    ADJUSTMENT = "adjustment"  # key: chosen by the platform


class LedgerTransaction(ShopOwnedModel):
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=100)
    memo = models.CharField(max_length=200, blank=True, default="")
    # When the business event happened (the delivery, the refund); ``created_at`` is when it was booked.
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind", "key"], name="ledger_txn_unique_key")]
        indexes = [models.Index(fields=["shop", "kind", "occurred_at"], name="ledger_txn_kind_time")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class LedgerEntry(ShopOwnedModel):
    """One leg of a transaction. ``kind`` and ``created_at`` are the transaction's (copied: the ledger list and
    its filters read entries alone). The references link the entry to what caused it, for the reconciliation
    export; they are plain ids (another app's row, or a withdrawal), set by the posting service."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=16, choices=Account.choices)
    amount = models.DecimalField(**MONEY)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    order_id = models.BigIntegerField(null=True, blank=True)
    refund_id = models.BigIntegerField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    withdrawal_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero")]
        indexes = [
            models.Index(fields=["shop", "-id"], name="ledger_entry_list"),
            models.Index(fields=["shop", "order_id"], name="ledger_entry_order", condition=Q(order_id__isnull=False)),
            models.Index(
                fields=["shop", "campaign_id"], name="ledger_entry_campaign", condition=Q(campaign_id__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"


class Balance(ShopOwnedModel):
    """The running sum of one account's entries, updated in the transaction that posts them: reading a balance
    is one row, whatever the number of entries."""

    account = models.CharField(max_length=16, choices=Account.choices)
    amount = models.DecimalField(default=ZERO, **MONEY)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "account"], name="balance_one_per_account"),
            models.CheckConstraint(
                condition=~Q(account__in=NOT_NEGATIVE) | Q(amount__gte=0), name="balance_asset_not_negative"
            ),
            models.CheckConstraint(condition=~Q(account__in=NOT_POSITIVE) | Q(amount__lte=0), name="balance_debt_sign"),
        ]

    def __str__(self) -> str:
        return f"{self.account}={self.amount}"
