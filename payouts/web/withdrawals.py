"""Withdrawal pages: the list (status tabs, pagination), the request form (re-authentication first, one-time
token), a withdrawal's detail with the second approval and cancel behind confirmation pages, and the payout
settings (the second-approval threshold). Thin: selectors read, ``payouts.services.withdrawals`` writes; a
refusal shows on the form or as a 4xx page (``ShopPageMixin``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from backoffice.authz import can
from backoffice.errors import Conflict, ServiceError
from backoffice.forms import apply_service_error
from backoffice.reauth import reauth_url, recently_reauthenticated
from backoffice.web import ShopPageMixin
from payouts import selectors
from payouts.models import Account, Withdrawal
from payouts.services import withdrawals as services

PAGE_SIZE = 25
S = Withdrawal.Status


class WithdrawalForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=40,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))  # fmt: skip


class PayoutSettingsForm(forms.Form):
    second_approval_above = forms.CharField(
        label=gettext_lazy("Second approval above"), max_length=40, required=False,
        help_text=gettext_lazy("Withdrawals above this amount wait for a second member holding the approval right. "
                               "Leave empty to turn it off."),
    )  # fmt: skip


def _needs_reauth(request):
    """Send the member to the re-authentication page (coming back here) unless they confirmed lately."""
    if recently_reauthenticated(request):
        return None
    messages.info(request, _("Confirm your password or one-time code first."))
    return redirect(reauth_url(request.get_full_path()))


def _withdrawal_or_404(view, pk) -> Withdrawal:
    w = selectors.withdrawal_get(actor=view.actor, pk=pk)
    if w is None:
        raise Http404
    return w


class WithdrawalListView(ShopPageMixin, View):
    required_action = "payouts.view"

    def get(self, request, shop):
        status = request.GET.get("status") or ""
        filters = {"status": status} if status else {}
        qs = selectors.withdrawal_list(shop=self.shop, actor=self.actor, filters=filters)  # a bad status: 400 page
        counts = dict(
            selectors.withdrawal_list(shop=self.shop, actor=self.actor).order_by().values_list("status")
            .annotate(n=Count("id")).values_list("status", "n")
        )  # fmt: skip
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "payouts/withdrawal_list.html", {
            "page": page, "filters": filters, "querystring": f"status={status}" if status else "",
            "tabs": [(key, label, counts.get(key, 0)) for key, label in S.choices], "count_all": sum(counts.values()),
            "tab_query": "", "may_withdraw": can(self.actor, "payouts.withdraw"),
        })  # fmt: skip


class WithdrawalRequestView(ShopPageMixin, View):
    """Asks for a fresh re-authentication before the form (and again on submit if it has expired meanwhile)."""

    required_action = "payouts.withdraw"
    one_time_post = True  # the POST creates a withdrawal

    def _render(self, request, form, status=200):
        available = selectors.balance(shop=self.shop)[Account.AVAILABLE]
        row = selectors.payout_settings(shop=self.shop)
        return render(request, "payouts/withdrawal_form.html", {
            "form": form, "available": available, "threshold": row.second_approval_above if row else None,
        }, status=status)  # fmt: skip

    def get(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        return self._render(request, WithdrawalForm())

    def post(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        form = WithdrawalForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                w = services.withdrawal_request(actor=self.actor, amount=form.cleaned_data["amount"])
            except ServiceError as exc:
                apply_service_error(form, exc)
                status = 409 if isinstance(exc, Conflict) else exc.status_code
            else:
                if w.status == S.AWAITING_APPROVAL:
                    messages.success(request, _("Withdrawal requested: another member must approve it."))
                else:
                    messages.success(request, _("Withdrawal requested."))
                return redirect("payouts:withdrawal_detail", shop=self.shop.pk, pk=w.pk)
        return self._render(request, form, status=status)


class WithdrawalDetailView(ShopPageMixin, View):
    required_action = "payouts.view"

    def get(self, request, shop, pk):
        w = _withdrawal_or_404(self, pk)
        may = selectors.withdrawal_actions(actor=self.actor, withdrawal=w)
        return render(request, "payouts/withdrawal_detail.html", {"w": w, "may": may})


class _ConfirmView(ShopPageMixin, View):
    """GET: a confirmation page; POST: the service. ``op`` names the step."""

    op = ""

    def _withdrawal(self, pk) -> Withdrawal:
        # Found under the step's own action; the service checks the state and who may (and names the refusal).
        w = selectors.withdrawal_get(actor=self.actor, pk=pk, action=self.required_action)
        if w is None:
            raise Http404
        return w

    def get(self, request, shop, pk):
        w = self._withdrawal(pk)
        return render(request, "payouts/withdrawal_confirm.html", {"w": w, "op": self.op})

    def post(self, request, shop, pk):
        w = self.act(self._withdrawal(pk))
        messages.success(request, self.done_message())
        return redirect("payouts:withdrawal_detail", shop=self.shop.pk, pk=w.pk)


class WithdrawalApproveView(_ConfirmView):
    required_action = "payouts.approve"
    op = "approve"

    def act(self, w):
        return services.withdrawal_second_approve(actor=self.actor, withdrawal=w)

    def done_message(self):
        return _("Withdrawal approved: the marketplace will now process it.")


class WithdrawalCancelView(_ConfirmView):
    required_action = "payouts.withdraw"
    op = "cancel"

    def act(self, w):
        return services.withdrawal_cancel(actor=self.actor, withdrawal=w)

    def done_message(self):
        return _("Withdrawal cancelled: the money is available again.")


class PayoutSettingsView(ShopPageMixin, View):
    """The second-approval threshold. Changing it is the withdrawer's (``payouts.withdraw``) and asks for a fresh
    re-authentication, as a withdrawal does."""

    required_action = "payouts.withdraw"

    def _render(self, request, form, status=200):
        return render(request, "payouts/withdrawal_settings.html", {"form": form}, status=status)

    def get(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        row = selectors.payout_settings(shop=self.shop)
        value = row.second_approval_above if row else None
        # ``is None``, not falsiness: a threshold of 0.00 (every withdrawal needs a second approver) is a Decimal
        # zero, and showing it empty would turn it off on the next save.
        initial = "" if value is None else value
        return self._render(request, PayoutSettingsForm(initial={"second_approval_above": initial}))

    def post(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        form = PayoutSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.payout_settings_update(actor=self.actor,
                                                second_approval_above=form.cleaned_data["second_approval_above"])  # fmt: skip
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Payout settings saved."))
                return redirect(reverse("payouts:withdrawal_list", kwargs={"shop": self.shop.pk}))
        return self._render(request, form, status=400)
