"""How the accounts app's audit entries read (found by ``backoffice.audit.sentences.discover``), and how the
people who acted are named: "Anna (Operator)", linked to their activity page for readers of the log."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership
from backoffice.audit.sentences import (
    Entry,
    Person,
    changed_fields,
    choice_label,
    field_labels,
    register_action,
    register_people,
    register_target,
)
from backoffice.authz import can


def person_name(user) -> str:
    return user.get_full_name().strip() or user.get_username()


def _people(reader, user_ids: set[int]) -> dict[int, Person]:
    if not user_ids:
        return {}
    linked = can(reader, "accounts.view_audit")
    found = {}
    members = (
        Membership.objects.for_shop(reader.shop).filter(user_id__in=sorted(user_ids)).select_related("user", "role")
    )
    for m in members:
        role = _("owner") if m.is_owner else (m.role.display_name if m.role_id else "")
        url = reverse("accounts:member_activity", kwargs={"shop": m.shop_id, "member": m.pk}) if linked else ""
        found[m.user_id] = Person(name=person_name(m.user), role=role, url=url)
    return found


register_people(_people)


register_target(
    "accounts.shop", label=gettext_lazy("shop"), model="accounts.Shop", view_action="accounts.manage_settings",
    name=lambda s: s.name, url=lambda s: reverse("accounts:shop_settings", kwargs={"shop": s.pk}),
)  # fmt: skip
register_target(
    "accounts.membership", label=gettext_lazy("member"), model="accounts.Membership", view_action="accounts.manage_staff",
    name=lambda m: person_name(m.user), related=("user",),
    url=lambda m: reverse("accounts:staff_detail", kwargs={"shop": m.shop_id, "pk": m.pk}),
    # recorded as "username @ shop id"
    recorded=lambda words: words.rsplit(" @ ", 1)[0],
)  # fmt: skip
register_target(
    "accounts.role", label=gettext_lazy("role"), model="accounts.Role", view_action="accounts.manage_staff",
    name=lambda r: r.display_name, url=lambda r: reverse("accounts:role_edit", kwargs={"shop": r.shop_id, "pk": r.pk}),
)  # fmt: skip
# Roles named by key in a member's changes ("role": ["support", "operator"]): named, not linked (a role's
# name is no secret to a reader of the log, and a key may belong to a role deleted since).
register_target(
    "accounts.role_key", label=gettext_lazy("role"), model="accounts.Role", view_action=None, lookup="key",
    name=lambda r: r.display_name,
)  # fmt: skip


STAFF_FIELDS = {
    "role": gettext_lazy("role"),
    "manager": gettext_lazy("manager"),
    "expires_at": gettext_lazy("end date"),
    "is_active": gettext_lazy("status"),
    "extra_grants": gettext_lazy("extra permissions"),
    "scope": gettext_lazy("scope"),
    "email": gettext_lazy("email"),
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "username": gettext_lazy("username"),
}


def _role_refs(e: Entry):
    return [("accounts.role_key", e.before("role")), ("accounts.role_key", e.after("role"))]


def _staff_updated_text(e: Entry):
    if "role" in e.changes and len(e.changes) == 1:
        return gettext_lazy("%(actor)s changed the role of %(target)s from %(old)s to %(new)s")
    if "role" in e.changes:
        return gettext_lazy("%(actor)s changed the role of %(target)s from %(old)s to %(new)s, and %(fields)s")
    return gettext_lazy("%(actor)s changed %(fields)s of %(target)s")


def _staff_updated_values(e: Entry) -> dict:
    return {
        "old": e.ref("accounts.role_key", e.before("role")),
        "new": e.ref("accounts.role_key", e.after("role")),
        "fields": changed_fields(e, STAFF_FIELDS, skip=("role",) if "role" in e.changes else ()),
    }


def _shop_fields(e: Entry) -> dict:
    return {"fields": changed_fields(e, field_labels("accounts.Shop"))}


def _tier_name(code) -> str:
    return choice_label("accounts.Shop", "tier", code)


register_action("shop.created", gettext_lazy("Shop opened"), gettext_lazy("%(actor)s opened the shop %(target)s"))
register_action("shop.updated", gettext_lazy("Shop settings changed"), gettext_lazy("%(actor)s changed the shop settings: %(fields)s"),
                values=_shop_fields)  # fmt: skip
register_action(
    "shop.tier_changed",
    gettext_lazy("Plan changed"),
    gettext_lazy("%(actor)s moved the shop from the %(old)s plan to %(new)s"),
    values=lambda e: {"old": _tier_name(e.before("tier")), "new": _tier_name(e.after("tier"))},
)
register_action("staff.created", gettext_lazy("Sub-account added"), gettext_lazy("%(actor)s added %(target)s as %(role)s"),
                values=lambda e: {"role": e.ref("accounts.role_key", e.after("role"))},
                refs=lambda e: [("accounts.role_key", e.after("role"))])  # fmt: skip
register_action("staff.updated", gettext_lazy("Sub-account changed"), _staff_updated_text, values=_staff_updated_values,
                refs=_role_refs)  # fmt: skip
register_action(
    "staff.deactivated", gettext_lazy("Sub-account deactivated"), gettext_lazy("%(actor)s deactivated %(target)s")
)
register_action(
    "staff.reactivated", gettext_lazy("Sub-account reactivated"), gettext_lazy("%(actor)s reactivated %(target)s")
)
register_action("staff.expired", gettext_lazy("Temporary sub-account ended"),
                gettext_lazy("The access period of %(target)s ended: the sub-account was deactivated"))  # fmt: skip
register_action("staff.role_permissions_changed", gettext_lazy("Permissions changed with a role"),
                gettext_lazy("%(actor)s edited a role: the permissions of %(target)s changed with it"))  # fmt: skip
register_action("role.created", gettext_lazy("Role created"), gettext_lazy("%(actor)s created the role %(target)s"))
register_action("role.updated", gettext_lazy("Role changed"), gettext_lazy("%(actor)s changed the role %(target)s"))
register_action("notifications.preferences_changed", gettext_lazy("Notification settings changed"),
                gettext_lazy("%(actor)s changed their notification settings"))  # fmt: skip
register_action(
    "security.other_sessions_ended", gettext_lazy("Other sessions signed out"),
    gettext_lazy("%(actor)s signed out all their other sessions (%(count)s)"),
    values=lambda e: {"count": int(e.after("sessions_ended") or 0)},
)  # fmt: skip
register_action(
    "staff.password_chosen", gettext_lazy("Own password chosen"), gettext_lazy("%(actor)s chose their own password")
)
