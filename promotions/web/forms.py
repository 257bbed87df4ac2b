"""Forms of the promotion pages: shape only (numbers, dates, codes as typed); the services check meaning
(tiers in order, a percentage within 0–100, the window's end after its start, SKUs of this shop)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from promotions.models import Promotion

K = Promotion.Kind
# The fields each kind's form shows (besides name, window, scope, limits and the rest every kind has).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    K.PERCENT_OFF: ("value",),
    K.AMOUNT_OFF: ("value",),
    K.SPEND_THRESHOLD: (),  # the tier rows
    K.GIFT_WITH_PURCHASE: ("gift_sku", "gift_quantity", "trigger_sku", "buy_quantity"),
    K.BUY_X_GET_Y: ("buy_quantity", "get_quantity", "value"),
}
KIND_ONLY = {"value", "gift_sku", "gift_quantity", "trigger_sku", "buy_quantity", "get_quantity"}
VALUE_LABELS = {
    K.PERCENT_OFF: _("Percent off"),
    K.AMOUNT_OFF: _("Amount off each unit"),
    K.BUY_X_GET_Y: _("Percent off the free units (empty: free)"),
}
TIER_ROWS = 5
PREVIEW_ROWS = 5
_CODES = re.compile(r"[\s,;]+")


def _money(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=12, decimal_places=2, min_value=0, **kwargs)


def _moment(label, **kwargs) -> forms.DateTimeField:
    # Naive times typed in the form are read in the zone that is active: the shop's (ShopPageMixin).
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    return forms.DateTimeField(label=label, widget=widget, **kwargs)


class SKUCodesField(forms.CharField):
    """SKU codes separated by spaces, commas or new lines (what a seller copies from a list)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        return " ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return list(dict.fromkeys(c for c in _CODES.split((value or "").strip()) if c))


class PromotionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    value = _money(_("Value"), required=False)
    gift_sku = forms.CharField(label=_("Gift SKU code"), max_length=64, required=False)
    gift_quantity = forms.IntegerField(label=_("Gift quantity"), min_value=1, max_value=1000, initial=1)
    trigger_sku = forms.CharField(
        label=_("Only with this SKU in the cart (code)"), max_length=64, required=False,
        help_text=_("Empty: the gift comes with the minimum spend alone."),
    )  # fmt: skip
    buy_quantity = forms.IntegerField(label=_("Buy quantity"), min_value=0, max_value=1000, required=False)
    get_quantity = forms.IntegerField(label=_("Free quantity"), min_value=1, max_value=1000, required=False)
    starts_at = _moment(_("Starts"))
    ends_at = _moment(_("Ends"), required=False)
    categories = forms.MultipleChoiceField(label=_("Categories"), required=False, widget=forms.CheckboxSelectMultiple)
    products = forms.MultipleChoiceField(label=_("Products"), required=False, widget=forms.SelectMultiple)
    skus = SKUCodesField(label=_("SKU codes"), required=False,
                         help_text=_("Leave categories, products and SKUs empty for the whole shop."))  # fmt: skip
    min_spend = _money(_("Minimum spend"), required=False)
    usage_limit = forms.IntegerField(label=_("Usage limit"), min_value=1, required=False,
                                     help_text=_("Orders in all; empty: no limit."))  # fmt: skip
    per_buyer_limit = forms.IntegerField(label=_("Per-buyer limit"), min_value=1, required=False)
    budget = _money(_("Budget"), required=False, help_text=_("The most it may give away; empty: no cap."))
    priority = forms.IntegerField(label=_("Priority"), initial=0, min_value=-1000, max_value=1000,
                                  help_text=_("Higher applies first."))  # fmt: skip
    exclusive = forms.BooleanField(label=_("Exclusive (never shares a line with another promotion)"),
                                   required=False)  # fmt: skip
    code = forms.CharField(label=_("Code"), max_length=64, required=False,
                           help_text=_("Empty: applies without a code."))  # fmt: skip

    def __init__(self, *args, kind: str, categories=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(KIND_FIELDS.get(kind, ()))
        for name in KIND_ONLY - keep:
            del self.fields[name]
        if "value" in self.fields:
            self.fields["value"].label = VALUE_LABELS[kind]
            self.fields["value"].required = kind != K.BUY_X_GET_Y
        if kind == K.BUY_X_GET_Y:
            self.fields["buy_quantity"].required = True
            self.fields["buy_quantity"].min_value = 1
            self.fields["get_quantity"].required = True
        if kind == K.GIFT_WITH_PURCHASE:
            self.fields["gift_sku"].required = True
            self.fields["buy_quantity"].label = _("Units of that SKU needed")
        self.fields["categories"].choices = [(str(c.pk), c.name) for c in categories]
        self.fields["products"].choices = [(str(p.pk), p.title) for p in products]

    def scope(self) -> dict[str, list]:
        data = self.cleaned_data
        return {
            "categories": [int(pk) for pk in data.get("categories") or []],
            "products": [int(pk) for pk in data.get("products") or []],
            "skus": data.get("skus") or [],
        }


class TierForm(forms.Form):
    min_spend = _money(_("Spend at least"), required=False)
    discount = _money(_("Discount"), required=False)

    def clean(self):
        data = super().clean()
        if (data.get("min_spend") is None) != (data.get("discount") is None) and not self.errors:
            raise forms.ValidationError(_("Fill in both amounts, or neither."))
        return data


TierFormSet = forms.formset_factory(TierForm, extra=TIER_ROWS, max_num=20, absolute_max=20)


class PreviewLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU code"), max_length=64, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000, required=False)


PreviewFormSet = forms.formset_factory(PreviewLineForm, extra=PREVIEW_ROWS, max_num=50, absolute_max=50)
