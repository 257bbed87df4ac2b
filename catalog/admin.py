"""Django admin for platform staff: every catalog model is read-only here; the one platform decision,
moderation, is an admin action (approve; reject with a reason on an intermediate form) that calls the
service as ``system_actor(product.shop, user=<the staff user>)``, so it is checked and audited exactly
like the platform API.

Who moderates: staff in the "Platform moderators" group (migration ``0004_platform_moderators_group``):
they see products and their SKUs, and ``catalog.change_product`` lets them run the moderation actions
(and nothing else: no product is ever edited here)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from backoffice.admin import ReadOnlyAdmin, ReadOnlyInline
from backoffice.authz import system_actor
from backoffice.errors import ServiceError
from catalog import services
from catalog.models import SKU, Category, ExportJob, ImportJob, LowStockAlert, Product, Stock, StockMovement, Warehouse


class SKUInline(ReadOnlyInline):
    model = SKU
    fields = ["code", "barcode", "price", "old_price", "attributes"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason shown to the seller"), widget=forms.Textarea, max_length=2000)


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "shop", "status", "submitted_at", "reviewed_at"]
    list_filter = ["status"]
    search_fields = ["title", "skus__code", "shop__name"]
    list_select_related = ["shop"]
    inlines = [SKUInline]
    actions = ["approve", "reject"]

    def has_moderate_permission(self, request) -> bool:
        # The form stays read-only (has_change_permission is False); the change permission is what the
        # moderators' group holds to decide on products, through the actions below.
        return request.user.is_active and request.user.has_perm("catalog.change_product")

    def _moderate(self, request, queryset, service, **kwargs) -> int:
        done = 0
        for product in queryset.select_related("shop"):
            try:
                service(actor=system_actor(product.shop, user=request.user), product=product, **kwargs)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{product}: {exc.message}", messages.WARNING)
        return done

    @admin.action(description=_("Approve selected products"), permissions=["moderate"])
    def approve(self, request, queryset):
        done = self._moderate(request, queryset, services.product_approve)
        self.message_user(request, _("%(n)s product(s) approved.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Reject selected products (with a reason)"), permissions=["moderate"])
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                done = self._moderate(request, queryset, services.product_reject, reason=form.cleaned_data["reason"])
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


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "shop", "kind", "fmt", "status", "processed_rows", "created_at"]
    list_filter = ["status", "kind"]
