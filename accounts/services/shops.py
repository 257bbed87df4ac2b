"""Shops: sign-up, opening another shop, the seller's settings, and the plan (tier) set by the platform."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.currencies import is_currency, is_time_zone
from accounts.models import Membership, Role, Shop, User
from accounts.services._common import lock_shop, new_user
from accounts.services.roles import set_role_permissions
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, load_actor, require
from backoffice.authz.actions import ROLE_TEMPLATES
from backoffice.errors import Forbidden, ValidationFailed

SHOP_SETTINGS_FIELDS = (
    "name", "currency", "timezone", "language", "low_stock_default", "return_window_days",
    "auto_confirm_orders", "require_2fa_roles",
)  # fmt: skip


def _shop_name(value: str, field: str) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationFailed(_("Name your shop."), fields={field: [_("This field is required.")]})
    return name


def _shop_create(*, user: User, name: str) -> Shop:
    """A new shop (tier basic) with its template roles and ``user`` as owner; the audit entry is the
    owner's first act there."""
    if not isinstance(user, User):
        raise TypeError(f"a shop is opened by a User, not {type(user).__name__}")
    shop = Shop.objects.create(name=name, owner=user)
    for key, (role_name, actions) in ROLE_TEMPLATES.items():
        group = Group.objects.create(name=f"shop-{shop.pk}:{key}")
        role = Role.objects.for_shop(shop).create(shop=shop, key=key, name=role_name, is_template=True, group=group)
        set_role_permissions(role, actions)
    Membership.objects.for_shop(shop).create(shop=shop, user=user, is_owner=True, created_by=user)
    owner = load_actor(user, shop)
    audit_record(shop=shop, actor=owner, action="shop.created", target=shop,
                 changes={"name": [None, shop.name], "owner": [None, user.get_username()]})  # fmt: skip
    return shop


@transaction.atomic
def shop_signup(*, username: str, email: str, password: str, shop_name: str) -> tuple[User, Shop]:
    """A seller registers: a new user and a new shop (tier basic) with them as owner. There is no actor
    yet: the new owner's own actor writes the audit entry."""
    name = _shop_name(shop_name, "shop_name")
    user = new_user(username=username, email=email, password=password)
    return user, _shop_create(user=user, name=name)


@transaction.atomic
def shop_open(*, user: User, shop_name: str) -> Shop:
    """A signed-in user opens another shop (no shop, so no actor, until it exists)."""
    return _shop_create(user=user, name=_shop_name(shop_name, "shop_name"))


@transaction.atomic
def shop_update(*, actor: Actor, **changes) -> Shop:
    """The actor's shop's settings (``SHOP_SETTINGS_FIELDS``); the plan is the platform's (``shop_set_tier``)."""
    require(actor, "accounts.manage_settings", message=_("You may not change this shop's settings."))
    unknown = set(changes) - set(SHOP_SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown setting."), fields={k: [_("Unknown setting.")] for k in unknown})
    shop = lock_shop(actor.shop)
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
    if "name" in changes:
        changes["name"] = _shop_name(str(changes["name"]), "name")
    if "timezone" in changes and not is_time_zone(changes["timezone"]):
        raise ValidationFailed(
            _("Unknown time zone."), fields={"timezone": [_("Choose a time zone such as Europe/Moscow.")]}
        )
    if "currency" in changes:
        changes["currency"] = str(changes["currency"] or "").strip().upper()
        if not is_currency(changes["currency"]):
            raise ValidationFailed(
                _("Unknown currency."), fields={"currency": [_("Give an ISO 4217 currency code such as RUB.")]}
            )
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


@transaction.atomic
def shop_set_tier(*, actor: Actor, tier: str) -> Shop:
    """Platform staff move the actor's shop to another plan (``system_actor(shop, user=staff_user)``);
    members already over a smaller quota stay, new permanent ones wait for a free seat."""
    require(actor, "accounts.manage_settings")
    if not actor.is_system:
        raise Forbidden(_("The plan of a shop is changed by the platform."), code="platform_only")
    if tier not in Shop.Tier.values:
        raise ValidationFailed(_("Unknown plan."), fields={"tier": [_("Choose one of the plans.")]})
    shop = lock_shop(actor.shop)
    if shop.tier == tier:
        return shop
    before = {"tier": shop.tier}
    shop.tier = tier
    shop.save(update_fields=["tier"])
    actor.shop.tier = tier
    audit_record(shop=shop, actor=actor, action="shop.tier_changed", target=shop,
                 changes=diff(before, {"tier": tier}))  # fmt: skip
    return shop
