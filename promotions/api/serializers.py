"""Shapes of the promotions API. The services check meaning (each problem named by its field)."""

from __future__ import annotations

from rest_framework import serializers

from promotions.models import Promotion


class PromotionSerializer(serializers.ModelSerializer):
    # Plain strings in the schema (their values are in the help text): "kind" and "state" are names other
    # apps' enums use too, and the schema must build without naming collisions.
    kind = serializers.CharField(read_only=True, help_text="percent_off | amount_off | spend_threshold | "
                                 "gift_with_purchase | buy_x_get_y")  # fmt: skip
    state = serializers.CharField(read_only=True, help_text="draft | active | paused | ended (what was set)")
    status = serializers.SerializerMethodField(
        help_text="draft | scheduled | active | paused | ended (with the window)"
    )
    gift_sku = serializers.SerializerMethodField()
    trigger_sku = serializers.SerializerMethodField()

    class Meta:
        model = Promotion
        fields = ["id", "name", "kind", "status", "state", "paused_reason", "value", "tiers", "gift_sku",
                  "gift_quantity", "trigger_sku", "buy_quantity", "get_quantity", "scope", "min_spend", "priority",
                  "exclusive", "starts_at", "ends_at", "usage_limit", "per_buyer_limit", "budget", "used_count",
                  "spent", "code", "has_code_batch", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_status(self, obj: Promotion) -> str:
        return obj.status

    def get_gift_sku(self, obj: Promotion) -> str | None:
        return obj.gift_sku.code if obj.gift_sku_id else None

    def get_trigger_sku(self, obj: Promotion) -> str | None:
        return obj.trigger_sku.code if obj.trigger_sku_id else None


class PromotionInputSerializer(serializers.Serializer):
    """Documentation of the body (SPEC §10); the service reads and checks every field itself."""

    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(
        help_text="percent_off | amount_off | spend_threshold | gift_with_purchase | buy_x_get_y"
    )
    value = serializers.CharField(required=False, allow_null=True)
    tiers = serializers.ListField(child=serializers.DictField(), required=False)
    gift_sku = serializers.CharField(required=False, allow_null=True)
    gift_quantity = serializers.IntegerField(required=False)
    trigger_sku = serializers.CharField(required=False, allow_null=True)
    buy_quantity = serializers.IntegerField(required=False)
    get_quantity = serializers.IntegerField(required=False)
    starts_at = serializers.CharField()
    ends_at = serializers.CharField(required=False, allow_null=True)
    scope = serializers.DictField(required=False)
    min_spend = serializers.CharField(required=False, allow_null=True)
    usage_limit = serializers.IntegerField(required=False, allow_null=True)
    per_buyer_limit = serializers.IntegerField(required=False, allow_null=True)
    budget = serializers.CharField(required=False, allow_null=True)
    priority = serializers.IntegerField(required=False)
    exclusive = serializers.BooleanField(required=False)
    code = serializers.CharField(required=False, allow_blank=True)


class QuoteLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class QuoteInputSerializer(serializers.Serializer):
    lines = QuoteLineInputSerializer(many=True)
    buyer = serializers.CharField(required=False, allow_blank=True)
    codes = serializers.ListField(child=serializers.CharField(), required=False)


class QuoteSerializer(serializers.Serializer):
    """The answer of ``quote`` (money as strings with two decimals)."""

    lines = serializers.ListField(child=serializers.DictField())
    gifts = serializers.ListField(child=serializers.DictField())
    subtotal = serializers.CharField()
    discount = serializers.CharField()
    total = serializers.CharField()
    applied = serializers.ListField(child=serializers.DictField())
    not_applied = serializers.ListField(child=serializers.DictField())


class CodesGenerateSerializer(serializers.Serializer):
    """``POST …/promotions/{id}/codes/`` (shape only: the service checks the range and the prefix, naming them)."""

    count = serializers.IntegerField(help_text="How many single-use codes to add, 1 to 10000")
    prefix = serializers.CharField(required=False, allow_blank=True,
                                   help_text="Optional: up to 16 letters, digits or dashes (PREFIX-XXXXXXXXXX)")  # fmt: skip


class CodesGeneratedSerializer(serializers.Serializer):
    promotion = serializers.IntegerField()
    generated = serializers.IntegerField(help_text="Codes made by this request")
    total = serializers.IntegerField(help_text="The promotion's single-use codes now")
    unused = serializers.IntegerField()
    used = serializers.IntegerField()


class EffectFiguresSerializer(serializers.Serializer):
    """One period's figures: the orders in the promotion's scope placed in [start, end) (money as strings)."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField(help_text="in-scope units, gifts excluded")
    revenue = serializers.CharField(help_text="what the buyers paid for the in-scope lines")
    discount = serializers.CharField(help_text="this promotion's discount and gifts on those orders")
    buyers = serializers.IntegerField(help_text="distinct buyer ids")
    average_order_value = serializers.CharField(allow_null=True)


class EffectUpliftSerializer(serializers.Serializer):
    """(during − before) / before × 100 per figure, one decimal; null when the figure was 0 before."""

    orders = serializers.FloatField(allow_null=True)
    units = serializers.FloatField(allow_null=True)
    revenue = serializers.FloatField(allow_null=True)
    discount = serializers.FloatField(allow_null=True)
    buyers = serializers.FloatField(allow_null=True)
    average_order_value = serializers.FloatField(allow_null=True)


class EffectDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    revenue = serializers.CharField()
    discount = serializers.CharField()
    buyers = serializers.IntegerField()


class PromotionEffectSerializer(serializers.Serializer):
    """The answer of ``effect``: the latest snapshot (``computed_at``); ``during``, ``before`` and ``uplift`` are
    null while the promotion has not started; ``daily`` holds the days of its window in the shop's zone."""

    promotion = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    currency = serializers.CharField()
    # SPEC §10's flat form: the figures during the window at the top, the period before as ``baseline``.
    orders = serializers.IntegerField(source="during.orders", default=0)
    units = serializers.IntegerField(source="during.units", default=0)
    revenue = serializers.CharField(source="during.revenue", default="0.00")
    discount = serializers.CharField(source="during.discount", default="0.00")
    buyers = serializers.IntegerField(source="during.buyers", default=0)
    baseline = EffectFiguresSerializer(source="before", allow_null=True)
    during = EffectFiguresSerializer(allow_null=True)
    before = EffectFiguresSerializer(allow_null=True)
    uplift = EffectUpliftSerializer(allow_null=True)
    daily = EffectDaySerializer(many=True)
