"""Django admin for platform staff: the ledger, read-only (money moves only through the services)."""

from __future__ import annotations

from django.contrib import admin

from backoffice.admin import ReadOnlyAdmin
from payouts.models import Balance, LedgerEntry, LedgerTransaction


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "kind", "key", "memo", "occurred_at", "created_at")
    list_filter = ("kind",)
    search_fields = ("key", "memo")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "transaction", "account", "amount", "kind", "order_id", "refund_id", "created_at")
    list_filter = ("account", "kind")


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "account", "amount", "updated_at")
    list_filter = ("account",)
