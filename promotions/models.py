"""Promotions (discounts, 满减 tiers, 满赠 gifts, codes), their usage, the shop's guardrails, and ad campaigns.

Scope is stored as JSON ids (``{"categories": [...], "products": [...], "skus": [...]}``), not as three
many-to-many tables: the engine takes id sets, so the rules of a quote load in one query whatever their
scope; the ids are checked against the shop when written (``ref_in_shop``), and an id that later disappears
simply matches nothing. A promotion is a price rule, not a link the catalog must keep alive.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy.models import ShopOwnedModel

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Promotion(ShopOwnedModel):
    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", _("Percent off")
        AMOUNT_OFF = "amount_off", _("Amount off")
        SPEND_THRESHOLD = "spend_threshold", _("Spend threshold")
        GIFT_WITH_PURCHASE = "gift_with_purchase", _("Gift with purchase")
        BUY_X_GET_Y = "buy_x_get_y", _("Buy X get Y")

    class State(models.TextChoices):
        """What the seller set; ``status`` adds the time window (``scheduled``, ``ended`` by time)."""

        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    # percent_off: percent; amount_off: money per unit; buy_x_get_y: optional percent off the "get" units.
    value = models.DecimalField(_("value"), null=True, blank=True, **MONEY)
    # spend_threshold: [{"min_spend": "300.00", "discount": "30.00"}, ...], strictly ascending (services check).
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    gift_sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    gift_quantity = models.PositiveIntegerField(_("gift quantity"), default=1)
    trigger_sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    buy_quantity = models.PositiveIntegerField(_("buy quantity"), default=0)
    get_quantity = models.PositiveIntegerField(_("get quantity"), default=0)
    scope = models.JSONField(_("scope"), default=dict, blank=True)
    min_spend = models.DecimalField(_("minimum spend"), null=True, blank=True, **MONEY)
    priority = models.IntegerField(_("priority"), default=0)
    exclusive = models.BooleanField(_("exclusive"), default=False)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    # Why a guardrail paused it ("budget_spent", "limit_reached"), blank when a member did.
    paused_reason = models.CharField(max_length=24, blank=True)
    usage_limit = models.PositiveIntegerField(_("usage limit"), null=True, blank=True)
    per_buyer_limit = models.PositiveIntegerField(_("per-buyer limit"), null=True, blank=True)
    budget = models.DecimalField(_("budget"), null=True, blank=True, **MONEY)
    used_count = models.PositiveIntegerField(_("used"), default=0)
    spent = models.DecimalField(_("spent"), default=ZERO, **MONEY)
    # One shared code (optional); single-use codes are PromotionCode rows.
    code = models.CharField(_("code"), max_length=64, blank=True)
    has_code_batch = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                F("shop"), Lower("code"), condition=~Q(code=""), name="promotion_unique_code_per_shop"
            ),
            # The guardrails hold in the database too: a bug in a service cannot overspend.
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(used_count__lte=F("usage_limit")),
                name="promotion_usage_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(spent__lte=F("budget")), name="promotion_spent_within_budget"
            ),
            models.CheckConstraint(condition=Q(spent__gte=0), name="promotion_spent_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="promotion_window_ordered"
            ),
        ]
        indexes = [models.Index(fields=["shop", "state", "starts_at"], name="promotion_shop_state")]

    def __str__(self) -> str:
        return self.name

    def status_at(self, at=None) -> str:
        """Status derived from the state and the window: an active promotion before its start is
        ``scheduled``, after its end ``ended``."""
        if self.state != self.State.ACTIVE:
            return self.state
        at = at or timezone.now()
        if at < self.starts_at:
            return self.Status.SCHEDULED
        if self.ends_at is not None and at >= self.ends_at:
            return self.Status.ENDED
        return self.Status.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at()


class PromotionCode(ShopOwnedModel):
    """A single-use code of a promotion's batch: consumed by the order that used it, given back on cancel."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(_("code"), max_length=64)
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(F("shop"), Lower("code"), name="promotion_code_unique_per_shop"),
        ]

    def __str__(self) -> str:
        return self.code


