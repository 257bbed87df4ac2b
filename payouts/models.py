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

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.jobs import BackgroundJob
from backoffice.tenancy.models import ShopOwnedModel

MONEY = {"max_digits": 16, "decimal_places": 2}
ZERO = Decimal("0.00")


class Account(models.TextChoices):
    SALES = "sales", _("Sales")
    PENDING = "pending", _("Pending")
    AVAILABLE = "available", _("Available")
    IN_TRANSIT = "in_transit", _("In transit")
    DEBT = "debt", _("Debt")
    COMMISSION = "commission", _("Commission")
    REFUNDS = "refunds", _("Refunds")
    ADS = "ads", _("Ads")
    PAYOUTS = "payouts", _("Payouts")
    ADJUSTMENTS = "adjustments", _("Adjustments")


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
    # When the transaction stopped holding a sale's money in ``pending``: a sale, at its settlement (or at the
    # settlement run that found nothing left of it, refunded in full, once its return window had passed); any
    # other kind never holds it, so at booking. NULL only while a sale waits: the unsettled sales are read through
    # a partial index on it, never by scanning every sale the shop ever made, and PostgreSQL's statistics of the
    # column (its NULL fraction) count just them, so it plans for the few rows there are.
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind", "key"], name="ledger_txn_unique_key")]
        indexes = [
            models.Index(fields=["shop", "kind", "occurred_at"], name="ledger_txn_kind_time"),
            models.Index(
                fields=["shop", "occurred_at"], name="ledger_sale_unsettled",
                condition=Q(kind="sale", settled_at__isnull=True),
            ),
        ]  # fmt: skip

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
            # A month's statement and the reconciliation export read the entries booked in a period.
            models.Index(fields=["shop", "created_at"], name="ledger_entry_booked"),
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


# -- withdrawals -----------------------------------------------------------------------------------------------
class Withdrawal(ShopOwnedModel):
    """Money the shop takes out: it leaves ``available`` for ``in_transit`` when requested (so two requests can
    never spend the same money) and ``in_transit`` for ``payouts`` when the platform has paid it, or goes back to
    ``available`` when it fails or is cancelled. The transitions live in ``payouts.services.withdrawals``; each
    moves money under the ledger key ``(withdrawal, "<id>:<step>")``."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting second approval")
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=32, choices=Status.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    second_approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The platform staff user who approved, paid or failed it (the last platform decision).
    platform_user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    bank_reference = models.CharField(max_length=100, blank=True, default="")
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    second_approved_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive")]
        indexes = [
            models.Index(fields=["shop", "status", "-id"], name="withdrawal_list"),
            models.Index(fields=["status", "id"], name="withdrawal_platform_queue"),
        ]

    def __str__(self) -> str:
        # Recorded in audit entries (target_repr), which readers without payouts.view see: no amount.
        return f"withdrawal {self.pk} {self.status}"


class PayoutSettings(ShopOwnedModel):
    """The shop's payout rules (one row per shop, made on first change): withdrawals above
    ``second_approval_above`` wait for a second member holding ``payouts.approve`` (None: never)."""

    second_approval_above = models.DecimalField(null=True, blank=True, **MONEY)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop"], name="payout_settings_one_per_shop"),
            models.CheckConstraint(
                condition=Q(second_approval_above__isnull=True) | Q(second_approval_above__gte=0),
                name="payout_settings_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"payout settings {self.shop_id}"


# -- statements ------------------------------------------------------------------------------------------------
def _statement_path(instance, filename: str) -> str:
    return f"payouts/{instance.shop_id}/statements/{filename}"


class StatementJob(BackgroundJob):
    """A statement (a month, a payout) or a reconciliation export too big to stream in the request
    (``payouts.statements.STREAM_MAX_ROWS``), built in the background; ``params`` holds what it covers
    (``{"month": "2026-11"}``, ``{"withdrawal": 7}``, ``{"from": "2026-11-01", "to": "2026-11-30"}``)."""

    class Kind(models.TextChoices):
        MONTH = "month"
        PAYOUT = "payout"
        RECONCILIATION = "reconciliation"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    fmt = models.CharField(max_length=4, choices=Format.choices)
    params = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_statement_path, blank=True)

    class Meta(BackgroundJob.Meta):
        indexes = [models.Index(fields=["shop", "-id"], name="payouts_statement_job_list")]

    def __str__(self) -> str:
        return f"{self.kind} statement {self.pk} ({self.status})"

    @property
    def progress(self) -> int:
        """Percent done (0-100)."""
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(self.processed_rows * 100 / self.total_rows)) if self.total_rows else 0

    @property
    def file_basename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""
