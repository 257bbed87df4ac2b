"""A user's own account, outside any shop: personal API tokens, browser sessions, password, 2FA.

These act for the signed-in user on their own account, so they take ``user`` (there is no shop, hence
no actor); the shop services take an actor."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.sessions.models import Session
from django.core.mail import send_mail
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


def _tell_owner(user: User, subject: str, body: str) -> None:
    """Email the account's owner about a change to their account's security, once the change commits
    (a thief holding a session cannot hide it: the mail goes to the address on file)."""
    if not user.email:
        return
    footer = _("If this was not you, change your password and end your other sessions now.")
    transaction.on_commit(lambda: send_mail(subject, f"{body}\n\n{footer}", None, [user.email], fail_silently=True))


def _end_other_access(user: User, *, keep_session_key: str | None, keep_token_id: int | None) -> None:
    """Every browser session and API token of the user stops working, except the ones named."""
    sessions = UserSession.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    keys = list(sessions.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    sessions.delete()
    tokens = ApiToken.objects.filter(user=user)
    if keep_token_id:
        tokens = tokens.exclude(pk=keep_token_id)
    for token in tokens:
        token.delete()  # one by one: the access cache forgets each key (post_delete)


@transaction.atomic
def token_create(*, user: User, name: str = "api", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal token; the key is returned once and only its hash is kept. The caller has just
    authenticated the user (the token endpoint) or re-authenticated them (the security page); the owner
    is emailed."""
    if not _own(user).is_active:
        raise Forbidden(_("This account is disabled."))
    check_expiry(expires_at)
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=(name or "api")[:80], key_hash=ApiToken.hash_key(key), prefix=key[:8], expires_at=expires_at
    )
    _tell_owner(
        user,
        _("A new API token was created"),
        _("An API token named “%(name)s” was created for your account %(user)s.")
        % {"name": token.name, "user": user.get_username()},
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


def session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """The browser's session got a new key (Django cycles it when the password changes): its row in the
    user's session list follows, so the list keeps showing this session and no dead one."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


@transaction.atomic
def session_revoke(*, user: User, session_id: int) -> None:
    """End one of the user's browser sessions (the caller re-authenticated them); the owner is emailed."""
    row = UserSession.objects.filter(user=_own(user), pk=session_id).first()
    if row is None:
        raise NotFound(_("No such session."))
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()
    _tell_owner(user, _("A session was ended"), _("One of your browser sessions was signed out from another one."))


@transaction.atomic
def sessions_end_others(*, user: User, keep_session_key: str) -> int:
    """Sign out every browser session of the user but the one asking ("sign out all other sessions").

    Browser sessions only: API tokens keep working (each is revoked on its own, or all of them by a password
    change). Each shop the user works in records it in its audit log (it is that shop's member whose access
    changed); the owner of the account is emailed. Returns how many sessions ended."""
    from accounts.models import Membership
    from backoffice.audit import audit_record
    from backoffice.authz import load_actor

    if not keep_session_key:
        # Without a session of its own the caller would end them all: not what this use case is.
        raise ValidationFailed(_("Sign in again to end your other sessions."))
    others = UserSession.objects.filter(user=_own(user)).exclude(session_key=keep_session_key)
    keys = list(others.select_for_update().values_list("session_key", flat=True))
    if not keys:
        return 0
    Session.objects.filter(session_key__in=keys).delete()
    ended, _rows = others.filter(session_key__in=keys).delete()
    # Platform code: the user's memberships across shops (this is their own account, not one shop's page).
    for membership in Membership.unscoped.filter(user=user, is_active=True).select_related("shop").order_by("id"):
        actor = load_actor(user, membership.shop)
        if actor is not None:
            audit_record(shop=membership.shop, actor=actor, action="security.other_sessions_ended",
                         target=membership, changes={"sessions_ended": [None, ended]})  # fmt: skip
    _tell_owner(
        user,
        _("Your other sessions were signed out"),
        _("All other browser sessions of your account %(user)s were signed out; API tokens were not affected.")
        % {"user": user.get_username()},
    )
    return ended


@transaction.atomic
def password_change(
    *, user: User, old_password: str, new_password: str, keep_session_key: str | None = None,
    keep_token_id: int | None = None,
) -> None:  # fmt: skip
    """A new password ends every other browser session and API token of the user (the one making the
    change is kept); the owner is emailed."""
    if not _own(user).check_password(old_password):
        raise ValidationFailed(_("Your current password is wrong."), fields={"old_password": [_("Wrong password.")]})
    validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _end_other_access(user, keep_session_key=keep_session_key, keep_token_id=keep_token_id)
    _tell_owner(
        user,
        _("Your password was changed"),
        _("The password of your account %(user)s was changed; your other sessions and API tokens were ended.")
        % {"user": user.get_username()},
    )


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
    replaced = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk)
    replacing = replaced.exists()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    replaced.delete()
    if replacing:
        subject = _("Your two-factor device was replaced")
        body = _("A new authenticator replaced the one on your account %(user)s.") % {"user": user.get_username()}
    else:
        subject = _("Two-factor authentication is on")
        body = _("An authenticator was added to your account %(user)s.") % {"user": user.get_username()}
    _tell_owner(user, subject, body)
    return device


@transaction.atomic
def totp_disable(*, user: User, password: str) -> None:
    if not _own(user).check_password(password):
        raise ValidationFailed(_("Your password is wrong."), fields={"password": [_("Wrong password.")]})
    TOTPDevice.objects.filter(user=user).delete()
    _tell_owner(
        user,
        _("Two-factor authentication is off"),
        _("Two-factor authentication was turned off for your account %(user)s.") % {"user": user.get_username()},
    )
