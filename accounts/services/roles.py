"""Roles: a shop's custom roles (built-in templates are fixed). Changing a role changes every holder,
so the editor must be able to grant both the old and the new permissions."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Membership, Role, ShopGroupObjectPermission
from accounts.services._common import (
    STAFF_REFUSED,
    ensure_can_grant,
    lock_shop,
    replace_shop_grants,
    validate_actions,
)
from accounts.services.staff import ensure_can_manage
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, Forbidden, ValidationFailed


def set_role_permissions(role: Role, actions: frozenset[str]) -> None:
    """The role's grants become exactly ``actions`` (no check: the callers check the ceiling)."""
    replace_shop_grants(
        ShopGroupObjectPermission, holder="group_id", holder_id=role.group_id, shop_id=role.shop_id, actions=actions
    )


def _role_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the role."), fields={"name": [_("This field is required.")]})
    return name


def _name_taken(field: str = "name") -> ValidationFailed:
    # Said on the field the user typed: a key made from the name is never shown on the form.
    message = _("A role with this name exists.") if field == "name" else _("A role with this key exists.")
    return ValidationFailed(message, fields={field: [message]})


def _ensure_name_free(actor: Actor, name: str, *, exclude: Role | None = None) -> None:
    """Two roles of a shop never share a name (whatever the case): the staff form lists roles by name.
    Built-in roles count by their stored (English) name."""
    others = Role.objects.for_shop(actor.shop).filter(name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise _name_taken()


@transaction.atomic
def role_create(*, actor: Actor, name: str, permissions: Iterable[str], key: str = "", description: str = "") -> Role:
    require(actor, "accounts.manage_staff", message=_(STAFF_REFUSED))
    name = _role_name(name)
    actions = validate_actions(permissions)
    ensure_can_grant(actor, actions)
    # A key the caller chose (the API's optional ``key``) is theirs to change; one made from the name is not.
    key_field = "key" if key.strip() else "name"
    key = slugify(key or name)[:40] or f"role-{secrets.token_hex(3)}"
    lock_shop(actor.shop)  # one role created at a time per shop: the name check below holds until commit
    _ensure_name_free(actor, name)
    if Role.objects.for_shop(actor.shop).filter(key=key).exists():
        raise _name_taken(key_field)
    try:
        with transaction.atomic():
            group = Group.objects.create(name=f"shop-{actor.shop.pk}:{key}")
            role = Role.objects.for_shop(actor.shop).create(
                shop=actor.shop, key=key, name=name, description=description, group=group
            )
    except IntegrityError as exc:  # a group of that name left over: still a clash, never a 500
        raise _name_taken(key_field) from exc
    set_role_permissions(role, actions)
    audit_record(shop=actor.shop, actor=actor, action="role.created", target=role,
                 changes={"name": [None, name], "permissions": [None, sorted(actions)]})  # fmt: skip
    return role


@transaction.atomic
def role_update(
    *, actor: Actor, role: Role, name: str | None = None, description: str | None = None,
    permissions: Iterable[str] | None = None,
) -> Role:  # fmt: skip
    require(actor, "accounts.manage_staff", role, message=_(STAFF_REFUSED))
    if role.is_template:
        raise Conflict(_("Built-in roles cannot be changed; create a custom role instead."), code="template_role")
    before = {"name": role.name, "description": role.description, "permissions": selectors.role_permissions(role=role)}
    after = dict(before)
    holders: list[Membership] = []
    if permissions is not None:
        actions = validate_actions(permissions)
        ensure_can_grant(actor, actions | before["permissions"])
        if actions != before["permissions"]:
            # Changing a role changes every holder: only someone who may manage each of them (or the owner).
            holders = list(
                Membership.objects.for_shop(actor.shop)
                .select_for_update(of=("self",))
                .filter(role=role, is_active=True)
                .select_related("user", "role")
                .order_by("id")
            )
            for member in holders:
                try:
                    ensure_can_manage(actor, member)
                except Forbidden as exc:
                    raise Forbidden(
                        _("You may not change this role: %(user)s holds it and you may not manage them. %(why)s")
                        % {"user": member.user.get_username(), "why": exc.message},
                        code="role_holder_protected",
                    ) from exc
        set_role_permissions(role, actions)
        after["permissions"] = actions
    if name is not None:
        role.name = after["name"] = _role_name(name)
        if role.name.casefold() != before["name"].casefold():
            lock_shop(actor.shop)
            _ensure_name_free(actor, role.name, exclude=role)
    if description is not None:
        role.description = after["description"] = description
    role.save()
    audit_record(shop=actor.shop, actor=actor, action="role.updated", target=role, changes=diff(before, after))
    if holders:
        perm_change = {"permissions": [sorted(before["permissions"]), sorted(after["permissions"])]}
        for member in holders:
            audit_record(shop=actor.shop, actor=actor, action="staff.role_permissions_changed", target=member,
                         changes=perm_change)  # fmt: skip
    return role
