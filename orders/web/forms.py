"""Forms check shape; the services check meaning."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Order


class PackForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=80)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Order.CancelReason.choices)
    comment = forms.CharField(label=_("Comment"), max_length=500, required=False,
                              help_text=_("Required when the reason is “other”."))  # fmt: skip


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=12, decimal_places=2, min_value=0)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ReceiveForm(forms.Form):
    warehouse = forms.ChoiceField(label=_("Put back into"))

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [*[(str(w.pk), str(w)) for w in warehouses], ("", _("Write off"))]
        self.fields["warehouse"].required = False


class ReturnCreateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku_code} — {line.title}", min_value=0, max_value=line.quantity, initial=0, required=False
            )

    def line_quantities(self) -> list[dict]:
        return [
            {"line": line.pk, "quantity": self.cleaned_data.get(f"line_{line.pk}") or 0}
            for line in self.lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")])
