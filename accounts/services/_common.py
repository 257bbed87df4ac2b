"""What the accounts services share: grant writing, the delegation ceiling, users and their passwords.
Not part of the public API (``accounts.services`` re-exports the use cases only)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import password_validation
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import selectors
from accounts.models import Shop, User
from backoffice.authz import Actor
from backoffice.authz import cache as access_cache
from backoffice.authz.actions import ACTIONS, NON_DELEGABLE
from backoffice.errors import Forbidden, ValidationFailed

# The refusal of the staff services to a member without ``accounts.manage_staff`` (translated when raised).
STAFF_REFUSED = gettext_noop("You may not manage staff in this shop.")


def has_full_authority(actor: Actor) -> bool:
    """The owner, and platform code acting through the system actor, are bound by no delegation ceiling."""
    return actor.is_owner or actor.is_system


def lock_shop(shop: Shop) -> Shop:
    return Shop.objects.select_for_update().get(pk=shop.pk)


def validate_actions(codes: Iterable[str], field: str = "permissions") -> frozenset[str]:
    codes = frozenset(codes)
    unknown = sorted(codes - set(ACTIONS))
    if unknown:
        raise ValidationFailed(
            _("Unknown permission: %(codes)s") % {"codes": ", ".join(unknown)},
            fields={field: [_("Unknown permission: %(c)s") % {"c": c} for c in unknown]},
        )
    return codes


def _labels(codes: Iterable[str]) -> str:
    """Permissions in the words the forms show (a member never sees the codes)."""
    return ", ".join(str(ACTIONS[code].label) if code in ACTIONS else code for code in codes)


def ensure_can_grant(actor: Actor, actions: Iterable[str]) -> None:
    """The ceiling: grant only what ``selectors.grantable_actions`` offers the actor (what they hold;
    owner-only actions only by the owner)."""
    refused = frozenset(actions) - set(selectors.grantable_actions(actor=actor))
    owner_only = sorted(refused & NON_DELEGABLE)
    if owner_only:
        raise Forbidden(
            _("Only the shop owner can grant: %(codes)s") % {"codes": _labels(owner_only)}, code="owner_only"
        )
    if refused:
        raise Forbidden(
            _("You cannot grant permissions you do not hold: %(codes)s") % {"codes": _labels(sorted(refused))},
            code="grant_ceiling",
        )


def replace_shop_grants(perm_model: type[Model], *, holder: str, holder_id: int, shop_id: int, actions) -> None:
    """Make the shop-wide grants of one holder (``holder="user_id"`` for a member's extra grants,
    ``"group_id"`` for a role's group) exactly ``actions``, and tell the access cache."""
    perm_model.objects.filter(**{holder: holder_id}, content_object_id=shop_id).delete()
    ct = ContentType.objects.get_for_model(Shop)
    permissions = Permission.objects.filter(content_type=ct, codename__in=[ACTIONS[c].codename for c in actions])
    perm_model.objects.bulk_create(
        [perm_model(**{holder: holder_id}, permission=p, content_object_id=shop_id) for p in permissions]
    )
    access_cache.shop_changed(shop_id)


def check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("The expiry must be in the future."), fields={"expires_at": [_("Must be in the future.")]}
        )


def validate_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), fields={field: list(exc.messages)}) from exc


def normalize_username(username: str | None) -> str:
    """One spelling per name: NFKC (so "ｐｔ" is "pt", as Django's own user manager does), trimmed. Sign-up,
    staff creation, the login page and the token endpoint all use it."""
    return unicodedata.normalize("NFKC", str(username or "")).strip()


def new_user(*, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    username = normalize_username(username)
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("This field is required.")]
    if not email or "@" not in email:
        errors["email"] = [_("Enter a valid email address.")]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), fields=errors)
    user = User(username=username, email=email.strip(), first_name=first_name, last_name=last_name)
    validate_password(password, user)
    # Whether a name is taken is told last, to a request that is otherwise a valid sign-up (no more than
    # the form must say: the same message whatever the other account is).
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(_("This username is taken."), fields={"username": [_("This username is taken.")]})
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("This username is taken."), fields={"username": [_("This username is taken.")]}
        ) from exc
    return user
