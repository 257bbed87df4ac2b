"""Storefront events (``view``, ``cart``, ``order``) pushed by the marketplace in batches, kept as daily counters.

Why counters per (shop, day, SKU) and not one row per event: a storefront sends orders of magnitude more views
than the shop has orders (a busy shop: millions of views a day), and the only thing read from them is the
views → carts → orders funnel per product over days. One row per (shop, day, SKU) with a counter per kind is
bounded by SKUs × days whatever the traffic, a batch of 1,000 events is one upsert of at most a few hundred
rows, and the report reads the rows of its period only. What is given up: per-session figures (distinct
visitors) — the optional ``session`` of an event is validated but not kept. The day is the shop's calendar day
of the event's ``at`` when the batch arrived (a later change of the shop's zone does not move stored days).

``StorefrontBatch`` makes a push idempotent: one row per (shop, batch key) written in the same transaction as the
counters, so a replayed batch (a retry, a redelivery, two pushes racing) adds nothing. It also records who pushed
what and when: the counters are telemetry, not a member's change, so no audit entry is written per batch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from backoffice.tenancy.models import ShopOwnedModel

__all__: list[str] = ["StorefrontBatch", "StorefrontDay"]


class StorefrontDay(ShopOwnedModel):
    """The storefront's events for one SKU on one day of the shop's zone."""

    day = models.DateField()
    # The counters go with the SKU (a draft SKU deleted from the catalog leaves nothing to report on).
    sku = models.ForeignKey("catalog.SKU", on_delete=models.CASCADE, related_name="+")
    views = models.BigIntegerField(default=0)
    carts = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)

    # A member limited to chosen categories sees the SKUs of those categories only.
    scope_paths = {"category": "sku__product__category_id"}

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "sku"], name="storefront_day_unique"),
            models.CheckConstraint(
                condition=models.Q(views__gte=0, carts__gte=0, orders__gte=0), name="storefront_day_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.sku_id}: {self.views}/{self.carts}/{self.orders}"


class StorefrontBatch(ShopOwnedModel):
    """One accepted batch of storefront events: its key (the client's batch id, or its Idempotency-Key), a
    fingerprint of its events (the same key with other events is refused), and how many events it held."""

    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    events = models.PositiveIntegerField()
    skus = models.PositiveIntegerField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="storefront_batch_unique_key")]

    def __str__(self) -> str:
        return f"storefront batch {self.key} ({self.events} events)"
