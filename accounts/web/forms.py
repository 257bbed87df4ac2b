from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.currencies import currency_choices, is_time_zone, time_zones
from accounts.models import Shop
from accounts.services import normalize_username
from backoffice.authz.actions import ACTIONS
from backoffice.authz.scopes import SCOPES

# The permission catalog groups its actions by the app that enforces them (``Action.domain``); these are
# the headings a person reads. A domain not listed here shows under its code, capitalised.
DOMAIN_LABELS = {
    "catalog": _("Catalog"),
    "orders": _("Orders"),
    "promotions": _("Promotions"),
    "payouts": _("Payouts"),
    "support": _("Support"),
    "analytics": _("Analytics"),
    "accounts": _("Shop administration"),
}
# The staff form's scope fields: (the field's label, its "no limit" choice). Another scope type reads its
# model's plural name and "All".
SCOPE_LABELS = {
    "warehouse": (_("Warehouses"), _("All warehouses")),
    "category": (_("Categories"), _("All categories")),
}
ALL = "all"


def domain_label(domain: str) -> str:
    return str(DOMAIN_LABELS.get(domain) or capfirst(domain))


def grouped_labels(codes) -> list[tuple[str, list[str]]]:
    """The actions ``codes`` names as [(domain heading, [labels])], in catalog order: how a page lists
    permissions (never by their codes)."""
    groups: dict[str, list[str]] = {}
    for code, action in ACTIONS.items():
        if code in codes:
            groups.setdefault(action.domain, []).append(str(action.label))
    return [(domain_label(domain), labels) for domain, labels in groups.items()]


def action_choices(actions=None):
    """Checkbox choices for the actions (all by default): their labels, grouped under their domain."""
    wanted = set(actions or ACTIONS)
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, action in ACTIONS.items():
        if code in wanted:
            groups.setdefault(action.domain, []).append((code, action.label))
    return [(domain_label(domain), choices) for domain, choices in groups.items()]


def scope_label(key: str) -> tuple[str, str]:
    if key in SCOPE_LABELS:
        return tuple(str(x) for x in SCOPE_LABELS[key])
    return str(capfirst(SCOPES[key].model._meta.verbose_name_plural)), gettext("All")


class PermissionCheckboxes(forms.CheckboxSelectMultiple):
    """Permission checkboxes under one heading per domain (a fieldset each). The actions in ``covered`` (what
    the chosen role grants already) are shown ticked and disabled with ``covered_note``; a disabled box is
    not sent, so it changes nothing (see ``StaffForm.clean``)."""

    template_name = "accounts/widgets/permission_checkboxes.html"
    covered: frozenset = frozenset()
    covered_note: str = ""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["was_selected"] = selected
        option["covered"] = value in self.covered
        option["covered_note"] = self.covered_note
        if option["covered"]:
            option["selected"] = True
            option["attrs"]["disabled"] = True
        return option


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
    extra_grants = forms.MultipleChoiceField(label=_("Extra permissions"), required=False, widget=PermissionCheckboxes)
    # Sent by the page with its scope fields: a POST without it (an older form) leaves the scope as it is.
    SCOPE_MARKER = "scope_fields"

    def __init__(
        self, *args, roles=(), managers=(), grantable=(), scopes=(), current_extra=frozenset(), editing=False,
        **kwargs,
    ):  # fmt: skip
        """``roles``: (role, its actions) pairs; ``scopes``: ``selectors.scope_choices``; ``current_extra``:
        the member's extra grants (editing), kept where the role covers them (their boxes are disabled)."""
        super().__init__(*args, **kwargs)
        self.role_grants = {str(r.pk): (r, frozenset(codes)) for r, codes in roles}
        self.current_extra = frozenset(current_extra)
        self.fields["role"].choices = [(pk, r.display_name) for pk, (r, _codes) in self.role_grants.items()]
        self.fields["manager"].choices = [("", _("— me / the owner —"))] + [
            (str(m.pk), m.user.username) for m in managers
        ]
        self.fields["extra_grants"].choices = action_choices(grantable)
        self.scope_keys = []
        for choice in scopes:
            label, all_label = scope_label(choice.key)
            options = ([(ALL, all_label)] if choice.unlimited_allowed else []) + [
                (str(pk), name) for pk, name in choice.objects
            ]
            name = f"scope_{choice.key}"
            self.fields[name] = forms.MultipleChoiceField(
                label=label, required=False, choices=options, widget=forms.CheckboxSelectMultiple
            )
            self.scope_keys.append(choice.key)
        if editing:
            for name in ("username", "password"):
                del self.fields[name]
        self._show_role(self._chosen_role())

    def _chosen_role(self) -> str:
        value = str((self.data.get("role") if self.is_bound else self.initial.get("role")) or "")
        # Nothing (or no role of this shop) chosen: the browser shows the first option as chosen.
        return value if value in self.role_grants else next(iter(self.role_grants), "")

    def _show_role(self, role_id: str) -> None:
        """What the chosen role grants: said under the role field, and ticked (disabled) among the extras."""
        role, codes = self.role_grants.get(role_id, (None, frozenset()))
        if role is not None:
            self.fields["role"].help_text = role_grants_text(codes)
        widget = self.fields["extra_grants"].widget
        widget.covered = codes
        widget.covered_note = role_note(role) if role is not None else ""

    def role_grants_data(self) -> dict:
        """For the page's script (``json_script``): per role id, what it grants (codes, the sentence under
        the role field and the note beside a covered box), so that choosing another role updates both."""
        return {
            pk: {"codes": sorted(codes), "text": role_grants_text(codes), "note": role_note(role)}
            for pk, (role, codes) in self.role_grants.items()
        }

    def clean(self):
        data = super().clean()
        role = self.role_grants.get(str(data.get("role") or ""))
        covered = role[1] if role else frozenset()
        if "extra_grants" in data:
            # A box the role covers is disabled, so never sent: an extra grant the member holds there stays.
            data["extra_grants"] = sorted(set(data["extra_grants"]) | (self.current_extra & covered))
        data["scopes"] = self._clean_scopes(data) if self.SCOPE_MARKER in self.data else None
        return data

    def _clean_scopes(self, data) -> dict[str, list[int]]:
        """{scope key: ids} for each type limited to chosen objects; "all" leaves the type out (no limit)."""
        scopes = {}
        for key in self.scope_keys:
            name = f"scope_{key}"
            if name not in data:  # the field itself refused the input (another shop's object)
                continue
            values = data[name]
            if ALL in values and len(values) > 1:
                self.add_error(name, _("Choose “all” or some of them, not both."))
            elif not values:
                self.add_error(name, _("Choose “all” or at least one."))
            elif ALL not in values:
                scopes[key] = [int(v) for v in values]
        return scopes


