"""Django admin for platform staff: the ledger, read-only (money moves only through the services), and the
withdrawals, whose platform steps (approve, mark paid with the bank reference, mark failed with a reason) are admin
actions calling ``payouts.services.withdrawals`` as the staff user (``payouts.change_withdrawal``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from backoffice.admin import ReadOnlyAdmin
from backoffice.errors import ServiceError
from payouts.models import Balance, LedgerEntry, LedgerTransaction, PayoutSettings, Withdrawal
from payouts.services.withdrawals import (
    PLATFORM_PERMISSION,
    withdrawal_mark_failed,
    withdrawal_mark_paid,
    withdrawal_platform_approve,
)


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


# -- withdrawals: the platform's decisions are actions calling the services (audited as the staff user) ----------
class BankReferenceForm(forms.Form):
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=100)


class FailureForm(forms.Form):
    reason = forms.CharField(label=_("Reason shown to the seller"), widget=forms.Textarea, max_length=500)


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "amount", "status", "requested_by", "second_approved_by", "created_at", "paid_at")
    list_filter = ("status",)
    search_fields = ("shop__name", "bank_reference")
    list_select_related = ("shop", "requested_by", "second_approved_by")
    actions = ["approve", "mark_paid", "mark_failed"]

    def has_decide_permission(self, request) -> bool:
        # The rows stay read-only (has_change_permission is False); the change permission is the platform's right
        # to decide on withdrawals, through the actions below (the services ask it again).
        return request.user.is_active and request.user.has_perm(PLATFORM_PERMISSION)

    def _decide(self, request, queryset, service, **kwargs) -> int:
        done = 0
        for w in queryset.select_related("shop").order_by("id"):
            try:
                service(platform_user=request.user, withdrawal=w, **kwargs)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"#{w.pk}: {exc.message}", messages.WARNING)
        return done

    def _with_form(self, request, queryset, *, form_class, op: str, title, service, field: str, done_message):
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                done = self._decide(request, queryset, service, **{field: form.cleaned_data[field]})
                self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
                return redirect(request.get_full_path())
        else:
            form = form_class()
        return render(request, "payouts/admin_withdrawal_decide.html", {
            **self.admin_site.each_context(request), "form": form, "withdrawals": queryset, "op": op, "title": title,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })  # fmt: skip

    @admin.action(description=_("Approve selected withdrawals for payment"), permissions=["decide"])
    def approve(self, request, queryset):
        done = self._decide(request, queryset, withdrawal_platform_approve)
        self.message_user(request, _("%(n)s withdrawal(s) approved.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Mark selected withdrawals paid (with the bank reference)"), permissions=["decide"])
    def mark_paid(self, request, queryset):
        return self._with_form(request, queryset, form_class=BankReferenceForm, op="mark_paid",
                               title=_("Mark withdrawals paid"), service=withdrawal_mark_paid, field="bank_reference",
                               done_message=_("%(n)s withdrawal(s) marked paid."))  # fmt: skip

    @admin.action(description=_("Mark selected withdrawals failed (the money returns)"), permissions=["decide"])
    def mark_failed(self, request, queryset):
        return self._with_form(request, queryset, form_class=FailureForm, op="mark_failed",
                               title=_("Mark withdrawals failed"), service=withdrawal_mark_failed, field="reason",
                               done_message=_("%(n)s withdrawal(s) marked failed."))  # fmt: skip


@admin.register(PayoutSettings)
class PayoutSettingsAdmin(ReadOnlyAdmin):
    list_display = ("id", "shop", "second_approval_above", "updated_at")
