"""Forms for the catalog pages: shape only; the services check meaning."""

from __future__ import annotations

import json
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.errors import ValidationFailed
from backoffice.parsing import BIGINT_MAX
from catalog.models import ImportJob
from catalog.services import STOCK_LEVEL_MAX, THRESHOLD_MAX, clean_attributes


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


def _attribute_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AttributeLineField(forms.CharField):
    """A variant's attributes on one line, as a seller writes them: ``Colour: black; Size: M`` (a table cell has
    no room for rows). JSON, what the field took before, is still read."""

    widget = forms.TextInput(attrs={"placeholder": _("Colour: black; Size: M")})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "; ".join(f"{key}: {_attribute_text(item)}" for key, item in sorted(value.items()))
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return {}
        if text.startswith("{"):
            return JSONObjectField().to_python(text)
        result: dict = {}
        for part in re.split("[;；]", text):  # the full-width marks too: what a Chinese keyboard types
            if not part.strip():
                continue
            key, colon, item = re.sub("：", ":", part, count=1).partition(":")
            key = key.strip()
            if not colon or not key:
                raise forms.ValidationError(_("Write each attribute as “name: value”, separated by “;”."))
            if key in result:
                raise forms.ValidationError(_("The name %(name)s is used twice.") % {"name": key})
            result[key] = item.strip()
        return result

    @staticmethod
    def keep_types(new: dict, old: dict | None) -> dict:
        """A number, yes/no or list the variant already had, left as it was written, stays that value (not its
        text): saving an untouched form changes nothing, so an approved product stays approved."""
        old = old if isinstance(old, dict) else {}
        return {
            key: old[key]
            if key in old and not isinstance(old[key], str) and item == _attribute_text(old[key])
            else item
            for key, item in new.items()
        }


class AttributeRowsWidget(forms.Widget):
    """A key/value rows editor: the rows the value has plus ``extra_rows`` empty ones, server-rendered, so it
    works without JavaScript (a small static script adds more rows). Each row posts ``<name>_key``,
    ``<name>_value``, ``<name>_type`` (how to read the value back: "text", or "json" for a number, yes/no or
    list the product already had, so saving an untouched form changes nothing) and, when ticked,
    ``<name>_remove`` (the row's index)."""

    template_name = "catalog/widgets/attribute_rows.html"
    extra_rows = 3

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.row_errors: dict[int, list[str]] = {}

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.row_errors = {}  # each form's field gets its own
        return copy

    def value_from_datadict(self, data, files, name):
        if f"{name}_key" not in data:
            # The attributes as a JSON object in one field (what the form took before the rows editor).
            return data.get(name)
        keys, values, types = data.getlist(f"{name}_key"), data.getlist(f"{name}_value"), data.getlist(f"{name}_type")
        removed = set(data.getlist(f"{name}_remove"))
        return [
            {"key": key, "value": values[i] if i < len(values) else "", "type": types[i] if i < len(types) else "text",
             "removed": str(i) in removed, "index": i}
            for i, key in enumerate(keys)
        ]  # fmt: skip

    def value_omitted_from_data(self, data, files, name):
        return f"{name}_key" not in data and name not in data

    def id_for_label(self, id_):
        return f"{id_}_key_0" if id_ else id_

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = [dict(r, errors=self.row_errors.get(r.get("index"), [])) for r in (value or []) if not r.get("removed")]
        rows += [{"key": "", "value": "", "type": "text", "errors": []} for _i in range(self.extra_rows)]
        context["widget"]["rows"] = rows
        return context


