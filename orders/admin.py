"""Django admin for platform staff: orders, returns, refunds and exports, read-only (every change goes
through the services, with their checks and audit entries), and one platform action: a refund on the
marketplace's behalf, through ``refund_create`` as the system acting for the staff user."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from backoffice import once
from backoffice.admin import ReadOnlyAdmin, ReadOnlyInline
from backoffice.authz import system_actor
from backoffice.errors import ServiceError
from orders import services
from orders.models import ExportJob, Order, OrderEvent, OrderLine, Refund, Return, ReturnLine


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "sku_code", "title", "quantity", "unit_price", "returned_quantity")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fk_name = "ret"
    fields = ("line", "quantity", "disposition", "warehouse")


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=12, decimal_places=2, min_value=0)
    reason = forms.CharField(label=_("Reason (on the order's timeline)"), max_length=500)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "shop", "state", "delivery_method", "total", "refunded_total", "created_at")
    list_filter = ("state", "delivery_method")
    search_fields = ("number", "external_id")
    inlines = [OrderLineInline]
    actions = ["refund_on_behalf"]

    def has_refund_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.action(description=_("Refund on behalf of the marketplace"), permissions=["refund"])
    def refund_on_behalf(self, request, queryset):
        """Asks for the amount and the reason, then refunds each selected order through the service
        (its checks, the order row lock, one audit entry naming the staff user)."""
        orders = list(queryset.select_related("shop").order_by("id"))
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            # One-time, as the shop's refund form: a double click or a resent form refunds once (a missing or
            # foreign token is a 400, a token already used a 409; a refused send frees it).
            claim = once.claim(request, back=request.get_full_path())
            if not isinstance(claim, once.Claim):
                return claim
            response = None
            try:
                response = self._refund(request, orders, form)
            finally:
                claim.settle(response)
            return response
        return render(
            request,
            "orders/admin_refund.html",
            {**self.admin_site.each_context(request), "form": form, "orders": orders, "opts": self.model._meta,
             "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": _("Refund on behalf of the marketplace")},
        )  # fmt: skip

    def _refund(self, request, orders, form):
        """Each order refunded through the service; a refusal is reported per order."""
        done = 0
        for order in orders:
            try:
                services.refund_create(actor=system_actor(order.shop, user=request.user), order=order,
                                       amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"])  # fmt: skip
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{order}: {exc.message}", messages.WARNING)
        self.message_user(request, _("%(n)s order(s) refunded.") % {"n": done}, messages.SUCCESS)
        return redirect(request.get_full_path())


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("order", "kind", "from_state", "to_state", "actor", "created_at")


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin):
    list_display = ("pk", "order", "state", "created_at")
    list_filter = ("state",)
    inlines = [ReturnLineInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("pk", "order", "amount", "actor", "created_at")


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ("pk", "shop", "fmt", "status", "rows", "created_by", "created_at")
    list_filter = ("status", "fmt")
