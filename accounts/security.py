"""Two-factor authentication checks, re-authentication and lockout responses (request-level helpers;
enrolling and removing a device are services: ``accounts.services.totp_*``)."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.authz import Actor

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


def pending_device(user) -> TOTPDevice | None:
    """The device being set up (not confirmed yet), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def has_2fa(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verify_otp(user, code: str | None) -> bool:
    if not code:
        return False
    code = str(code).strip().replace(" ", "")
    return any(d.verify_token(code) for d in TOTPDevice.objects.filter(user=user, confirmed=True))


def two_factor_required(actor: Actor) -> bool:
    """Does the shop demand 2FA from this member's role (and they have none yet)?"""
    roles = set(actor.shop.require_2fa_roles or [])
    if not roles:
        return False
    key = "owner" if actor.is_owner else (actor.membership.role.key if actor.membership.role_id else None)
    return key in roles and not has_2fa(actor.user)


def reauthenticate(*, user, password: str | None = None, otp: str | None = None) -> bool:
    """The user's CURRENT factor confirms it is really them: the password, or a code of a device that is
    already confirmed (a device being set up never counts: it may be the intruder's)."""
    if password and user.check_password(password):
        return True
    return bool(otp) and verify_otp(user, otp)


def reauth_locked(request, user) -> bool:
    """Is this user locked out (django-axes, username + IP) — the same lockout as logins?"""
    if not getattr(settings, "AXES_ENABLED", True):
        return False
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, credentials={"username": user.get_username()})


def attempt_reauth(request, *, user, password: str | None = None, otp: str | None = None) -> bool | None:
    """Re-authenticate through the login lockout: None when the user is locked out (nothing is checked),
    True when the current factor is right (the request is marked), False after a counted failure."""
    from django.contrib.auth.signals import user_login_failed

    django_request = getattr(request, "_request", request)  # a DRF request wraps Django's
    if reauth_locked(django_request, user):
        return None
    if reauthenticate(user=user, password=password, otp=otp):
        mark_reauthenticated(request)
        return True
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=django_request)
    if getattr(django_request, "axes_locked_out", False):
        return None
    return False


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
