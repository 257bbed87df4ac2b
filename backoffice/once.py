"""One-time form tokens: a form that creates something (a refund, a return, a member, a product, an
export...) is sent once, however often the button is clicked or the browser resends it.

Each rendering of such a form carries a fresh token (``{% load once %}{% once_token %}`` inside the
``<form>``), remembered server-side in the cache (Redis in every deployment; shared by the web workers) for
the member it was rendered for. A page that sets ``one_time_post = True`` on ``ShopPageMixin`` claims the
token before the view runs: the claim is one atomic ``cache.add`` (Redis ``SET NX``), so of two requests
sent at the same moment with one token exactly one runs the action, and the other is answered 409.

- no token, or one that was not issued to this member (forged, another member's, expired): 400, nothing done;
- a token already claimed: 409 "This form was already sent", with a link to where the first send went
  (the page it redirected to, once it has finished), nothing done;
- the first send refused (any 4xx or an exception): the claim is released, so the page that is still on
  screen (the refusal page's Back button) can be corrected and sent again with the same token.

Why a 409 page and not a redirect to the first result: while the first request is still running there is
no result to redirect to, and a silent redirect would hide that the second click did nothing (a refusal is
always said in words, see ``backoffice.web.refusal_response``).
"""

from __future__ import annotations

import re
import secrets

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

FIELD = "once_token"
# Long enough for a form left open over a working day; a token older than this is refused (reload the page).
TTL_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _issued_key(user_pk, token: str) -> str:
    return f"once:issued:{user_pk}:{token}"


def _used_key(user_pk, token: str) -> str:
    return f"once:used:{user_pk}:{token}"


def issue(user_pk: int | str | None) -> str:
    """A new token for one rendering of a form, valid for this member only."""
    token = secrets.token_urlsafe(24)
    cache.set(_issued_key(user_pk, token), 1, TTL_SECONDS)
    return token


class Claim:
    """The right to run one send of a form; ``settle`` records how it ended."""

    def __init__(self, user_pk, token: str):
        self._key = _used_key(user_pk, token)

    def settle(self, response: HttpResponse | None) -> None:
        if response is None or response.status_code >= 400:
            # Nothing was done (services refuse before writing, in one transaction): the same form may be sent again.
            cache.delete(self._key)
        else:
            # Where the first send went, for the link on the "already sent" page of a later one.
            cache.set(self._key, response.get("Location", ""), TTL_SECONDS)


def claim(request: HttpRequest, *, back: str) -> Claim | HttpResponse:
    """Claim the POST's token for the logged-in member, or the refusal to answer with (400 / 409)."""
    token = request.POST.get(FIELD, "")
    user_pk = request.user.pk
    if not _TOKEN.match(token) or cache.get(_issued_key(user_pk, token)) is None:
        message = _("This form has expired or was not sent from its page. Reload the page and send it again.")
        return render(request, "400.html", {"message": message, "back": back}, status=400)
    key = _used_key(user_pk, token)
    if not cache.add(key, "", TTL_SECONDS):
        result = cache.get(key) or back
        message = _("This form was already sent; it was not sent again.")
        return render(request, "400.html", {"message": message, "back": result}, status=409)
    return Claim(user_pk, token)
