"""Forms check shape; the services check meaning."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Order


class PackForm(forms.Form):
    """Carrier and tracking number. A shop that keeps a carrier list picks one of its active carriers (the
    form sends its id; ``carrier_object`` gives it back); a shop without a list types the name."""

    carrier = forms.CharField(label=_("Carrier"), max_length=80)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)

    def __init__(self, *args, carriers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.carriers = {str(c.pk): c for c in carriers}
        if self.carriers:
            self.fields["carrier"] = forms.ChoiceField(
                label=_("Carrier"), choices=[("", "—"), *[(pk, c.name) for pk, c in self.carriers.items()]]
            )

    def service_kwargs(self) -> dict:
        """What ``services.order_pack`` takes: the chosen carrier itself, or the typed name."""
        data = dict(self.cleaned_data)
        data["carrier"] = self.carriers.get(data["carrier"], data["carrier"])
        return data


class TrackingCorrectForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)


class CarrierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    code = forms.CharField(label=_("Code"), max_length=32)
    tracking_url = forms.CharField(
        label=_("Tracking URL pattern"), max_length=500, required=False,
        help_text=_("The carrier's tracking page, with {tracking} where the number goes, e.g. "
                    "https://carrier.example/track/{tracking}"),
    )  # fmt: skip


class CarrierEditForm(CarrierForm):
    is_active = forms.BooleanField(label=_("Active (offered on the pack forms)"), required=False)


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
