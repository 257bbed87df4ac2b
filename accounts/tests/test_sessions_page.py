"""The security page's session list (paginated, device, IP, last seen, the current one marked) and "sign out all
other sessions" (a confirmation, a fresh re-authentication, then every other browser session of the user ends;
API tokens stay; each of the user's shops records it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client, modify_settings
from django.utils import timezone

from accounts import services
from accounts.models import AuditEntry, UserSession
from accounts.web.history import describe_user_agent
from tests.fixtures import PASSWORD, api_client_for, make_member, make_shop

pytestmark = pytest.mark.django_db
SEEN = modify_settings(MIDDLEWARE={"append": "accounts.web.history.SessionSeenMiddleware"})
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def browser(user, user_agent: str = CHROME_WINDOWS) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def test_sign_out_all_other_sessions(shop):
    member = make_member(shop, "operator")
    here = browser(member.user)
    there = browser(member.user, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                                 "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")  # fmt: skip
    api = api_client_for(member.user, reauth=False)
    page = here.get("/accounts/security/").content.decode()
    assert page.count('class="current-session"') == 1 and "this session" in page
    assert "Chrome 120 on Windows" in page and "Safari 17 on iPhone" in page
    assert 'id="end-other-sessions"' in page and "API tokens keep working" in page

    # The confirmation asks for the password first (a stolen session must not lock the owner out).
    url = "/accounts/security/sessions/end-others/"
    r = here.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    assert here.post(url).status_code == 302 and there.get(f"/shops/{shop.pk}/").status_code == 200
    assert here.post("/accounts/reauth/", {"password": PASSWORD, "next": url}).status_code == 302
    confirm = here.get(url)
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "1 other browser session" in body and "API tokens keep working" in body

    r = here.post(url)
    assert r.status_code == 302 and r["Location"] == "/accounts/security/#sessions"
    # The other browser is signed out, this one stays, and the API token still works.
    assert there.get(f"/shops/{shop.pk}/").status_code == 302
    assert here.get(f"/shops/{shop.pk}/").status_code == 200
    assert list(UserSession.objects.filter(user=member.user).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]
    assert api.get("/api/v1/me/").status_code == 200
    [entry] = AuditEntry.objects.for_shop(shop).filter(action="security.other_sessions_ended")
    assert entry.actor_id == member.user_id and entry.changes == {"sessions_ended": [None, 1]}
    # Nothing left to end: no button, and a second POST changes nothing.
    assert 'id="end-other-sessions"' not in here.get("/accounts/security/").content.decode()
    assert here.post(url).status_code == 302
    assert AuditEntry.objects.for_shop(shop).filter(action="security.other_sessions_ended").count() == 1


def test_ending_other_sessions_never_touches_another_user(shop, other_shop):
    mine = browser(shop.owner)
    theirs = browser(other_shop.owner)
    browser(shop.owner)
    assert services.security.sessions_end_others(user=shop.owner, keep_session_key=mine.session.session_key) == 1
    assert theirs.get(f"/shops/{other_shop.pk}/").status_code == 200
    assert mine.get(f"/shops/{shop.pk}/").status_code == 200
    with pytest.raises(TypeError):
        services.security.sessions_end_others(user=None, keep_session_key=mine.session.session_key)


def test_session_list_paginates(shop):
    for n in range(12):
        services.session_record(user=shop.owner, session_key=f"probe-session-{n:02d}", ip=f"10.0.0.{n}",
                                user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")  # fmt: skip
    here = browser(shop.owner)
    first = here.get("/accounts/security/").content.decode()
    second = here.get("/accounts/security/", {"page": 2}).content.decode()
    assert first.count('name="session_id"') + first.count('class="current-session"') == 10
    assert second.count('name="session_id"') + second.count('class="current-session"') == 3
    assert "Page 1 of 2" in first and "Firefox 121 on Linux" in second
    assert here.get("/accounts/security/", {"page": "x²"}).status_code == 200


@SEEN
def test_last_seen_follows_the_browser():
    shop = make_shop()
    here = browser(shop.owner)
    later = timezone.now() + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        assert here.get(f"/shops/{shop.pk}/").status_code == 200
        page = here.get("/accounts/security/").content.decode()
    row = UserSession.objects.get(session_key=here.session.session_key)
    seen = timezone.localtime(later).strftime("%Y-%m-%d %H:%M")
    started = timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M")
    assert seen != started and f"<td>{seen}</td><td>{started}</td>" in page


@pytest.mark.parametrize(
    ("agent", "reads"),
    [
        (CHROME_WINDOWS, "Chrome 120 on Windows"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
         "Safari/537.36 Edg/120.0.2210.91", "Edge 120 on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
         "Safari/605.1.15", "Safari 17 on macOS"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
         "Safari/537.36", "Chrome 120 on Android"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown device"),
    ],
)  # fmt: skip
def test_devices_are_named(agent, reads):
    assert describe_user_agent(agent) == reads