class AttributeRowsField(forms.Field):
    """Product attributes as name/value rows (not typed JSON), checked row by row with the services'
    ``clean_attributes``: a problem is shown on its row."""

    widget = AttributeRowsWidget

    @staticmethod
    def _row(key, value) -> dict:
        if isinstance(value, str):
            return {"key": key, "value": value, "type": "text"}
        return {"key": key, "value": json.dumps(value, ensure_ascii=False), "type": "json"}

    def prepare_value(self, value):
        if isinstance(value, dict):  # by name (the database keeps no order of its own)
            return [self._row(k, v) for k, v in sorted(value.items())]
        if isinstance(value, str):
            try:
                data = json.loads(value) if value.strip() else {}
            except ValueError:
                data = None
            return [self._row(k, v) for k, v in data.items()] if isinstance(data, dict) else []
        return value

    @staticmethod
    def _read(text: str, kind: str):
        text = text.strip()
        if kind == "json":
            try:
                value = json.loads(text)
            except ValueError:
                return text
            return value if not isinstance(value, dict) else text
        return text

    def to_python(self, value):
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            return JSONObjectField().to_python(value)
        result: dict = {}
        errors: dict[int, list[str]] = {}
        for row in value:
            key, text = str(row["key"]).strip(), str(row["value"])
            if row["removed"] or (not key and not text.strip()):
                continue
            if not key:
                errors[row["index"]] = [_("Give the attribute a name.")]
                continue
            if key in result:
                errors[row["index"]] = [_("This name is used twice.")]
                continue
            item = self._read(text, row["type"])
            try:  # the one rule, as the API and the imports apply it
                clean_attributes({key: item}, "attributes")
            except ValidationFailed as exc:
                errors[row["index"]] = [exc.message]
                continue
            result[key] = item
        if errors:
            self.widget.row_errors = errors
            raise forms.ValidationError(_("Correct the attributes marked below."))
        try:
            return clean_attributes(result, "attributes")
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    brand = forms.CharField(label=_("Brand"), max_length=120, required=False)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attributes = AttributeRowsField(label=_("Attributes"), required=False)

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
    attributes = AttributeLineField(label=_("Attributes"), required=False)

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


ADJUSTMENT_REASON_CHOICES = AdjustmentForm.base_fields["reason"].choices


class BulkPriceForm(forms.Form):
    """A bulk price change for the selected SKUs: the service checks each SKU (price above zero, old price not
    below it)."""

    price_op = forms.ChoiceField(
        label=_("Price"), required=False,
        choices=[("", _("Keep as it is")), ("set", _("Set to")), ("percent", _("Change by percent")),
                 ("amount", _("Change by amount"))],
    )  # fmt: skip
    price_value = forms.DecimalField(label=_("Price, percentage or amount"), max_digits=14, decimal_places=2,
                                     required=False, help_text=_("Negative to lower."))  # fmt: skip
    old_price_op = forms.ChoiceField(label=_("Old price"), required=False,
                                     choices=[("", _("Keep as it is")), ("set", _("Set to")), ("clear", _("Clear"))])  # fmt: skip
    old_price_value = forms.DecimalField(label=_("New old price"), max_digits=12, decimal_places=2, required=False)

    def clean(self):
        data = super().clean()
        if data.get("price_op") and data.get("price_value") is None:
            self.add_error("price_value", _("This field is required."))
        if data.get("old_price_op") == "set" and data.get("old_price_value") is None:
            self.add_error("old_price_value", _("This field is required."))
        if not data.get("price_op") and not data.get("old_price_op"):
            self.add_error("price_op", _("Choose what to change."))
        return data


class BulkStockForm(forms.Form):
    """A bulk stock change at one warehouse for the selected SKUs: the service checks each level (not below
    what is reserved)."""

    stock_op = forms.ChoiceField(label=_("Stock"),
                                 choices=[("set", _("Set on hand to")), ("add", _("Add or take away"))])  # fmt: skip
    warehouse = forms.TypedChoiceField(label=_("Warehouse"), coerce=int)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=-STOCK_LEVEL_MAX, max_value=STOCK_LEVEL_MAX,
                                  help_text=_("Negative to take away."))  # fmt: skip
    reason = forms.ChoiceField(label=_("Reason"), choices=ADJUSTMENT_REASON_CHOICES, required=False,
                               help_text=_("For an addition or a take-away; setting the level is an inventory count."))  # fmt: skip
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [(w.pk, str(w)) for w in warehouses]
