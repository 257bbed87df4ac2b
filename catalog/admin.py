"""Django admin for platform staff: product moderation (approve, reject with a reason) and read-only views."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from backoffice.errors import ServiceError
from catalog import services
from catalog.models import SKU, Category, ImportJob, LowStockAlert, Product, Stock, StockMovement, Warehouse


class SKUInline(admin.TabularInline):
    model = SKU
    extra = 0
    can_delete = False
    fields = ["code", "barcode", "price", "old_price", "attributes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason shown to the seller"), widget=forms.Textarea, max_length=2000)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "shop", "status", "submitted_at", "reviewed_at"]
    list_filter = ["status"]
    search_fields = ["title", "skus__code", "shop__name"]
    inlines = [SKUInline]
    actions = ["approve", "reject"]
    readonly_fields = [f.name for f in Product._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve selected products"))
    def approve(self, request, queryset):
        done = 0
        for product in queryset:
            try:
                services.product_approve(user=request.user, product=product)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{product}: {exc.message}", messages.WARNING)
        self.message_user(request, _("%(n)s product(s) approved.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Reject selected products (with a reason)"))
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                done = 0
                for product in queryset:
                    try:
                        services.product_reject(user=request.user, product=product, reason=form.cleaned_data["reason"])
                        done += 1
                    except ServiceError as exc:
                        self.message_user(request, f"{product}: {exc.message}", messages.WARNING)
                self.message_user(request, _("%(n)s product(s) rejected.") % {"n": done}, messages.SUCCESS)
                return redirect(request.get_full_path())
        else:
            form = RejectForm()
        return render(
            request,
            "catalog/admin_reject.html",
            {**self.admin_site.each_context(request), "form": form, "products": queryset,
             "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": _("Reject products")},
        )  # fmt: skip


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "parent", "shop"]
    search_fields = ["name"]


@admin.register(Warehouse)
class WarehouseAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "code", "shop", "is_active"]


@admin.register(Stock)
class StockAdmin(ReadOnlyAdmin):
    list_display = ["id", "sku", "warehouse", "on_hand", "reserved", "available"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["id", "sku", "warehouse", "kind", "on_hand_delta", "reserved_delta", "created_at"]
    list_filter = ["kind"]


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "sku", "status", "available_at_open", "threshold", "opened_at", "resolved_at"]
    list_filter = ["status"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "shop", "kind", "status", "total_rows", "error_rows", "created_at"]
    list_filter = ["status", "kind"]