def role_grants_text(codes) -> str:
    labels = [str(a.label) for code, a in ACTIONS.items() if code in codes]
    if not labels:
        return gettext("This role grants nothing.")
    return gettext("This role grants: %(permissions)s.") % {"permissions": "; ".join(labels)}


def role_note(role) -> str:
    return gettext("granted by role %(role)s") % {"role": role.display_name}


def scope_initial(scope_types, member_scopes: dict) -> dict[str, list[str]]:
    """The staff form's scope fields for a member: "all" where they are not limited, else their objects."""
    return {
        f"scope_{key}": ([str(i) for i in sorted(member_scopes.get(key, ()))] if key in scope_types else [ALL])
        for key in SCOPES
    }


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    permissions = forms.MultipleChoiceField(label=_("Permissions"), required=False, widget=PermissionCheckboxes)

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


class PasswordChooseForm(forms.Form):
    """A new sub-account's first login: their own password instead of the one they were given."""

    new_password = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password_again = forms.CharField(
        label=_("New password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password_again") not in (None, data["new_password"]):
            self.add_error("new_password_again", _("The two passwords differ."))
        return data


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80)
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class AuditFilterForm(forms.Form):
    """The audit page's filters: who, which action, which kind of object as choices (the shop's members, the
    audit sentence registry), an object's id and a range of the shop's days. The values stay the text the API
    takes too: their meaning (an id, a real date) is checked by the selector, and its refusal is put back on
    these fields. A value the choices do not hold (a link from elsewhere) is offered as itself."""

    actor = forms.CharField(label=_("Actor"), required=False, widget=forms.Select)
    action = forms.CharField(label=_("Action"), required=False, widget=forms.Select)
    target_type = forms.CharField(label=_("Target type"), required=False, widget=forms.Select)
    target_id = forms.CharField(label=_("Target"), required=False)
    date_from = forms.CharField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.CharField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, actors=None, **kwargs):
        """``actors``: the (value, label) people to offer; None leaves the actor out (one member's page)."""
        from backoffice.audit.sentences import action_choices, target_choices

        super().__init__(*args, **kwargs)

        def given(name: str) -> str:
            return str(self.data.get(name) or "").strip()

        if actors is None:
            del self.fields["actor"]
        else:
            known = {value for value, _label in actors}
            extra = [(given("actor"), given("actor"))] if given("actor") and given("actor") not in known else []
            self.fields["actor"].widget.choices = [("", _("Anyone")), *actors, *extra]
        self.fields["action"].widget.choices = [("", _("Any action")), *action_choices(extra=[given("action")])]
        self.fields["target_type"].widget.choices = [("", _("Anything")), *target_choices(extra=[given("target_type")])]
