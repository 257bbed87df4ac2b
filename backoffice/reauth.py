"""Fresh re-authentication before sensitive actions (withdrawals, granting staff permissions), asked by any app
without importing the one that keeps it: ``settings.REAUTH_CHECK`` names ``request -> bool`` (accounts' session
or API-token mark), as ``AUTHZ_TWO_FACTOR_REQUIRED`` names the 2FA check.

- API views call ``require_recent_reauth(request)``: 403 ``reauth_required`` when the mark is missing or old.
- Pages ask ``recently_reauthenticated(request)`` and send the member to ``reauth_url(next)`` (the
  re-authentication page, which comes back to ``next``)."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from backoffice.errors import Forbidden


@functools.cache
def _check():
    return import_string(settings.REAUTH_CHECK)


def recently_reauthenticated(request) -> bool:
    """Has this request's session (or API token) confirmed its password or one-time code lately?"""
    return bool(_check()(request))


def require_recent_reauth(request) -> None:
    """403 ``reauth_required`` unless the caller re-authenticated within ``REAUTH_MAX_AGE``."""
    if not recently_reauthenticated(request):
        raise Forbidden(
            _("Confirm your password or one-time code first (POST /api/v1/auth/reauth/)."), code="reauth_required"
        )


def reauth_url(next_url: str) -> str:
    """The re-authentication page (``settings.REAUTH_PAGE``, a URL name), coming back to ``next_url``."""
    return reverse(settings.REAUTH_PAGE) + "?" + urlencode({"next": next_url})
