"""Django admin for platform staff: promotions, their codes and uses, read-only (every change goes through
the services, with their checks and audit entries)."""

from __future__ import annotations

from django.contrib import admin

from backoffice.admin import ReadOnlyAdmin
from promotions.models import Promotion, PromotionCode, PromotionUse


@admin.register(Promotion)
class PromotionAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "name", "kind", "state", "starts_at", "ends_at", "used_count", "spent")
    list_filter = ("kind", "state")
    search_fields = ("name", "code")


@admin.register(PromotionCode)
class PromotionCodeAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "promotion", "code", "order", "used_at")
    search_fields = ("code",)


@admin.register(PromotionUse)
class PromotionUseAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "promotion", "order", "buyer_id", "amount", "created_at")
