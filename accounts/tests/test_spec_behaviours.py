"""SPEC §accounts behaviours, each through the API and the pages: audit-log filters (exact rows), your own
sessions, password change and 2FA removal, re-authentication before grants and reactivation, and the
staff hierarchy (a manager manages only their reports)."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors, services
from accounts.models import AuditEntry, Membership, Role, Shop, UserSession
from backoffice.authz import load_actor
from backoffice.authz.actions import ROLE_TEMPLATES
from tests.fixtures import PASSWORD, api_client_for, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "An0ther-Pass-word"


def role(shop, key: str) -> Role:
    return Role.objects.for_shop(shop).get(key=key)


def member_state(m: Membership) -> tuple:
    m.refresh_from_db()
    m.user.refresh_from_db()
    return m.role_id, m.manager_id, m.is_active, m.user.first_name, selectors.member_permissions(membership=m)


# ---------------------------------------------------------------- audit log filters


@pytest.fixture
def audit_world(shop):
    """Three days, three actors' worth of entries: the owner adds an admin (1 March), the admin adds a
    viewer (2 March), the owner renames the viewer (3 March). The shop keeps UTC days (the zone's own
    effect on the filters is tested in test_timezone.py)."""
    from django.core.cache import cache

    Shop.objects.filter(pk=shop.pk).update(timezone="UTC")
    shop.refresh_from_db()
    cache.clear()
    with time_machine.travel(datetime(2026, 3, 1, 10, tzinfo=UTC), tick=False):
        admin = make_member(shop, "admin", username="alice")
    with time_machine.travel(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False):
        viewer = make_member(shop, "viewer", username="victor", actor=load_actor(admin.user, shop))
    with time_machine.travel(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), tick=False):
        services.staff_update(actor=owner_actor(shop), membership=viewer, first_name="Vic")
    return admin, viewer


def entries(*pairs) -> list[tuple[str, str]]:
    return [(action, str(target.pk)) for action, target in pairs]


def api_rows(api, shop, **params) -> list[tuple[str, str]]:
    r = api.get(f"/api/v1/shops/{shop.pk}/audit-log/", params)
    assert r.status_code == 200, r.content
    return [(e["action"], e["target_id"]) for e in r.json()["results"]]


def page_rows(web, shop, **params) -> list[tuple[str, str]]:
    r = web.get(f"/shops/{shop.pk}/audit/", params)
    assert r.status_code == 200, r.content[:300]
    return re.findall(r'data-action="([a-z_.]+)" data-target="[a-z_.]+#(\d+)"', r.content.decode())


@pytest.mark.parametrize("rows_of", [api_rows, page_rows], ids=["api", "page"])
def test_audit_log_filters_return_exactly_the_matching_rows(shop, audit_world, rows_of):
    admin, viewer = audit_world
    client = (
        api_client_for(shop.owner, reauth=False) if rows_of is api_rows else web_client_for(shop.owner, reauth=False)
    )
    created_viewer, updated_viewer = ("staff.created", viewer), ("staff.updated", viewer)
    # By actor: username or id.
    assert rows_of(client, shop, actor="alice") == entries(created_viewer)
    assert rows_of(client, shop, actor=str(admin.user_id)) == entries(created_viewer)
    assert rows_of(client, shop, actor="nobody") == []
    # By target: type and id, newest first.
    by_target = rows_of(client, shop, target_type="accounts.membership", target_id=str(viewer.pk))
    assert by_target == entries(updated_viewer, created_viewer)
    assert rows_of(client, shop, target_type="accounts.role", target_id=str(viewer.pk)) == []
    # By date: a day is taken whole, at both ends.
    assert rows_of(client, shop, date_from="2026-03-02", date_to="2026-03-02") == entries(created_viewer)
    assert rows_of(client, shop, date_to="2026-03-01") == entries(("staff.created", admin))
    assert rows_of(client, shop, date_from="2026-03-03T00:00:00Z", date_to="2026-03-03") == entries(updated_viewer)
    # Filters combine.
    assert rows_of(client, shop, actor=shop.owner.username, date_to="2026-03-02") == entries(("staff.created", admin))


@pytest.mark.parametrize(
    "bad", [{"date_from": "2026-02-30"}, {"date_to": "yesterday"}, {"actor": "99999999999999999999"}]
)
def test_a_bad_audit_filter_is_a_400_naming_the_field(shop, audit_world, bad):
    [(field, _value)] = bad.items()
    r = api_client_for(shop.owner, reauth=False).get(f"/api/v1/shops/{shop.pk}/audit-log/", bad)
    assert r.status_code == 400 and field in r.json()["error"]["fields"]
    web = web_client_for(shop.owner, reauth=False)
    for params in (bad, {**bad, "format": "csv"}):  # no rows and no download: never the unfiltered log
        r = web.get(f"/shops/{shop.pk}/audit/", params)
        body = r.content.decode()
        assert r.status_code == 400 and r["Content-Type"].startswith("text/html"), r.status_code
        assert f'id="error-{field}"' in body and 'data-action="staff.created"' not in body


# ---------------------------------------------------------------- your own sessions


def _browser(user) -> tuple[Client, UserSession]:
    browser = Client()
    assert browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return browser, UserSession.objects.get(session_key=browser.session.session_key)


def test_session_list_shows_exactly_your_own_sessions(shop, other_shop):
    _one, first = _browser(shop.owner)
    two, second = _browser(shop.owner)
    _browser(other_shop.owner)
    rows = api_client_for(shop.owner, reauth=False).get("/api/v1/me/sessions/").json()["results"]
    assert sorted(r["id"] for r in rows) == sorted([first.pk, second.pk])
    assert not any(r["current"] for r in rows)  # a token is no browser session
    page = two.get("/accounts/security/").content.decode()
    assert page.count('name="session_id"') == 1 and f'name="session_id" value="{first.pk}"' in page
    assert "this session" in page  # the browser's own row has no End button


def test_ending_a_session_from_the_page_and_the_api(shop, other_shop):
    one, first = _browser(shop.owner)
    two, second = _browser(shop.owner)
    _theirs, foreign = _browser(other_shop.owner)
    api = api_client_for(shop.owner)
    assert api.delete(f"/api/v1/me/sessions/{foreign.pk}/").status_code == 404
    assert UserSession.objects.filter(pk=foreign.pk).exists()
    assert api.delete(f"/api/v1/me/sessions/{first.pk}/").status_code == 204
    assert one.get(f"/shops/{shop.pk}/").status_code == 302
    two.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
    _three, third = _browser(shop.owner)
    r = two.post("/accounts/security/", {"op": "session_revoke", "session_id": third.pk})
    assert r.status_code == 302
    assert list(UserSession.objects.filter(user=shop.owner)) == [second]


# ---------------------------------------------------------------- password change and 2FA removal


def test_password_change_page(shop):
    page, this = _browser(shop.owner)
    elsewhere, _other = _browser(shop.owner)
    r = page.post("/accounts/security/", {"op": "password", "old_password": "wrong", "new_password": NEW_PASSWORD})
    body = r.content.decode()
    assert r.status_code == 400 and "Wrong password." in body
    shop.owner.refresh_from_db()
    assert shop.owner.check_password(PASSWORD) and elsewhere.get(f"/shops/{shop.pk}/").status_code == 200
    r = page.post("/accounts/security/", {"op": "password", "old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 302
    # The other browser is signed out; this one stays, and its session list shows it (and only it) as current.
    assert elsewhere.get(f"/shops/{shop.pk}/").status_code == 302
    assert page.get(f"/shops/{shop.pk}/").status_code == 200
    [row] = UserSession.objects.filter(user=shop.owner)
    assert row.pk == this.pk and row.session_key == page.session.session_key
    assert "this session" in page.get("/accounts/security/").content.decode()
    # The new password logs in, the old one does not.
    login = Client()
    assert login.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD}).status_code == 400
    assert (
        login.post("/accounts/login/", {"username": shop.owner.username, "password": NEW_PASSWORD}).status_code == 302
    )


def test_password_guesses_on_the_security_page_and_api_lock_out_like_logins(settings, shop):
    settings.AXES_FAILURE_LIMIT = 3
    owner = shop.owner
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    web = web_client_for(owner, reauth=False)
    api = api_client_for(owner, reauth=False)
    web.post("/accounts/security/", {"op": "2fa_disable", "password": "guess-1"})
    web.post("/accounts/security/", {"op": "password", "old_password": "guess-2", "new_password": NEW_PASSWORD})
    r = api.post("/api/v1/me/password/", {"old_password": "guess-3", "new_password": NEW_PASSWORD}, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "locked_out"
    # Locked: even the right password is refused, everywhere.
    assert web.post("/accounts/security/", {"op": "2fa_disable", "password": PASSWORD}).status_code == 429
    r = web.post("/accounts/security/", {"op": "password", "old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 429
    assert api.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                    format="json").status_code == 429  # fmt: skip
    assert Client().post("/accounts/login/", {"username": owner.username, "password": PASSWORD}).status_code == 429
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and TOTPDevice.objects.filter(pk=device.pk).exists()


# ---------------------------------------------------------------- re-authentication before grants and reactivation


def test_api_grants_and_reactivation_need_a_fresh_reauthentication(shop):
    from catalog import services as catalog_services

    member = make_member(shop, "viewer")
    warehouse = catalog_services.warehouse_create(actor=owner_actor(shop), name="Main", code="MAIN")
    api = api_client_for(shop.owner, reauth=False)
    url = f"/api/v1/shops/{shop.pk}/staff/{member.pk}/"
    changes = [{"role": "operator"}, {"extra_grants": ["orders.export"]}, {"scope": {"warehouse": [warehouse.pk]}}]
    before = member_state(member)
    for body in changes:
        r = api.patch(url, body, format="json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required", body
    assert member_state(member) == before and member.scope_types == []
    # A change that grants nothing needs none.
    assert api.patch(url, {"first_name": "Vera"}, format="json").status_code == 200
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    r = api.post(url + "reactivate/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    member.refresh_from_db()
    assert not member.is_active
    r = api.post(f"/api/v1/shops/{shop.pk}/roles/", {"name": "Packers", "permissions": []}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    assert not Role.objects.for_shop(shop).filter(name="Packers").exists()
    # Re-authenticated: each works.
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    assert api.post(url + "reactivate/", {}, format="json").status_code == 200
    for body in changes:
        assert api.patch(url, body, format="json").status_code == 200, body
    member.refresh_from_db()
    assert member.role.key == "operator" and member.scope_types == ["warehouse"]
    assert selectors.extra_grants(membership=member) == {"orders.export"}


def test_page_grants_and_reactivation_need_a_fresh_reauthentication(shop):
    member = make_member(shop, "viewer")
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/staff/{member.pk}/"
    form = {"email": member.user.email, "role": role(shop, "viewer").pk, "first_name": ""}
    before = member_state(member)
    for change in ({"role": role(shop, "operator").pk}, {"extra_grants": ["orders.export"]}):
        r = web.post(url, {**form, **change})
        assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/"), change
    assert member_state(member) == before
    assert web.post(url, {**form, "first_name": "Vera"})["Location"] == url  # grants nothing: saved at once
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    r = web.post(url + "reactivate/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    member.refresh_from_db()
    assert not member.is_active
    r = web.post(f"/shops/{shop.pk}/roles/new/", {"name": "Packers", "permissions": ["orders.view"]})
    assert r["Location"].startswith("/accounts/reauth/")
    assert not Role.objects.for_shop(shop).filter(name="Packers").exists()
    # Re-authenticated: each works.
    web.post("/accounts/reauth/", {"password": PASSWORD, "next": url})
    assert web.post(url + "reactivate/")["Location"] == url
    assert (
        web.post(url, {**form, "role": role(shop, "operator").pk, "extra_grants": ["orders.export"]})["Location"] == url
    )
    member.refresh_from_db()
    assert member.is_active and member.role.key == "operator"
    assert selectors.extra_grants(membership=member) == {"orders.export"}


# ---------------------------------------------------------------- hierarchy: a manager manages only their reports


@pytest.fixture(params=["admin", "custom role"])
def manager(request, shop) -> Membership:
    """A member holding accounts.manage_staff under the owner: an admin, or a custom role with it."""
    if request.param == "admin":
        return make_member(shop, "admin")
    lead = services.role_create(actor=owner_actor(shop), name="Team lead",
                                permissions=ROLE_TEMPLATES["viewer"][1] | {"accounts.manage_staff"})  # fmt: skip
    return make_member(shop, lead.key)


def test_a_manager_cannot_manage_a_member_who_is_not_their_report_api(shop, manager):
    outsider = make_member(shop, "viewer")  # the owner's report, not the manager's
    gone = make_member(shop, "viewer")
    services.staff_deactivate(actor=owner_actor(shop), membership=gone)
    states, audit = (member_state(outsider), member_state(gone)), AuditEntry.objects.for_shop(shop).count()
    api = api_client_for(manager.user)
    base = f"/api/v1/shops/{shop.pk}/staff/"
    for method, url, body in [
        ("patch", f"{base}{outsider.pk}/", {"first_name": "Mallory"}),
        ("patch", f"{base}{outsider.pk}/", {"extra_grants": ["catalog.view"]}),
        ("post", f"{base}{outsider.pk}/deactivate/", {}),
        ("post", f"{base}{gone.pk}/reactivate/", {}),
    ]:
        r = getattr(api, method)(url, body, format="json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_report", (url, body, r.content)
    assert (member_state(outsider), member_state(gone)) == states
    assert AuditEntry.objects.for_shop(shop).count() == audit
    # Their own report they do manage.
    report = make_member(shop, "viewer", actor=load_actor(manager.user, shop))
    assert api.post(f"{base}{report.pk}/deactivate/", {}, format="json").status_code == 200


def test_a_manager_cannot_manage_a_member_who_is_not_their_report_pages(shop, manager):
    outsider = make_member(shop, "viewer")
    gone = make_member(shop, "viewer")
    services.staff_deactivate(actor=owner_actor(shop), membership=gone)
    states, audit = (member_state(outsider), member_state(gone)), AuditEntry.objects.for_shop(shop).count()
    web = web_client_for(manager.user)
    base = f"/shops/{shop.pk}/staff/"
    form = {"email": outsider.user.email, "role": role(shop, "viewer").pk}
    for url, body in [
        (f"{base}{outsider.pk}/", {**form, "first_name": "Mallory"}),  # edit
        (f"{base}{outsider.pk}/", {**form, "extra_grants": ["catalog.view"]}),  # access grants
        (f"{base}{outsider.pk}/deactivate/", {}),
        (f"{base}{gone.pk}/reactivate/", {}),
    ]:
        r = web.post(url, body)
        assert r.status_code == 403 and "Only this member&#x27;s managers can manage them." in r.content.decode(), (
            url, body, r.status_code)  # fmt: skip
    assert (member_state(outsider), member_state(gone)) == states
    assert AuditEntry.objects.for_shop(shop).count() == audit
    report = make_member(shop, "viewer", actor=load_actor(manager.user, shop))
    assert web.post(f"{base}{report.pk}/deactivate/")["Location"] == f"/shops/{shop.pk}/staff/"
