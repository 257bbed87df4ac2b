"""Shapes of the payouts API: amounts are strings (exact decimals), accounts and kinds are codes."""

from __future__ import annotations

from rest_framework import serializers

from payouts.models import LedgerEntry


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    pending = serializers.DecimalField(max_digits=16, decimal_places=2)
    available = serializers.DecimalField(max_digits=16, decimal_places=2)
    in_transit = serializers.DecimalField(max_digits=16, decimal_places=2)
    debt = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="what the shop owes (≥ 0)")


class LedgerEntrySerializer(serializers.ModelSerializer):
    account = serializers.CharField(help_text="sales | pending | available | in_transit | debt | commission | "
                                    "refunds | ads | payouts | adjustments")  # fmt: skip
    kind = serializers.CharField(help_text="sale | settle | refund | ad_spend | ad_spend_fix | withdrawal | adjustment")
    order = serializers.IntegerField(source="order_id", allow_null=True)
    refund = serializers.IntegerField(source="refund_id", allow_null=True)
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    withdrawal = serializers.IntegerField(source="withdrawal_id", allow_null=True)
    transaction = serializers.IntegerField(source="transaction_id")
    memo = serializers.CharField(source="transaction.memo")
    occurred_at = serializers.DateTimeField(source="transaction.occurred_at")

    class Meta:
        model = LedgerEntry
        fields = ["id", "transaction", "account", "amount", "kind", "order", "refund", "campaign", "withdrawal",
                  "memo", "occurred_at", "created_at"]  # fmt: skip
        read_only_fields = fields


# -- withdrawals -------------------------------------------------------------------------------------------------
class WithdrawalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    status = serializers.CharField(help_text="awaiting_approval | requested | approved | paid | failed | "
                                   "cancelled")  # fmt: skip
    requested_by = serializers.IntegerField(source="requested_by_id")
    second_approved_by = serializers.IntegerField(source="second_approved_by_id", allow_null=True)
    bank_reference = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    second_approved_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class PlatformWithdrawalSerializer(WithdrawalSerializer):
    shop = serializers.IntegerField(source="shop_id")
    currency = serializers.CharField(source="shop.currency")


class WithdrawalRequestSerializer(serializers.Serializer):
    # A string (or a JSON number) checked by the service: negative, zero, over-precise or not a number is a 400.
    amount = serializers.CharField(max_length=40)


class PayoutSettingsSerializer(serializers.Serializer):
    second_approval_above = serializers.CharField(
        max_length=40, allow_null=True, allow_blank=True,
        help_text="withdrawals above this amount need a second approver (payouts.approve); null: never",
    )  # fmt: skip


class BankReferenceSerializer(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=100)


class FailureSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
