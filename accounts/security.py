"""Two-factor authentication, re-authentication and lockout responses."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.authz import Actor
from backoffice.errors import ValidationFailed

REAUTH_SESSION_KEY = "reauth_at"


def lockout_response(request, *args, **kwargs):
    """django-axes calls this when a username+IP is locked out (browser or API)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = ngettext(
        "Too many failed login attempts. Try again in %(minutes)d minute.",
        "Too many failed login attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "locked_out", "message": message, "fields": {}}}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_2fa(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verify_otp(user, code: str | None) -> bool:
    if not code:
        return False
    code = str(code).strip().replace(" ", "")
    return any(d.verify_token(code) for d in TOTPDevice.objects.filter(user=user, confirmed=True))


@transaction.atomic
def totp_start_enrolment(*, user) -> TOTPDevice:
    """A fresh unconfirmed device; any earlier unconfirmed one is dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_confirm(*, user, code: str) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
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
def totp_disable(*, user, password: str) -> None:
    if not user.check_password(password):
        raise ValidationFailed(_("Your password is wrong."), fields={"password": [_("Wrong password.")]})
    TOTPDevice.objects.filter(user=user).delete()


def two_factor_required(actor: Actor) -> bool:
    """Does the shop demand 2FA from this member's role (and they have none yet)?"""
    roles = set(actor.shop.require_2fa_roles or [])
    if not roles:
        return False
    key = "owner" if actor.is_owner else (actor.membership.role.key if actor.membership.role_id else None)
    return key in roles and not has_2fa(actor.user)


def reauthenticate(*, user, password: str | None = None, otp: str | None = None) -> bool:
    """Password, or OTP when the user has 2FA, confirms it is really them."""
    if password and user.check_password(password):
        return True
    return bool(otp) and verify_otp(user, otp)


def mark_reauthenticated(request) -> None:
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "reauthenticated_at"):
        token.reauthenticated_at = timezone.now()
        token.save(update_fields=["reauthenticated_at"])
    else:
        request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()


def recently_reauthenticated(request) -> bool:
    token = getattr(request, "auth", None)
    max_age = settings.REAUTH_MAX_AGE
    if token is not None and hasattr(token, "reauthenticated_at"):
        return token.reauthenticated_at is not None and timezone.now() - token.reauthenticated_at <= max_age
    at = request.session.get(REAUTH_SESSION_KEY)
    return at is not None and timezone.now().timestamp() - at <= max_age.total_seconds()