class PromotionUse(ShopOwnedModel):
    """One promotion applied to one order: what it gave, to whom. Deleted when the order is cancelled
    before delivery (usage and budget given back)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="uses")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    buyer_id = models.CharField(_("buyer"), max_length=64, blank=True)
    # The buyer's n-th use (1-based): with the unique constraint, a per-buyer limit holds even if two
    # orders of one buyer ever counted at once.
    buyer_n = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(_("discount"), **MONEY)
    # The list price of the gift given (0 when no gift): counts against the budget.
    gift_value = models.DecimalField(default=ZERO, **MONEY)
    code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "promotion", "order"], name="promotion_use_once_per_order"),
            models.UniqueConstraint(
                fields=["shop", "promotion", "buyer_id", "buyer_n"],
                condition=~Q(buyer_id=""),
                name="promotion_use_buyer_nth",
            ),  # fmt: skip
        ]
        indexes = [models.Index(fields=["shop", "promotion", "created_at"], name="promotion_use_shop_time")]

    def __str__(self) -> str:
        return f"{self.promotion_id}@{self.order_id}: {self.amount}"


class PromotionSettings(ShopOwnedModel):
    """The shop's promotion guardrails (one row per shop, created on first write; none = no cap)."""

    max_discount_percent = models.DecimalField(
        _("maximum discount per order, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop"], name="promotion_settings_one_per_shop"),
            models.CheckConstraint(
                condition=Q(max_discount_percent__isnull=True)
                | (Q(max_discount_percent__gte=0) & Q(max_discount_percent__lte=100)),
                name="promotion_settings_cap_is_percent",
            ),
        ]


class PriceFloor(ShopOwnedModel):
    """A SKU's minimum net unit price under any promotion (without one, its cost when known)."""

    sku = models.ForeignKey("catalog.SKU", on_delete=models.CASCADE, related_name="+")
    min_price = models.DecimalField(_("minimum price"), **MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "sku"], name="price_floor_one_per_sku"),
            models.CheckConstraint(condition=Q(min_price__gte=0), name="price_floor_not_negative"),
        ]


class AdCampaign(ShopOwnedModel):
    class Placement(models.TextChoices):
        SEARCH = "search", _("Search")
        CATEGORY = "category", _("Category")
        BANNER = "banner", _("Banner")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    name = models.CharField(_("name"), max_length=200)
    placement = models.CharField(_("placement"), max_length=12, choices=Placement.choices)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    daily_budget = models.DecimalField(_("daily budget"), **MONEY)
    bid = models.DecimalField(_("bid"), **MONEY)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    # The shop's day on which the daily budget ran out (the campaign rests until the next day).
    paused_for_day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_budget__gte=0), name="ad_campaign_budget_not_negative"),
            models.CheckConstraint(condition=Q(bid__gte=0), name="ad_campaign_bid_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class AdStat(ShopOwnedModel):
    """A campaign's figures for one day, as the integration pushed them (a re-push replaces)."""

    campaign = models.ForeignKey(AdCampaign, on_delete=models.CASCADE, related_name="stats")
    day = models.DateField(_("day"))
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    spend = models.DecimalField(default=ZERO, **MONEY)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(default=ZERO, **MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "campaign", "day"], name="ad_stat_one_per_campaign_day"),
            models.CheckConstraint(condition=Q(spend__gte=0) & Q(revenue__gte=0), name="ad_stat_money_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}@{self.day}"


class PromotionEffect(ShopOwnedModel):
    """The latest effect figures of a promotion (``promotions.effect``): the orders in its scope during its window
    and in the same-length period before it started, and the days of its window. A snapshot refreshed by the beat
    (``promotions.tasks.refresh_promotion_effects``) and on read when the promotion changed since; money is
    stored as strings (JSON has no decimals)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    # {"start", "end" (ISO instants), "orders", "units", "revenue", "discount", "buyers", "average_order_value"};
    # null while the promotion has not started (nothing to measure yet).
    during = models.JSONField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    # The days of the window in the shop's zone: [{"day", "orders", "units", "revenue", "discount", "buyers"}].
    daily = models.JSONField(default=list, blank=True)
    # The promotion's usage when computed: a use (or a cancelled one) since makes the snapshot stale, as an edit
    # does (``Promotion.updated_at``; usage is counted with UPDATE, which leaves ``updated_at`` alone).
    used_count = models.PositiveIntegerField(default=0)
    spent = models.DecimalField(default=ZERO, **MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "promotion"], name="promotion_effect_one_per_promotion"),
        ]

    def __str__(self) -> str:
        return f"effect of {self.promotion_id} at {self.computed_at}"
