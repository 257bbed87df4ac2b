"""What happened, readable: the shop's audit log and one member's activity as sentences, and the user's own
browser sessions (last seen, device, "sign out all other sessions")."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from accounts import security, selectors
from accounts.models import UserSession
from accounts.services.security import sessions_end_others
from accounts.web import forms as f
from backoffice.audit.sentences import render as render_sentences
from backoffice.errors import ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.tabular import stream_csv
from backoffice.web import ShopPageMixin

PAGE_SIZE = 25
SESSIONS_PAGE_SIZE = 10
# How often a browser's "last seen" is written (a session save): often enough to tell today from last week.
SEEN_EVERY_SECONDS = 60


# ---------------------------------------------------------------------------------------------- audit log


class _HistoryPage(ShopPageMixin, View):
    required_action = "accounts.view_audit"

    def _page(self, request, template: str, *, member=None, extra: dict | None = None):
        """The sentence list with its filters; ``member``: only what they did (their activity page)."""
        actors = None if member is not None else selectors.audit_actor_choices(shop=self.shop)
        form = f.AuditFilterForm(request.GET, actors=actors)
        filters = {k: v for k, v in request.GET.items() if member is None or k != "actor"}
        context = {"form": form, "member": member, **(extra or {})}
        try:
            qs = selectors.audit_list(shop=self.shop, actor=self.actor, filters=filters, member=member)
        except ValidationFailed as exc:
            # A bad filter (a date that does not exist, an id past a bigint) is named on its field, with
            # no rows and no download: never the unfiltered log passed off as the filtered one.
            form.is_valid()
            apply_service_error(form, exc)
            page = Paginator([], PAGE_SIZE).get_page(1)
            return render(request, template, {**context, "page": page, "sentences": [], "querystring": ""}, status=400)
        if member is None and request.GET.get("format") == "csv":
            rows = selectors.audit_rows(entries=qs, actor=self.actor)
            return stream_csv(f"audit-shop-{self.shop.pk}.csv", selectors.AUDIT_COLUMNS, rows)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        sentences = render_sentences(
            page.object_list, reader=self.actor, redact=selectors.audit_redactor(actor=self.actor)
        )
        querystring = urlencode({k: v for k, v in filters.items() if k not in ("page", "format")})
        return render(request, template, {**context, "page": page, "sentences": sentences, "querystring": querystring})


class AuditLogView(_HistoryPage):
    template = "accounts/audit_log.html"

    def get(self, request, shop):
        return self._page(request, self.template)


class MemberActivityView(_HistoryPage):
    """One member's activity (Taobao's operation log per sub-account): the audit log's sentences with that
    member as the actor. Whoever may read the audit log may read it, for every member of the shop."""

    template = "accounts/member_activity.html"

    def get(self, request, shop, member):
        found = selectors.audit_member(shop=self.shop, actor=self.actor, pk=member)
        if found is None:
            raise Http404
        log_url = reverse("accounts:audit_log", kwargs={"shop": self.shop.pk})
        log_url += "?" + urlencode({"actor": found.user.get_username()})
        return self._page(request, self.template, member=found, extra={"log_url": log_url})


# ---------------------------------------------------------------------------------------------- sessions


class SessionSeenMiddleware:
    """Notes in a signed-in browser's session when it was last seen (at most once a minute, so it costs one
    session save a minute per active browser): the security page's "last seen". Requests without a session
    cookie (API tokens) are left alone. Goes after ``AuthenticationMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user is not None and user.is_authenticated:
            now = time.time()
            seen = session.get(selectors.SESSION_SEEN_KEY)
            if not isinstance(seen, (int, float)) or now - seen >= SEEN_EVERY_SECONDS:
                session[selectors.SESSION_SEEN_KEY] = now
        return self.get_response(request)


_BROWSERS = (  # (name, pattern of its version), most specific first: Edge and Opera also say "Chrome"
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"(?:OPR|Opera)/(\d+)"),
    ("Yandex Browser", r"YaBrowser/(\d+)"),
    ("Samsung Internet", r"SamsungBrowser/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
)


def describe_user_agent(user_agent: str) -> str:
    """ "Chrome 120 on Windows" from a browser's User-Agent (enough to recognise one's own devices); an
    agent it does not know reads as the start of the agent itself, or "Unknown device"."""
    ua = user_agent or ""
    browser = next(((name, m[1]) for name, pattern in _BROWSERS if (m := re.search(pattern, ua))), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, ua)), None)
    if browser is None:
        return ua[:60] or _("Unknown device")
    name = f"{browser[0]} {browser[1]}"
    return _("%(browser)s on %(system)s") % {"browser": name, "system": system} if system else name


@dataclass(frozen=True)
class SessionRow:
    session: UserSession
    device: str
    last_seen: datetime
    current: bool


def sessions_context(request) -> dict:
    """The security page's session list: a page of the user's own sessions with device and last sight, the
    current one marked, and how many others "sign out all other sessions" would end."""
    current = request.session.session_key
    sessions = selectors.session_list(user=request.user)
    page = Paginator(sessions, SESSIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    seen = selectors.session_last_seen(keys=[s.session_key for s in page.object_list])
    rows = [
        SessionRow(session=s, device=describe_user_agent(s.user_agent), current=s.session_key == current,
                   last_seen=seen.get(s.session_key) or s.created_at)
        for s in page.object_list
    ]  # fmt: skip
    others = sessions.exclude(session_key=current or "").count()
    return {"sessions": rows, "sessions_page": page, "current_session": current, "other_sessions": others}


class SessionsEndOthersView(View):
    """ "Sign out all other sessions": a confirmation page, then a POST. Like ending one session, it asks
    for a fresh re-authentication first (a stolen session must not lock the owner out)."""

    template = "accounts/sessions_end_others.html"

    def _gate(self, request):
        if not request.user.is_authenticated:
            return redirect(reverse("accounts:login") + "?" + urlencode({"next": request.path}))
        if not security.recently_reauthenticated(request):
            messages.info(request, _("Confirm your password or one-time code first."))
            return redirect(reverse("accounts:reauth") + "?" + urlencode({"next": request.path}))
        return None

    def get(self, request):
        if (resp := self._gate(request)) is not None:
            return resp
        others = selectors.session_list(user=request.user).exclude(session_key=request.session.session_key or "")
        return render(request, self.template, {"others": others.count()})

    def post(self, request):
        if (resp := self._gate(request)) is not None:
            return resp
        try:
            ended = sessions_end_others(user=request.user, keep_session_key=request.session.session_key or "")
        except ValidationFailed as exc:
            messages.error(request, exc.message)
            return render(request, self.template, {"others": 0}, status=400)
        if ended:
            text = ngettext("Signed out of %(n)s other session.", "Signed out of %(n)s other sessions.", ended)
            messages.success(request, text % {"n": ended})
        else:
            messages.info(request, _("There were no other sessions."))
        return redirect(reverse("accounts:security") + "#sessions")
