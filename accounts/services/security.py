"""A user's own account, outside any shop: personal API tokens, browser sessions, password, 2FA.

These act for the signed-in user on their own account, so they take ``user`` (there is no shop, hence
no actor); the shop services take an actor."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, User, UserSession
from accounts.services._common import check_expiry, validate_password
from backoffice.errors import Forbidden, NotFound, ValidationFailed


def _own(user: User) -> User:
    if not isinstance(user, User):
        raise TypeError(f"account services need the User acting on their own account, not {type(user).__name__}")
    return user


def token_create(*, user: User, name: str = "api", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal token; the key is returned once and only its hash is kept."""
    if not _own(user).is_active:
        raise Forbidden(_("This account is disabled."))
    check_expiry(expires_at)
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=(name or "api")[:80], key_hash=ApiToken.hash_key(key), prefix=key[:8], expires_at=expires_at
    )
    return token, key


def token_revoke(*, user: User, token_id: int) -> None:
    deleted, _rows = ApiToken.objects.filter(user=_own(user), pk=token_id).delete()
    if not deleted:
        raise NotFound(_("No such token."))


def session_record(*, user: User, session_key: str, ip: str | None, user_agent: str) -> None:
    UserSession.objects.update_or_create(
        session_key=session_key, defaults={"user": _own(user), "ip": ip, "user_agent": user_agent[:255]}
    )


def session_forget(*, session_key: str | None) -> None:
    """A browser logs out: its row leaves the user's session list."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def session_revoke(*, user: User, session_id: int) -> None:
    row = UserSession.objects.filter(user=_own(user), pk=session_id).first()
    if row is None:
        raise NotFound(_("No such session."))
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()


def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not _own(user).check_password(old_password):
        raise ValidationFailed(_("Your current password is wrong."), fields={"old_password": [_("Wrong password.")]})
    validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])


@transaction.atomic
def totp_start_enrolment(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed device; any earlier unconfirmed one is dropped."""
    TOTPDevice.objects.filter(user=_own(user), confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_confirm(*, user: User, code: str) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=_own(user), confirmed=False).order_by("-id").first()
    if device is None:
        raise ValidationFailed(_("Start the set-up again."), fields={"code": [_("No set-up in progress.")]})
    if not device.verify_token(str(code).strip()):
        raise ValidationFailed(
            _("That code is not right. Check your phone's clock and try again."), fields={"code": [_("Wrong code.")]}
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    return device


@transaction.atomic
def totp_disable(*, user: User, password: str) -> None:
    if not _own(user).check_password(password):
        raise ValidationFailed(_("Your password is wrong."), fields={"password": [_("Wrong password.")]})
    TOTPDevice.objects.filter(user=user).delete()
