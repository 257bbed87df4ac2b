from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.currencies import currency_choices, is_time_zone, time_zones
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


# Names the tz database knows that are no place a shop is in: the server's own zone (a link to whatever the
# host is set to) and the "unspecified" zone. The list does not offer them (a shop that has one keeps it).
NOT_OFFERED_ZONES = frozenset({"localtime", "Factory"})


def _utc_offset(name: str, now: datetime) -> str:
    offset = now.astimezone(ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def grouped_time_zone_choices(current: str | None = None) -> list:
    """The zones a shop may choose, grouped by region (Africa, America, …, Europe, …) and sorted, each with
        its offset now ("Europe/Moscow (UTC+03:00)"); UTC first, names without a region (legacy aliases such as
        "W-SU") last. The names the service accepts (``accounts.currencies.time_zones``) but the two above,
    unless the shop already has one (a select without its current value would change it on the next save)."""
    now = timezone.now()
    names = set(time_zones()) - NOT_OFFERED_ZONES
    if current and is_time_zone(current):
        names.add(current)
    groups: dict[str, list[tuple[str, str]]] = {}
    loose: list[tuple[str, str]] = []
    for name in sorted(names):
        if name == "UTC":
            continue
        choice = (name, f"{name} ({_utc_offset(name, now)})")
        if "/" in name:
            groups.setdefault(name.split("/", 1)[0], []).append(choice)
        else:
            loose.append(choice)
    head = [("UTC", "UTC")] if "UTC" in names else []
    return head + list(groups.items()) + loose


class ShopSettingsForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    timezone = forms.ChoiceField(label=_("Time zone"))
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
        # Built once per form (labels carry today's offsets), not on every look-up of a choice.
        self.fields["timezone"].choices = grouped_time_zone_choices(getattr(self.instance, "timezone", None))


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
    date_from = forms.CharField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.CharField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
