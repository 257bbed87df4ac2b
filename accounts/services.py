"""Writes for accounts. Each function is one use case in one transaction, with one audit entry.

Delegation invariants live here, not at the HTTP edge:
- nobody grants an action they do not hold; non-delegable actions only the owner grants;
- nobody manages a member outside their subtree, wider than themselves, or the owner;
- the owner is never deactivated; permanent staff stay within the tier quota.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import selectors
from accounts.models import (
    ApiToken,
    Membership,
    Notification,
    NotificationPreference,
    Role,
    Shop,
    ShopGroupObjectPermission,
    ShopUserObjectPermission,
    User,
    UserSession,
)
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can
from backoffice.authz import cache as access_cache
from backoffice.authz.actions import ACTIONS, NON_DELEGABLE, ROLE_TEMPLATES, TIER_QUOTAS
from backoffice.authz.scopes import SCOPES
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backoffice.notifications import kinds_for as notification_kinds_for

# ---------------------------------------------------------------- helpers


def _shop_permission_objects(codes: Iterable[str]) -> list[Permission]:
    codenames = [ACTIONS[c].codename for c in codes]
    ct = ContentType.objects.get_for_model(Shop)
    return list(Permission.objects.filter(content_type=ct, codename__in=codenames))


def _validate_actions(codes: Iterable[str], field: str = "permissions") -> frozenset[str]:
    codes = frozenset(codes)
    unknown = sorted(codes - set(ACTIONS))
    if unknown:
        raise ValidationFailed(
            _("Unknown permission: %(codes)s") % {"codes": ", ".join(unknown)},
            fields={field: [_("Unknown permission: %(c)s") % {"c": c} for c in unknown]},
        )
    return codes


def _ensure_manage_staff(actor: Actor) -> None:
    if not can(actor, "accounts.manage_staff"):
        raise Forbidden(_("You may not manage staff in this shop."))


def ensure_can_grant(actor: Actor, actions: Iterable[str]) -> None:
    """The ceiling: grant only what you hold; owner-only actions only by the owner."""
    actions = frozenset(actions)
    if actor.is_owner:
        return
    owner_only = sorted(actions & NON_DELEGABLE)
    if owner_only:
        raise Forbidden(
            _("Only the shop owner can grant: %(codes)s") % {"codes": ", ".join(owner_only)}, code="owner_only"
        )
    missing = sorted(actions - actor.permissions)
    if missing:
        raise Forbidden(
            _("You cannot grant permissions you do not hold: %(codes)s") % {"codes": ", ".join(missing)},
            code="grant_ceiling",
        )


def _ensure_scope_within(actor: Actor, scopes: dict[str, frozenset[int]]) -> None:
    """A member's scope may be no wider than the actor's own on any limited type."""
    for key, allowed in actor.scopes.items():
        if key not in scopes:
            raise Forbidden(
                _("You are limited to some %(key)s objects: the member must be limited too.") % {"key": key},
                code="scope_ceiling",
            )
        if not scopes[key] <= allowed:
            raise Forbidden(
                _("You cannot grant %(key)s objects outside your own scope.") % {"key": key}, code="scope_ceiling"
            )


def ensure_can_manage(actor: Actor, target: Membership) -> None:
    if target.is_owner:
        raise Forbidden(_("The shop owner's access cannot be changed."), code="owner_protected")
    if actor.is_owner:
        return
    _ensure_manage_staff(actor)
    if target.pk == actor.membership.pk:
        raise Forbidden(_("You cannot change your own access."), code="self_management")
    if target.pk not in selectors.subtree_ids(shop=actor.shop, root=actor.membership):
        raise Forbidden(_("Only this member's managers can manage them."), code="not_your_report")
    wider = sorted(selectors.member_permissions(target) - actor.permissions)
    if wider:
        raise Forbidden(
            _("This member holds permissions you do not: %(codes)s") % {"codes": ", ".join(wider)},
            code="member_wider",
        )
    _ensure_scope_within(actor, selectors.member_scopes(target))


def _lock_shop(shop: Shop) -> Shop:
    return Shop.objects.select_for_update().get(pk=shop.pk)


def _ensure_quota(shop: Shop, *, exclude: Membership | None = None) -> None:
    locked = _lock_shop(shop)
    quota = TIER_QUOTAS[locked.tier]
    qs = Membership.objects.for_shop(shop).counted_in_quota()
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.count() >= quota:
        raise Conflict(
            ngettext(
                "Your %(tier)s plan allows %(quota)d active permanent sub-account and it is in use. "
                "Deactivate it, add a temporary account with an expiry date, or upgrade the plan.",
                "Your %(tier)s plan allows %(quota)d active permanent sub-accounts and all are in use. "
                "Deactivate one, add a temporary account with an expiry date, or upgrade the plan.",
                quota,
            )
            % {"tier": locked.get_tier_display(), "quota": quota},
            code="quota_exceeded",
        )


def _resolve_scopes(shop: Shop, scopes: dict[str, Iterable[int]] | None) -> dict[str, frozenset[int]]:
    result: dict[str, frozenset[int]] = {}
    for key, ids in (scopes or {}).items():
        scope = SCOPES.get(key)
        if scope is None:
            raise ValidationFailed(_("Unknown scope: %(key)s") % {"key": key}, fields={"scope": [f"unknown: {key}"]})
        ids = frozenset(int(i) for i in ids)
        found = set(scope.model.objects.for_shop(shop).filter(pk__in=ids).values_list("pk", flat=True))
        if found != ids:
            raise ValidationFailed(
                _("Some %(key)s objects do not exist in this shop.") % {"key": key},
                fields={"scope": [f"{key}: {sorted(ids - found)}"]},
            )
        result[key] = ids
    return result


def _set_scopes(membership: Membership, scopes: dict[str, frozenset[int]]) -> None:
    for key in set(membership.scope_types or []) | set(scopes):
        scope = SCOPES.get(key)
        if scope is None:
            continue
        perm = Permission.objects.get(
            content_type=ContentType.objects.get_for_model(scope.model), codename=scope.codename
        )
        scope.perm_model.objects.filter(
            user_id=membership.user_id, permission=perm, content_object__shop_id=membership.shop_id
        ).delete()
        if key in scopes:
            scope.perm_model.objects.bulk_create(
                [
                    scope.perm_model(user_id=membership.user_id, permission=perm, content_object_id=i)
                    for i in scopes[key]
                ]
            )
    membership.scope_types = sorted(scopes)
    access_cache.shop_changed(membership.shop_id)


def _set_extra_grants(membership: Membership, actions: frozenset[str]) -> None:
    ShopUserObjectPermission.objects.filter(user_id=membership.user_id, content_object_id=membership.shop_id).delete()
    ShopUserObjectPermission.objects.bulk_create(
        [
            ShopUserObjectPermission(user_id=membership.user_id, permission=p, content_object_id=membership.shop_id)
            for p in _shop_permission_objects(actions)
        ]
    )
    access_cache.shop_changed(membership.shop_id)


def _set_role_permissions(role: Role, actions: frozenset[str]) -> None:
    ShopGroupObjectPermission.objects.filter(group_id=role.group_id, content_object_id=role.shop_id).delete()
    ShopGroupObjectPermission.objects.bulk_create(
        [
            ShopGroupObjectPermission(group_id=role.group_id, permission=p, content_object_id=role.shop_id)
            for p in _shop_permission_objects(actions)
        ]
    )
    access_cache.shop_changed(role.shop_id)


def _membership_state(m: Membership) -> dict:
    return {
        "role": m.role.key if m.role_id else None,
        "manager": m.manager_id,
        "expires_at": m.expires_at,
        "is_active": m.is_active,
        "extra_grants": selectors.extra_grants(m),
        "scope": selectors.member_scopes(m),
    }


def _validate_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), fields={field: list(exc.messages)}) from exc


def _new_user(*, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("This field is required.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This username is taken.")]
    if not email or "@" not in email:
        errors["email"] = [_("Enter a valid email address.")]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)
    user = User(username=username, email=email.strip(), first_name=first_name, last_name=last_name)
    _validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("This username is taken."), fields={"username": [_("This username is taken.")]}
        ) from exc
    return user


# ---------------------------------------------------------------- shops and sign-up


def _create_template_roles(shop: Shop) -> dict[str, Role]:
    roles = {}
    for key, (name, actions) in ROLE_TEMPLATES.items():
        group = Group.objects.create(name=f"shop-{shop.pk}:{key}")
        role = Role.objects.for_shop(shop).create(shop=shop, key=key, name=name, is_template=True, group=group)
        _set_role_permissions(role, actions)
        roles[key] = role
    return roles


@transaction.atomic
def shop_signup(*, username: str, email: str, password: str, shop_name: str) -> tuple[User, Shop]:
    """A seller registers: a new user and a new shop (tier basic) with them as owner."""
    shop_name = (shop_name or "").strip()
    if not shop_name:
        raise ValidationFailed(_("Name your shop."), fields={"shop_name": [_("This field is required.")]})
    user = _new_user(username=username, email=email, password=password)
    shop = Shop.objects.create(name=shop_name, owner=user)
    _create_template_roles(shop)
    owner = Membership.objects.for_shop(shop).create(shop=shop, user=user, is_owner=True, created_by=user)
    audit_record(shop=shop, actor=Actor(user, shop, owner, frozenset()), action="shop.created", target=shop,
                 changes={"name": [None, shop.name], "owner": [None, user.username]})  # fmt: skip
    return user, shop


@transaction.atomic
def shop_open(*, user: User, shop_name: str) -> Shop:
    """An existing user opens another shop."""
    shop_name = (shop_name or "").strip()
    if not shop_name:
        raise ValidationFailed(_("Name your shop."), fields={"shop_name": [_("This field is required.")]})
    shop = Shop.objects.create(name=shop_name, owner=user)
    _create_template_roles(shop)
    owner = Membership.objects.for_shop(shop).create(shop=shop, user=user, is_owner=True, created_by=user)
    audit_record(shop=shop, actor=Actor(user, shop, owner, frozenset()), action="shop.created", target=shop,
                 changes={"name": [None, shop.name]})  # fmt: skip
    return shop


SHOP_SETTINGS_FIELDS = (
    "name", "currency", "timezone", "language", "low_stock_default", "return_window_days",
    "auto_confirm_orders", "require_2fa_roles",
)  # fmt: skip


@transaction.atomic
def shop_update(*, actor: Actor, shop: Shop, **changes) -> Shop:
    if not can(actor, "accounts.manage_settings"):
        raise Forbidden(_("You may not change this shop's settings."))
    unknown = set(changes) - set(SHOP_SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown setting."), fields={k: [_("Unknown setting.")] for k in unknown})
    shop = _lock_shop(shop)
    if "require_2fa_roles" in changes:
        value = changes["require_2fa_roles"] or []
        if not isinstance(value, list | tuple | set) or not all(isinstance(k, str) for k in value):
            raise ValidationFailed(
                _("Give a list of role keys."), fields={"require_2fa_roles": [_("A list of role keys.")]}
            )
        keys = set(value)
        known = set(Role.objects.for_shop(shop).values_list("key", flat=True)) | {"owner"}
        if keys - known:
            raise ValidationFailed(_("Unknown role."), fields={"require_2fa_roles": sorted(keys - known)})
        changes["require_2fa_roles"] = sorted(keys)
    if "name" in changes and not str(changes["name"]).strip():
        raise ValidationFailed(_("Name your shop."), fields={"name": [_("This field is required.")]})
    before = {k: getattr(shop, k) for k in changes}
    for k, v in changes.items():
        setattr(shop, k, v)
    try:
        shop.full_clean(exclude=["owner"])
    except DjangoValidationError as exc:
        raise ValidationFailed(_("Please correct the errors below."), fields=exc.message_dict) from exc
    shop.save(update_fields=list(changes) or None)
    audit_record(shop=shop, actor=actor, action="shop.updated", target=shop, changes=diff(before, changes))
    return shop


# ---------------------------------------------------------------- roles


@transaction.atomic
def role_create(*, actor: Actor, name: str, permissions: Iterable[str], key: str = "", description: str = "") -> Role:
    _ensure_manage_staff(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the role."), fields={"name": [_("This field is required.")]})
    actions = _validate_actions(permissions)
    ensure_can_grant(actor, actions)
    key = slugify(key or name)[:40] or f"role-{secrets.token_hex(3)}"
    if Role.objects.for_shop(actor.shop).filter(key=key).exists():
        raise ValidationFailed(_("A role with this key exists."), fields={"key": [_("A role with this key exists.")]})
    group = Group.objects.create(name=f"shop-{actor.shop.pk}:{key}")
    role = Role.objects.for_shop(actor.shop).create(
        shop=actor.shop, key=key, name=name, description=description, group=group
    )
    _set_role_permissions(role, actions)
    audit_record(shop=actor.shop, actor=actor, action="role.created", target=role,
                 changes={"name": [None, name], "permissions": [None, sorted(actions)]})  # fmt: skip
    return role


@transaction.atomic
def role_update(
    *, actor: Actor, role: Role, name: str | None = None, description: str | None = None,
    permissions: Iterable[str] | None = None,
) -> Role:  # fmt: skip
    _ensure_manage_staff(actor)
    if role.is_template:
        raise Conflict(_("Built-in roles cannot be changed; create a custom role instead."), code="template_role")
    before = {"name": role.name, "description": role.description, "permissions": selectors.role_permissions(role)}
    after = dict(before)
    if permissions is not None:
        actions = _validate_actions(permissions)
        # Changing a role changes every holder: the editor must hold both the old and the new grants.
        ensure_can_grant(actor, actions | before["permissions"])
        _set_role_permissions(role, actions)
        after["permissions"] = actions
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("Name the role."), fields={"name": [_("This field is required.")]})
        role.name = after["name"] = name.strip()
    if description is not None:
        role.description = after["description"] = description
    role.save()
    audit_record(shop=actor.shop, actor=actor, action="role.updated", target=role, changes=diff(before, after))
    return role


# ---------------------------------------------------------------- staff


def _check_manager(actor: Actor, manager: Membership | None) -> None:
    if manager is None:
        return
    if manager.shop_id != actor.shop.pk or not manager.is_active:
        raise ValidationFailed(
            _("Choose an active member of this shop."), fields={"manager": [_("Not an active member.")]}
        )
    if actor.is_owner or manager.pk == actor.membership.pk:
        return
    if manager.pk not in selectors.subtree_ids(shop=actor.shop, root=actor.membership):
        raise Forbidden(_("The manager must be you or someone under you."), code="not_your_report")


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("The expiry must be in the future."), fields={"expires_at": [_("Must be in the future.")]}
        )


@transaction.atomic
def staff_create(
    *,
    actor: Actor,
    username: str,
    email: str,
    password: str,
    role: Role,
    manager: Membership | None = None,
    expires_at: datetime | None = None,
    extra_grants: Iterable[str] = (),
    scopes: dict[str, Iterable[int]] | None = None,
    first_name: str = "",
    last_name: str = "",
) -> Membership:
    """Add a staff sub-account: a new user who works only in this shop, with a role."""
    _ensure_manage_staff(actor)
    shop = actor.shop
    if role is None or role.shop_id != shop.pk:
        raise ValidationFailed(_("Choose a role of this shop."), fields={"role": [_("Unknown role.")]})
    extra = _validate_actions(extra_grants, "extra_grants")
    ensure_can_grant(actor, selectors.role_permissions(role) | extra)
    resolved_scopes = _resolve_scopes(shop, scopes)
    _ensure_scope_within(actor, resolved_scopes)
    if manager is None and not actor.is_owner:
        manager = actor.membership
    _check_manager(actor, manager)
    _check_expiry(expires_at)
    if expires_at is None:
        _ensure_quota(shop)
    user = _new_user(username=username, email=email, password=password, first_name=first_name, last_name=last_name)
    membership = Membership.objects.for_shop(shop).create(
        shop=shop, user=user, role=role, manager=manager, expires_at=expires_at, created_by=actor.user
    )
    if extra:
        _set_extra_grants(membership, extra)
    if resolved_scopes:
        _set_scopes(membership, resolved_scopes)
        membership.save(update_fields=["scope_types"])
    audit_record(shop=shop, actor=actor, action="staff.created", target=membership,
                 changes=diff({}, {"username": user.username, **_membership_state(membership)}))  # fmt: skip
    return membership


_UNSET = object()


@transaction.atomic
def staff_update(
    *,
    actor: Actor,
    membership: Membership,
    role: Role | None = None,
    extra_grants: Iterable[str] | None = None,
    manager=_UNSET,
    expires_at=_UNSET,
    scopes: dict[str, Iterable[int]] | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> Membership:
    """Change a member's role, extra grants, manager, expiry, scope or contact details."""
    membership = (
        Membership.objects.for_shop(actor.shop)
        .select_for_update(of=("self",))
        .select_related("role", "user")
        .get(pk=membership.pk)
    )
    ensure_can_manage(actor, membership)
    before = _membership_state(membership)
    user_before = {
        "email": membership.user.email,
        "first_name": membership.user.first_name,
        "last_name": membership.user.last_name,
    }
    new_role = membership.role
    if role is not None:
        if role.shop_id != actor.shop.pk:
            raise ValidationFailed(_("Choose a role of this shop."), fields={"role": [_("Unknown role.")]})
        new_role = role
    new_extra = before["extra_grants"] if extra_grants is None else _validate_actions(extra_grants, "extra_grants")
    granted = (selectors.role_permissions(new_role) if new_role else frozenset()) | new_extra
    ensure_can_grant(actor, granted)
    if role is not None:
        membership.role = new_role
    if extra_grants is not None and new_extra != before["extra_grants"]:
        _set_extra_grants(membership, new_extra)
    if scopes is not None:
        resolved = _resolve_scopes(actor.shop, scopes)
        _ensure_scope_within(actor, resolved)
        _set_scopes(membership, resolved)
    if manager is not _UNSET:
        if manager is not None and manager.pk == membership.pk:
            raise ValidationFailed(
                _("A member cannot manage themselves."), fields={"manager": [_("Choose someone else.")]}
            )
        if manager is not None and manager.pk in selectors.subtree_ids(shop=actor.shop, root=membership):
            raise ValidationFailed(
                _("That would make a loop of managers."), fields={"manager": [_("Choose someone else.")]}
            )
        _check_manager(actor, manager)
        membership.manager = manager
    if expires_at is not _UNSET:
        _check_expiry(expires_at)
        if expires_at is None and membership.expires_at is not None and membership.is_active:
            _ensure_quota(actor.shop, exclude=membership)
        if expires_at != membership.expires_at:
            membership.expiry_notified_at = None  # a new end date is told again when it nears
        membership.expires_at = expires_at
    membership.save()
    user = membership.user
    for field, value in (("email", email), ("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, value.strip())
    user.save(update_fields=["email", "first_name", "last_name"])
    after = _membership_state(membership)
    changes = diff(before, after) | diff(
        user_before, {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    )
    audit_record(shop=actor.shop, actor=actor, action="staff.updated", target=membership, changes=changes)
    return membership


def _end_user_access(user: User) -> None:
    """Sessions and tokens stop working now; the user is disabled if no shop is left to them."""
    if Membership.unscoped.filter(user=user, is_active=True).exists():
        return
    user.is_active = False
    user.save(update_fields=["is_active"])
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user).delete()


def _deactivate(membership: Membership, *, actor, shop: Shop, action: str) -> Membership:
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    _end_user_access(membership.user)
    audit_record(shop=shop, actor=actor, action=action, target=membership, changes={"is_active": [True, False]})
    return membership


@transaction.atomic
def staff_deactivate(*, actor: Actor, membership: Membership) -> Membership:
    membership = (
        Membership.objects.for_shop(actor.shop)
        .select_for_update(of=("self",))
        .select_related("user")
        .get(pk=membership.pk)
    )
    ensure_can_manage(actor, membership)
    if not membership.is_active:
        raise Conflict(_("This member is already deactivated."), code="already_inactive")
    return _deactivate(membership, actor=actor, shop=actor.shop, action="staff.deactivated")


@transaction.atomic
def staff_reactivate(*, actor: Actor, membership: Membership, expires_at=_UNSET) -> Membership:
    membership = (
        Membership.objects.for_shop(actor.shop)
        .select_for_update(of=("self",))
        .select_related("user", "role")
        .get(pk=membership.pk)
    )
    ensure_can_manage(actor, membership)
    if membership.is_active:
        raise Conflict(_("This member is already active."), code="already_active")
    if expires_at is not _UNSET:
        _check_expiry(expires_at)
        if expires_at != membership.expires_at:
            membership.expiry_notified_at = None
        membership.expires_at = expires_at
    if membership.expires_at is not None and membership.expires_at <= timezone.now():
        raise Conflict(
            _("This temporary account has expired: give it a new expiry date or make it permanent."), code="expired"
        )
    # Re-granting the role: the ceiling applies again.
    membership.is_active = True
    ensure_can_grant(actor, selectors.member_permissions(membership))
    if membership.expires_at is None:
        _ensure_quota(actor.shop, exclude=membership)
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at", "expires_at", "expiry_notified_at"])
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
    audit_record(
        shop=actor.shop,
        actor=actor,
        action="staff.reactivated",
        target=membership,
        changes={"is_active": [False, True]},
    )
    return membership


def expire_temporary_members(*, now: datetime | None = None) -> int:
    """Deactivate every temporary sub-account whose time is up (all shops). Safe to run twice."""
    now = now or timezone.now()
    count = 0
    due = Membership.unscoped.filter(is_active=True, is_owner=False, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            m = Membership.unscoped.select_for_update(of=("self",)).select_related("user", "shop").get(pk=pk)
            if not m.is_active or m.expires_at is None or m.expires_at > now:
                continue
            _deactivate(m, actor=None, shop=m.shop, action="staff.expired")
            count += 1
    return count


# ---------------------------------------------------------------- tokens, sessions, security


def token_create(*, user: User, name: str = "api", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal token; the key is returned once and only its hash is kept."""
    if not user.is_active:
        raise Forbidden(_("This account is disabled."))
    _check_expiry(expires_at)
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=(name or "api")[:80], key_hash=ApiToken.hash_key(key), prefix=key[:8], expires_at=expires_at
    )
    return token, key


def token_revoke(*, user: User, token_id: int) -> None:
    deleted, _rows = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound(_("No such token."))


def session_revoke(*, user: User, session_id: int) -> None:
    row = UserSession.objects.filter(user=user, pk=session_id).first()
    if row is None:
        raise NotFound(_("No such session."))
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()


def session_record(*, user: User, session_key: str, ip: str | None, user_agent: str) -> None:
    UserSession.objects.update_or_create(
        session_key=session_key, defaults={"user": user, "ip": ip, "user_agent": user_agent[:255]}
    )


def session_forget(*, session_key: str | None) -> None:
    """A browser logs out: its row leaves the user's session list."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed(_("Your current password is wrong."), fields={"old_password": [_("Wrong password.")]})
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])


# ---------------------------------------------------------------- notifications


@dataclass(frozen=True)
class Notice:
    recipient: User
    kind: str  # "low_stock", "complaint", "report_ready", ...
    title: str
    body: str = ""
    url: str = ""


def notifications_send(*, shop: Shop, notices: Sequence[Notice], email: bool = True) -> list[Notification]:
    """In-app notifications (one insert), and the same by email once the caller's transaction commits,
    each as far as its recipient chose to receive that kind (``NotificationPreference``)."""
    chosen = {
        (p.user_id, p.kind): p
        for p in NotificationPreference.objects.for_shop(shop).filter(
            user_id__in={n.recipient.pk for n in notices}, kind__in={n.kind for n in notices}
        )
    } if notices else {}  # fmt: skip

    def wants(n: Notice, channel: str) -> bool:
        pref = chosen.get((n.recipient.pk, n.kind))
        return pref is None or getattr(pref, channel)

    rows = Notification.objects.for_shop(shop).bulk_create(
        [
            Notification(
                shop=shop, recipient=n.recipient, kind=n.kind[:32], title=n.title[:200], body=n.body, url=n.url[:255]
            )
            for n in notices
            if wants(n, "in_app")
        ]
    )
    messages = [
        (f"[{shop.name}] {n.title}", "\n\n".join(part for part in (n.body, n.url) if part), None, [n.recipient.email])
        for n in notices
        if email and n.recipient.email and wants(n, "email")
    ]
    if messages:
        from django.core.mail import send_mass_mail

        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))
    return rows


