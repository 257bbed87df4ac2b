"""Staff sub-accounts: adding, changing, deactivating and reactivating members, and the end of
temporary accounts.

Delegation invariants live here, not at the HTTP edge:
- nobody grants an action they do not hold; non-delegable actions only the owner grants;
- nobody manages a member outside their subtree, wider than themselves, or the owner;
- the owner is never deactivated; permanent staff stay within the tier quota.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import selectors
from accounts.models import ApiToken, Membership, Role, Shop, ShopUserObjectPermission, User, UserSession
from accounts.services._common import (
    STAFF_REFUSED,
    check_expiry,
    ensure_can_grant,
    has_full_authority,
    lock_shop,
    new_user,
    replace_shop_grants,
    validate_actions,
    validate_password,
)
from accounts.services.notifications import Notice, notifications_send
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, load_actor, require
from backoffice.authz import cache as access_cache
from backoffice.authz.actions import ACTIONS
from backoffice.authz.scopes import SCOPES
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from backoffice.parsing import parse_ids

logger = logging.getLogger(__name__)
_UNSET = object()
EXPIRY_NOTICE = timedelta(days=3)


def temporary_access_max_days() -> int:
    return int(getattr(settings, "TEMPORARY_ACCESS_MAX_DAYS", 90))


def _check_member_expiry(expires_at: datetime | None) -> None:
    """A temporary account ends in the future and within ``TEMPORARY_ACCESS_MAX_DAYS`` (a far-off end
    would be a permanent seat outside the plan's quota)."""
    check_expiry(expires_at)
    days = temporary_access_max_days()
    if expires_at is not None and expires_at > timezone.now() + timedelta(days=days):
        message = ngettext(
            "Temporary access lasts at most %(days)d day.", "Temporary access lasts at most %(days)d days.", days
        ) % {"days": days}
        raise ValidationFailed(message, fields={"expires_at": [message]})


def _require_staff(actor: Actor, membership: Membership | None = None) -> None:
    require(actor, "accounts.manage_staff", membership, message=_(STAFF_REFUSED))


# ---------------------------------------------------------------- delegation


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
    if has_full_authority(actor):
        return
    if target.pk == actor.membership.pk:
        raise Forbidden(_("You cannot change your own access."), code="self_management")
    if target.pk not in selectors.subtree_ids(shop=actor.shop, root=actor.membership):
        raise Forbidden(_("Only this member's managers can manage them."), code="not_your_report")
    wider = sorted(selectors.member_permissions(membership=target) - actor.permissions)
    if wider:
        # Named by their labels (the staff page shows this message), in catalog order.
        labels = [str(a.label) for code, a in ACTIONS.items() if code in wider]
        raise Forbidden(
            _("This member holds permissions you do not: %(codes)s") % {"codes": ", ".join(labels)},
            code="member_wider",
        )
    _ensure_scope_within(actor, selectors.member_scopes(membership=target))


def _check_manager(actor: Actor, manager: Membership | None) -> None:
    if manager is None:
        return
    if manager.shop_id != actor.shop.pk or not manager.is_active:
        raise ValidationFailed(
            _("Choose an active member of this shop."), fields={"manager": [_("Not an active member.")]}
        )
    if has_full_authority(actor) or manager.pk == actor.membership.pk:
        return
    if manager.pk not in selectors.subtree_ids(shop=actor.shop, root=actor.membership):
        raise Forbidden(_("The manager must be you or someone under you."), code="not_your_report")


def _ensure_email_free(shop: Shop, email: str, *, exclude: Membership | None = None) -> None:
    """No two members of a shop (the owner, active and deactivated members alike) share an email, whatever
    its case: the shop tells its people apart by it, and a deactivated member may come back. Users are
    global accounts, so the same address in another shop is that shop's business (and telling a shop
    which addresses other shops use would leak them)."""
    email = (email or "").strip()
    if not email:
        return
    others = Membership.objects.for_shop(shop).filter(user__email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        message = _("Another member of this shop uses this email.")
        raise ValidationFailed(message, fields={"email": [message]})


def _ensure_quota(shop: Shop, *, exclude: Membership | None = None) -> None:
    locked = lock_shop(shop)
    quota = selectors.staff_quota(shop=locked, exclude=exclude)
    if quota.full:
        raise Conflict(
            ngettext(
                "Your %(tier)s plan allows %(quota)d active permanent sub-account and it is in use. "
                "Deactivate it, add a temporary account with an expiry date, or upgrade the plan.",
                "Your %(tier)s plan allows %(quota)d active permanent sub-accounts and all are in use. "
                "Deactivate one, add a temporary account with an expiry date, or upgrade the plan.",
                quota.limit,
            )
            % {"tier": locked.get_tier_display(), "quota": quota.limit},
            code="quota_exceeded",
        )


# ---------------------------------------------------------------- grants and scopes of one member


def _resolve_scopes(shop: Shop, scopes: dict[str, Iterable[int]] | None) -> dict[str, frozenset[int]]:
    result: dict[str, frozenset[int]] = {}
    for key, ids in (scopes or {}).items():
        scope = SCOPES.get(key)
        if scope is None:
            message = _("Unknown scope: %(key)s") % {"key": key}
            raise ValidationFailed(message, fields={"scope": [message]})
        ids = frozenset(parse_ids(list(ids) if not isinstance(ids, str) else ids, "scope"))
        found = set(scope.model.objects.for_shop(shop).filter(pk__in=ids).values_list("pk", flat=True))
        if found != ids:
            missing = ", ".join(str(i) for i in sorted(ids - found))
            raise ValidationFailed(
                _("Some %(key)s objects do not exist in this shop.") % {"key": key},
                fields={"scope": [_("%(key)s: no such ids: %(ids)s") % {"key": key, "ids": missing}]},
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
    replace_shop_grants(
        ShopUserObjectPermission,
        holder="user_id",
        holder_id=membership.user_id,
        shop_id=membership.shop_id,
        actions=actions,
    )


def _membership_state(m: Membership) -> dict:
    return {
        "role": m.role.key if m.role_id else None,
        "manager": m.manager_id,
        "expires_at": m.expires_at,
        "is_active": m.is_active,
        "extra_grants": selectors.extra_grants(membership=m),
        "scope": selectors.member_scopes(membership=m),
    }


def _locked_member(actor: Actor, membership: Membership, *related: str) -> Membership:
    return (
        Membership.objects.for_shop(actor.shop)
        .select_for_update(of=("self",))
        .select_related("user", *related)
        .get(pk=membership.pk)
    )


# ---------------------------------------------------------------- use cases


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
    password_change_required: bool = False,
) -> Membership:
    """Add a staff sub-account: a new user who works only in this shop, with a role.

    ``password_change_required``: the password is the creator's choice (the staff page), so the person is
    asked to choose their own at their first login (``staff_first_password``)."""
    _require_staff(actor)
    shop = actor.shop
    if not isinstance(role, Role) or role.shop_id != shop.pk:
        raise ValidationFailed(_("Choose a role of this shop."), fields={"role": [_("Unknown role.")]})
    extra = validate_actions(extra_grants, "extra_grants")
    ensure_can_grant(actor, selectors.role_permissions(role=role) | extra)
    resolved_scopes = _resolve_scopes(shop, scopes)
    _ensure_scope_within(actor, resolved_scopes)
    if manager is None and not has_full_authority(actor):
        manager = actor.membership
    _check_manager(actor, manager)
    _check_member_expiry(expires_at)
    if expires_at is None:
        _ensure_quota(shop)
    else:
        lock_shop(shop)  # members are added one at a time per shop: the email check holds until commit
    _ensure_email_free(shop, email)
    user = new_user(username=username, email=email, password=password, first_name=first_name, last_name=last_name)
    if password_change_required:
        user.must_change_password = True
        user.save(update_fields=["must_change_password"])
    membership = Membership.objects.for_shop(shop).create(
        shop=shop, user=user, role=role, manager=manager, expires_at=expires_at, created_by=actor.audit_user
    )
    if extra:
        _set_extra_grants(membership, extra)
    if resolved_scopes:
        _set_scopes(membership, resolved_scopes)
        membership.save(update_fields=["scope_types"])
    audit_record(shop=shop, actor=actor, action="staff.created", target=membership,
                 changes=diff({}, {"username": user.username, **_membership_state(membership)}))  # fmt: skip
    return membership


@transaction.atomic
def staff_first_password(*, user: User, new_password: str) -> User:
    """A sub-account's first login: the person replaces the password someone else chose for them
    (``User.must_change_password``) with their own. Called by the login flow before the user is logged in
    (they have just proved the old password), so it takes the ``user``, like the own-account services.
    Every session and token made with the old password stops working; each shop the user works in records
    it in its audit log."""
    if not isinstance(user, User):
        raise TypeError(f"staff_first_password() needs a User, not {type(user).__name__}")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active or not user.must_change_password:
        raise Conflict(_("Your password was already chosen: log in with it."), code="password_already_chosen")
    validate_password(new_password, user, field="new_password")
    if user.check_password(new_password):
        message = _("Choose a password other than the one you were given.")
        raise ValidationFailed(message, fields={"new_password": [message]})
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    # Anything opened with the password someone else knows (an API token taken with it) ends now.
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    for token in ApiToken.objects.filter(user=user):
        token.delete()  # one by one: the access cache forgets each key (post_delete)
    memberships = Membership.unscoped.filter(user=user, is_active=True).select_related("shop").order_by("id")
    for membership in memberships:
        actor = load_actor(user, membership.shop)
        if actor is not None:  # an expired temporary account has no actor: nothing it can reach to record
            audit_record(shop=membership.shop, actor=actor, action="staff.password_chosen", target=membership,
                         changes={"must_change_password": [True, False]})  # fmt: skip
    return user


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
    _require_staff(actor, membership)
    membership = _locked_member(actor, membership, "role")
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
    new_extra = before["extra_grants"] if extra_grants is None else validate_actions(extra_grants, "extra_grants")
    granted = (selectors.role_permissions(role=new_role) if new_role else frozenset()) | new_extra
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
        _check_member_expiry(expires_at)
        if expires_at is None and membership.expires_at is not None and membership.is_active:
            _ensure_quota(actor.shop, exclude=membership)
        if expires_at != membership.expires_at:
            membership.expiry_notified_at = None  # a new end date is told again when it nears
        membership.expires_at = expires_at
    membership.save()
    user = membership.user
    identity = {f: v.strip() for f, v in (("email", email), ("first_name", first_name), ("last_name", last_name))
                if v is not None and v.strip() != user_before[f]}  # fmt: skip
    if identity and _identity_shared(user, actor.shop):
        message = _("%(user)s also works in another shop or owns one: only they can change their name and email.") % {
            "user": user.get_username()
        }
        raise Forbidden(message, code="identity_not_yours", fields={f: [message] for f in identity})
    if "email" in identity:
        lock_shop(actor.shop)
        _ensure_email_free(actor.shop, identity["email"], exclude=membership)
    for field, value in identity.items():
        setattr(user, field, value)
    user.save(update_fields=["email", "first_name", "last_name"])
    after = _membership_state(membership)
    changes = diff(before, after) | diff(
        user_before, {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    )
    audit_record(shop=actor.shop, actor=actor, action="staff.updated", target=membership, changes=changes)
    return membership


def _identity_shared(user: User, shop: Shop) -> bool:
    """Does the user's account reach beyond this shop (a membership elsewhere, or a shop of their own)?
    Then its identity — email, names — is theirs alone to change."""
    return (
        Membership.unscoped.filter(user=user).exclude(shop_id=shop.pk).exists()
        or Shop.objects.filter(owner=user).exists()
    )


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


def _deactivate(membership: Membership, *, actor: Actor, action: str) -> Membership:
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    _end_user_access(membership.user)
    audit_record(shop=actor.shop, actor=actor, action=action, target=membership, changes={"is_active": [True, False]})
    return membership


@transaction.atomic
def staff_deactivate(*, actor: Actor, membership: Membership) -> Membership:
    _require_staff(actor, membership)
    membership = _locked_member(actor, membership)
    ensure_can_manage(actor, membership)
    if not membership.is_active:
        raise Conflict(_("This member is already deactivated."), code="already_inactive")
    return _deactivate(membership, actor=actor, action="staff.deactivated")


@transaction.atomic
def staff_reactivate(*, actor: Actor, membership: Membership, expires_at=_UNSET) -> Membership:
    _require_staff(actor, membership)
    membership = _locked_member(actor, membership, "role")
    ensure_can_manage(actor, membership)
    if membership.is_active:
        raise Conflict(_("This member is already active."), code="already_active")
    if expires_at is not _UNSET:
        _check_member_expiry(expires_at)
        if expires_at != membership.expires_at:
            membership.expiry_notified_at = None
        membership.expires_at = expires_at
    if membership.expires_at is not None and membership.expires_at <= timezone.now():
        raise Conflict(
            _("This temporary account has expired: give it a new expiry date or make it permanent."), code="expired"
        )
    # Re-granting the role: the ceiling applies again.
    membership.is_active = True
    ensure_can_grant(actor, selectors.member_permissions(membership=membership))
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


# ---------------------------------------------------------------- temporary accounts (tasks, one shop each)


def staff_expire_due(*, actor: Actor, now: datetime | None = None) -> int:
    """Deactivate the actor's shop's temporary sub-accounts whose time is up (the expiry task passes
    ``system_actor(shop)``). Each in its own transaction; safe to run twice. Returns how many ended."""
    _require_staff(actor)
    now = now or timezone.now()
    staff = Membership.objects.for_shop(actor.shop)
    due = staff.filter(is_active=True, is_owner=False, expires_at__lte=now).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        with transaction.atomic():
            m = staff.select_for_update(of=("self",)).select_related("user").get(pk=pk)
            if not m.is_active or m.expires_at is None or m.expires_at > now:
                continue
            _deactivate(m, actor=actor, action="staff.expired")
            count += 1
    return count


def _shop_zone(shop: Shop):
    """The shop's time zone; a zone this server does not know (a row written before zones were checked)
    is logged and read as UTC rather than failing the shop's periodic work."""
    try:
        return ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        logger.warning("shop %s has an unknown time zone %r; using UTC", shop.pk, shop.timezone)
        return UTC


def _expiry_notices(shop: Shop, m: Membership, owner: Membership | None) -> list[Notice]:
    when = date_format(timezone.localtime(m.expires_at, _shop_zone(shop)), "DATETIME_FORMAT")
    notices = [Notice(recipient=m.user, kind="member_expiring",
                      title=_("Your access to %(shop)s ends on %(when)s") % {"shop": shop.name, "when": when},
                      url=reverse("accounts:dashboard", kwargs={"shop": shop.pk}))]  # fmt: skip
    told = {m.user_id}
    for boss in (m.manager, owner):
        if boss is not None and boss.is_active and boss.user_id not in told:
            told.add(boss.user_id)
            notices.append(Notice(recipient=boss.user, kind="member_expiring",
                                  title=_("%(member)s's access ends on %(when)s")
                                  % {"member": m.user.get_username(), "when": when},
                                  url=reverse("accounts:staff_detail", kwargs={"shop": shop.pk, "pk": m.pk})))  # fmt: skip
    return notices


def staff_expiry_notify(*, actor: Actor, now: datetime | None = None) -> int:
    """Tell each temporary sub-account of the actor's shop, its manager and the owner, once, that its
    access ends within ``EXPIRY_NOTICE`` (in the shop's language: a worker writes it). Safe to run
    twice; a changed expiry is told again. Returns how many members were told about."""
    _require_staff(actor)
    now = now or timezone.now()
    shop = actor.shop
    staff = Membership.objects.for_shop(shop)
    due = staff.filter(
        is_active=True, is_owner=False, expiry_notified_at__isnull=True, expires_at__gt=now,
        expires_at__lte=now + EXPIRY_NOTICE,
    ).values_list("pk", flat=True)  # fmt: skip
    count = 0
    for pk in list(due):
        with transaction.atomic():
            m = staff.select_for_update(of=("self",)).select_related("user", "manager__user").get(pk=pk)
            if not m.is_active or m.expiry_notified_at is not None or m.expires_at is None or m.expires_at <= now:
                continue
            owner = staff.filter(is_owner=True).select_related("user").first()
            with translation.override(shop.language):
                notices = _expiry_notices(shop, m, owner)
            notifications_send(actor=actor, notices=notices)
            staff.filter(pk=m.pk).update(expiry_notified_at=now)
            count += 1
    return count
