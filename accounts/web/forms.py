from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.currencies import currency_choices, time_zone_choices
from accounts.models import Shop
from accounts.services import normalize_username
from backoffice.authz.actions import ACTIONS


def action_choices(actions=None):
    return [(code, f"{code} — {ACTIONS[code].label}") for code in (actions or ACTIONS)]


class SignupForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    shop_name = forms.CharField(label=_("Shop name"), max_length=120)


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)

    def clean_username(self):
        return normalize_username(self.cleaned_data["username"])


class OtpForm(forms.Form):
    otp = forms.CharField(
        label=_("One-time code"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, required=False)
    otp = forms.CharField(label=_("or one-time code"), required=False, max_length=10)

    def clean(self):
        data = super().clean()
        if not data.get("password") and not data.get("otp"):
            raise forms.ValidationError(_("Give your password or a one-time code."))
        return data


class OpenShopForm(forms.Form):
    shop_name = forms.CharField(label=_("Shop name"), max_length=120)


class StaffForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput)
    role = forms.ChoiceField(label=_("Role"))
    manager = forms.ChoiceField(label=_("Manager"), required=False)
    expires_at = forms.DateTimeField(
        label=_("Expires at (temporary account)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for a permanent account. Temporary accounts do not count against your plan's quota."),
    )  # fmt: skip
    extra_grants = forms.MultipleChoiceField(
        label=_("Extra permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, roles=(), managers=(), grantable=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(str(r.pk), r.display_name) for r in roles]
        self.fields["manager"].choices = [("", _("— me / the owner —"))] + [
            (str(m.pk), m.user.username) for m in managers
        ]
        self.fields["extra_grants"].choices = action_choices(grantable)
        if editing:
            for name in ("username", "password"):
                del self.fields[name]


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    permissions = forms.MultipleChoiceField(label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, grantable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = action_choices(grantable)


class ShopSettingsForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    require_2fa_roles = forms.MultipleChoiceField(
        label=_("Require 2FA for roles"), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Shop
        fields = [
            "name",
            "currency",
            "timezone",
            "language",
            "low_stock_default",
            "return_window_days",
            "auto_confirm_orders",
            "require_2fa_roles",
        ]

    def __init__(self, *args, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["require_2fa_roles"].choices = [("owner", _("Owner"))] + list(role_choices)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80)
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class AuditFilterForm(forms.Form):
    """The audit page's filters as typed; their meaning (an id, a real date) is checked by the selector, the
    same as for the API, and its refusal is put back on these fields."""

    actor = forms.CharField(label=_("Actor"), required=False)
    action = forms.CharField(label=_("Action"), required=False)
    target_type = forms.CharField(label=_("Target type"), required=False)
    target_id = forms.CharField(label=_("Target"), required=False)
    date_from = forms.CharField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.CharField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
