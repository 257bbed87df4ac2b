"""Roles: a shop's custom roles (built-in templates are fixed). Changing a role changes every holder,
so the editor must be able to grant both the old and the new permissions."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Role, ShopGroupObjectPermission
from accounts.services._common import STAFF_REFUSED, ensure_can_grant, replace_shop_grants, validate_actions
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, ValidationFailed


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


@transaction.atomic
def role_create(*, actor: Actor, name: str, permissions: Iterable[str], key: str = "", description: str = "") -> Role:
    require(actor, "accounts.manage_staff", message=_(STAFF_REFUSED))
    name = _role_name(name)
    actions = validate_actions(permissions)
    ensure_can_grant(actor, actions)
    key = slugify(key or name)[:40] or f"role-{secrets.token_hex(3)}"
    if Role.objects.for_shop(actor.shop).filter(key=key).exists():
        raise ValidationFailed(_("A role with this key exists."), fields={"key": [_("A role with this key exists.")]})
    group = Group.objects.create(name=f"shop-{actor.shop.pk}:{key}")
    role = Role.objects.for_shop(actor.shop).create(
        shop=actor.shop, key=key, name=name, description=description, group=group
    )
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
    if permissions is not None:
        actions = validate_actions(permissions)
        ensure_can_grant(actor, actions | before["permissions"])
        set_role_permissions(role, actions)
        after["permissions"] = actions
    if name is not None:
        role.name = after["name"] = _role_name(name)
    if description is not None:
        role.description = after["description"] = description
    role.save()
    audit_record(shop=actor.shop, actor=actor, action="role.updated", target=role, changes=diff(before, after))
    return role