@transaction.atomic
def notifications_mark_read(*, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them when ``ids`` is None); returns how many."""
    qs = Notification.objects.for_shop(actor.shop).filter(recipient_id=actor.user.pk, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, actor: Actor, choices: dict[str, dict[str, bool]]) -> None:
    """The actor's own choice, per kind, of in-app and email notifications in this shop. Kinds left out
    keep their setting; a kind the member cannot receive here is refused."""
    offered = {k.key for k in notification_kinds_for(actor)}
    unknown = sorted(set(choices) - offered)
    if unknown:
        raise ValidationFailed(
            _("Unknown notification kind."), fields={"preferences": [_("Not offered here: %s") % ", ".join(unknown)]}
        )
    before = selectors.notification_preferences(actor=actor)
    for kind, channels in choices.items():
        current = before[kind]
        NotificationPreference.objects.for_shop(actor.shop).update_or_create(
            shop=actor.shop,
            user=actor.user,
            kind=kind,
            defaults={
                "in_app": bool(channels.get("in_app", current["in_app"])),
                "email": bool(channels.get("email", current["email"])),
            },
        )
    after = selectors.notification_preferences(actor=actor)
    changes = {
        kind: [{"in_app": before[kind]["in_app"], "email": before[kind]["email"]},
               {"in_app": after[kind]["in_app"], "email": after[kind]["email"]}]
        for kind in choices
        if before[kind] != after[kind]
    }  # fmt: skip
    if changes:
        audit_record(shop=actor.shop, actor=actor, action="notifications.preferences_changed",
                     target=actor.membership, changes=changes)  # fmt: skip


EXPIRY_NOTICE = timedelta(days=3)


def _expiry_notices(m: Membership, owner: Membership | None) -> list[Notice]:
    when = date_format(timezone.localtime(m.expires_at, ZoneInfo(m.shop.timezone)), "DATETIME_FORMAT")
    notices = [Notice(recipient=m.user, kind="member_expiring",
                      title=_("Your access to %(shop)s ends on %(when)s") % {"shop": m.shop.name, "when": when},
                      url=f"/shops/{m.shop_id}/")]  # fmt: skip
    told = {m.user_id}
    for boss in (m.manager, owner):
        if boss is not None and boss.is_active and boss.user_id not in told:
            told.add(boss.user_id)
            notices.append(Notice(recipient=boss.user, kind="member_expiring",
                                  title=_("%(member)s's access ends on %(when)s")
                                  % {"member": m.user.get_username(), "when": when},
                                  url=f"/shops/{m.shop_id}/staff/{m.pk}/"))  # fmt: skip
    return notices


def expiring_members_notify(*, now: datetime | None = None) -> int:
    """Tell each temporary sub-account, its manager and the shop owner, once, that its access ends within
    ``EXPIRY_NOTICE``. Safe to run twice; a changed expiry is told again. Returns how many were told about."""
    now = now or timezone.now()
    due = Membership.unscoped.filter(
        is_active=True, is_owner=False, expiry_notified_at__isnull=True, expires_at__gt=now,
        expires_at__lte=now + EXPIRY_NOTICE,
    ).values_list("pk", flat=True)  # fmt: skip
    count = 0
    for pk in list(due):
        with transaction.atomic():
            m = (
                Membership.unscoped.select_for_update(of=("self",))
                .select_related("user", "shop", "manager__user")
                .get(pk=pk)
            )
            if not m.is_active or m.expiry_notified_at is not None or m.expires_at is None or m.expires_at <= now:
                continue
            owner = Membership.unscoped.filter(shop_id=m.shop_id, is_owner=True).select_related("user").first()
            with translation.override(m.shop.language):  # written by a worker: in the shop's language
                notices = _expiry_notices(m, owner)
            notifications_send(shop=m.shop, notices=notices)
            Membership.unscoped.filter(pk=m.pk).update(expiry_notified_at=now)
            count += 1
    return count
