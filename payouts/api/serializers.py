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
