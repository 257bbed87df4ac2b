"""Forms for the catalog pages: shape only; the services check meaning."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.parsing import BIGINT_MAX
from catalog.models import ImportJob
from catalog.services import STOCK_LEVEL_MAX, THRESHOLD_MAX


class JSONObjectField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 1, "placeholder": '{"color": "black"}'})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False) if value else ""
        return value

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except ValueError:
            raise forms.ValidationError(_('Enter a JSON object, e.g. {"color": "black"}.'))
        if not isinstance(data, dict):
            raise forms.ValidationError(_('Enter a JSON object, e.g. {"color": "black"}.'))
        return data


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    brand = forms.CharField(label=_("Brand"), max_length=120, required=False)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attributes = JSONObjectField(label=_("Attributes"), required=False)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [(c.pk, c.name) for c in categories]


class VariantForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX, widget=forms.HiddenInput)
    code = forms.CharField(label=_("SKU code"), max_length=64, required=False)
    # Money is checked by the services (price above zero, old price not below it, cost not negative), so the
    # page says what the API and the imports say.
    price = forms.DecimalField(label=_("Price"), max_digits=12, decimal_places=2, required=False)
    old_price = forms.DecimalField(label=_("Old price"), max_digits=12, decimal_places=2, required=False)
    cost = forms.DecimalField(label=_("Cost"), max_digits=12, decimal_places=2, required=False)
    barcode = forms.CharField(label=_("Barcode"), max_length=64, required=False)
    weight = forms.DecimalField(label=_("Weight, kg"), max_digits=9, decimal_places=3, min_value=0, required=False)
    low_stock_threshold = forms.IntegerField(label=_("Low-stock threshold"), min_value=0, max_value=THRESHOLD_MAX,
                                             required=False)  # fmt: skip
    attributes = JSONObjectField(label=_("Attributes"), required=False)

    def __init__(self, *args, show_cost: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_cost:
            del self.fields["cost"]

    def clean(self):
        data = super().clean()
        if data.get("code") and data.get("price") is None:
            self.add_error("price", _("This field is required."))
        if not data.get("code") and data.get("id"):
            self.add_error("code", _("This field is required."))
        return data


VariantFormSet = forms.formset_factory(VariantForm, extra=2, max_num=50)


class ImageUploadForm(forms.Form):
    image = forms.FileField(label=_("Image"))


class AdjustmentForm(forms.Form):
    """A receipt, return or adjustment; the choices are the service's ``ADJUSTMENT_REASONS``."""

    sku = forms.CharField(label=_("SKU code"), max_length=64)
    warehouse = forms.TypedChoiceField(label=_("Warehouse"), coerce=int)
    delta = forms.IntegerField(label=_("Change (+/−)"), min_value=-STOCK_LEVEL_MAX, max_value=STOCK_LEVEL_MAX)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("receipt", _("Receipt (goods in)")), ("return", _("Customer return")),
                 ("correction", _("Correction")), ("count", _("Inventory count")), ("damage", _("Damage")),
                 ("loss", _("Loss")), ("other", _("Other"))],
    )  # fmt: skip
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [(w.pk, str(w)) for w in warehouses]
        if not self.is_bound and self.initial.get("sku"):
            # Opened for one SKU (a Restock link): the quantity is the one thing left to type.
            self.fields["delta"].widget.attrs["autofocus"] = True


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=ImportJob.Kind.choices)
    file = forms.FileField(label=_("CSV or XLSX file"))


class WarehouseForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    code = forms.SlugField(label=_("Code"), max_length=40)
    address = forms.CharField(label=_("Address"), max_length=255, required=False)


class WarehouseEditForm(WarehouseForm):
    is_active = forms.BooleanField(label=_("Active"), required=False)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.TypedChoiceField(label=_("Parent"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "—")] + [(c.pk, c.name) for c in categories]
