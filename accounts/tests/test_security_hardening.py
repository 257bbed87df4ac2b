"""Issue 9, accounts: a stolen session cannot become an admin, re-authentication is locked out like a
login, role edits respect the staff hierarchy, temporary access is bounded, and bad ids answer 400."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, AuditEntry, Membership, Role, UserSession
from backoffice.authz import load_actor
from backoffice.errors import Forbidden, ValidationFailed
from tests.fixtures import PASSWORD, api_client_for, make_member, owner_actor, totp_code, web_client_for

pytestmark = pytest.mark.django_db


def _confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="owner's phone", confirmed=True)


# ---------------------------------------------------------------- finding 1: stolen session


def test_stolen_session_chain_stops_at_the_first_step(shop):
    """With only the owner's session cookie: enrol a device, confirm it (replacing the owner's), re-auth
    with it, add an admin, mint a token, end the owner's sessions. Every step is refused."""
    owner = shop.owner
    owners_device = _confirmed_device(owner)
    owners_browser = Client()
    owners_browser.force_login(owner)
    services.session_record(user=owner, session_key=owners_browser.session.session_key, ip=None, user_agent="")
    thief = web_client_for(owner, reauth=False)

    # Step 1: start 2FA enrolment (this showed the secret). Refused: re-authenticate first.
    r = thief.post("/accounts/security/", {"op": "2fa_start"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    assert not TOTPDevice.objects.filter(user=owner, confirmed=False).exists()

    # Step 2: confirm a device (it deleted the owner's). Even with a pending device the owner left behind.
    pending = TOTPDevice.objects.create(user=owner, name="authenticator", confirmed=False)
    r = thief.post("/accounts/security/", {"op": "2fa_confirm", "otp": totp_code(pending)})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    assert list(TOTPDevice.objects.filter(user=owner, confirmed=True)) == [owners_device]

    # Step 3: re-authenticate with the code of a device being set up: not the current factor.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        r = thief.post("/accounts/reauth/", {"otp": totp_code(pending), "next": "/"})
    assert r.status_code == 400

    # Step 4: create an admin sub-account.
    admin = Role.objects.for_shop(shop).get(key="admin")
    r = thief.post(
        f"/shops/{shop.pk}/staff/new/",
        {"username": "mallory", "email": "m@example.com", "password": PASSWORD, "role": admin.pk},
    )
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    assert not Membership.unscoped.filter(user__username="mallory").exists()

    # Step 5: mint a long-lived API token.
    r = thief.post("/accounts/security/", {"op": "token_create", "name": "backdoor"})
    assert r.status_code == 302 and not ApiToken.objects.filter(user=owner).exists()

    # Step 6: end the owner's other session.
    row = UserSession.objects.get(session_key=owners_browser.session.session_key)
    r = thief.post("/accounts/security/", {"op": "session_revoke", "session_id": row.pk})
    assert r.status_code == 302 and UserSession.objects.filter(pk=row.pk).exists()
    assert owners_browser.get(f"/shops/{shop.pk}/").status_code == 200

    # The owner still gets tokens with their own device (not locked out by "otp_required").
    with time_machine.travel(timezone.now() + timedelta(seconds=62)):
        r = APIClient().post(
            "/api/v1/auth/token/",
            {"username": owner.username, "password": PASSWORD, "otp": totp_code(owners_device)},
            format="json",
        )
    assert r.status_code == 200


def test_replacing_a_device_needs_the_current_one_and_emails_the_owner(
    shop, mailoutbox, django_capture_on_commit_callbacks
):
    owner = shop.owner
    old = _confirmed_device(owner)
    client = web_client_for(owner, reauth=False)
    # The password alone is a current factor; so is the code of the confirmed device.
    r = client.post("/accounts/reauth/", {"otp": totp_code(old), "next": "/accounts/security/"})
    assert r.status_code == 302
    client.post("/accounts/security/", {"op": "2fa_start"})
    assert TOTPDevice.objects.filter(user=owner, confirmed=True).get() == old, "starting deletes nothing"
    new = TOTPDevice.objects.get(user=owner, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/accounts/security/", {"op": "2fa_confirm", "otp": totp_code(new)})
    assert r.status_code == 302
    assert list(TOTPDevice.objects.filter(user=owner)) == [new]
    assert [m.to for m in mailoutbox] == [[owner.email]] and "replaced" in mailoutbox[0].subject


def test_token_and_session_ops_after_reauth_email_the_owner(shop, mailoutbox, django_capture_on_commit_callbacks):
    client = web_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/accounts/security/", {"op": "token_create", "name": "erp"})
    assert r.status_code == 200 and 'id="new-token"' in r.content.decode()
    assert "API token" in mailoutbox[-1].subject and mailoutbox[-1].to == [shop.owner.email]
    other = Client()
    other.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD})
    row = UserSession.objects.get(session_key=other.session.session_key)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/security/", {"op": "session_revoke", "session_id": row.pk})
    assert other.get(f"/shops/{shop.pk}/").status_code == 302
    assert "session" in mailoutbox[-1].subject


def test_api_session_revoke_needs_reauth(shop):
    other = Client()
    other.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD})
    row = UserSession.objects.get(session_key=other.session.session_key)
    api = api_client_for(shop.owner, reauth=False)
    r = api.delete(f"/api/v1/me/sessions/{row.pk}/")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    assert UserSession.objects.filter(pk=row.pk).exists()
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    assert api.delete(f"/api/v1/me/sessions/{row.pk}/").status_code == 204


def test_password_change_ends_other_sessions_and_tokens(shop, mailoutbox, django_capture_on_commit_callbacks):
    owner = shop.owner
    browser = Client()
    browser.post("/accounts/login/", {"username": owner.username, "password": PASSWORD})
    assert browser.get(f"/shops/{shop.pk}/").status_code == 200
    _other_token, other_key = services.token_create(user=owner, name="old")
    api = api_client_for(owner, reauth=False)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            "/api/v1/me/password/", {"old_password": PASSWORD, "new_password": "N3w-Pass-word!"}, format="json"
        )
    assert r.status_code == 204
    assert api.get("/api/v1/me/").status_code == 200, "the token making the change is kept"
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION=f"Token {other_key}")
    assert stale.get("/api/v1/me/").status_code == 401
    assert browser.get(f"/shops/{shop.pk}/").status_code == 302
    assert not UserSession.objects.filter(user=owner).exists()
    assert "password" in mailoutbox[-1].subject.lower()


def test_password_change_on_the_page_keeps_this_browser_only(shop):
    owner = shop.owner
    page = Client()
    page.post("/accounts/login/", {"username": owner.username, "password": PASSWORD})
    elsewhere = Client()
    elsewhere.post("/accounts/login/", {"username": owner.username, "password": PASSWORD})
    token, key = services.token_create(user=owner, name="ci")
    r = page.post("/accounts/security/", {"op": "password", "old_password": PASSWORD, "new_password": "N3w-Pass-word!"})
    assert r.status_code == 302
    assert page.get(f"/shops/{shop.pk}/").status_code == 200
    assert elsewhere.get(f"/shops/{shop.pk}/").status_code == 302
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert not ApiToken.objects.filter(pk=token.pk).exists()


# ---------------------------------------------------------------- finding 2: re-auth lockout


def test_api_reauth_failures_lock_out_like_logins(settings, shop):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    api = api_client_for(shop.owner, reauth=False)
    for _ in range(3):
        api.post("/api/v1/auth/reauth/", {"password": "wrong"}, format="json")
    r = api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "locked_out"
    # The same lockout: the token endpoint and the login page refuse the right password too.
    r = APIClient().post("/api/v1/auth/token/", {"username": shop.owner.username, "password": PASSWORD}, format="json")
    assert r.status_code == 429
    assert Client().post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD}).status_code == 429


def test_web_reauth_failures_lock_out_and_a_locked_user_is_refused(settings, shop):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = web_client_for(shop.owner, reauth=False)
    for _ in range(3):
        client.post("/accounts/reauth/", {"password": "wrong", "next": "/"})
    r = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
    assert r.status_code == 429
    assert not client.get(f"/shops/{shop.pk}/staff/new/")["Location"].startswith("/shops/")


def test_reauth_refused_while_logins_are_locked(settings, shop):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    api = api_client_for(shop.owner, reauth=False)
    for _ in range(3):
        APIClient().post("/api/v1/auth/token/", {"username": shop.owner.username, "password": "bad"}, format="json")
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 429
    page = web_client_for(shop.owner, reauth=False)
    assert page.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"}).status_code == 429


# ---------------------------------------------------------------- finding 4: custom role edits


def _role_outside_the_admins_reach(shop):
    owner = owner_actor(shop)
    admin = make_member(shop, "admin")
    role = services.role_create(actor=owner, name="Packers", permissions=["catalog.view"])
    # Held by a member who is not under the admin.
    held_by = services.staff_create(actor=owner, username="packer", email="p@example.com", password=PASSWORD, role=role)
    return admin, role, held_by


def test_role_edit_needs_authority_over_every_holder(shop):
    admin, role, holder = _role_outside_the_admins_reach(shop)
    actor = load_actor(admin.user, shop)
    with pytest.raises(Forbidden) as exc:
        services.role_update(actor=actor, role=role, permissions=["catalog.view", "catalog.edit"])
    assert exc.value.code == "role_holder_protected"
    assert services.role_update(actor=actor, role=role, name="Packing team").name == "Packing team"
    # The owner may; each holder gets an audit entry.
    services.role_update(actor=owner_actor(shop), role=role, permissions=["catalog.view", "catalog.edit"])
    [entry] = AuditEntry.objects.for_shop(shop).filter(action="staff.role_permissions_changed")
    assert entry.target_id == str(holder.pk) and entry.changes["permissions"][1] == ["catalog.edit", "catalog.view"]


def test_role_edit_over_the_api_is_refused_past_the_hierarchy(shop):
    admin, role, _holder = _role_outside_the_admins_reach(shop)
    api = api_client_for(admin.user)
    r = api.patch(
        f"/api/v1/shops/{shop.pk}/roles/{role.pk}/", {"permissions": ["catalog.view", "catalog.edit"]}, format="json"
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_holder_protected"
    api = api_client_for(admin.user, reauth=False)
    r = api.patch(f"/api/v1/shops/{shop.pk}/roles/{role.pk}/", {"permissions": ["catalog.view"]}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"


# ---------------------------------------------------------------- finding 13: temporary access length


def test_temporary_access_has_a_maximum_length(settings, shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    body = {"username": "temp", "email": "t@example.com", "password": PASSWORD, "role": "viewer"}
    r = api.post(url, {**body, "expires_at": "9999-12-31T00:00:00Z"}, format="json")
    assert r.status_code == 400 and "expires_at" in r.json()["error"]["fields"]
    settings.TEMPORARY_ACCESS_MAX_DAYS = 10
    soon = (timezone.now() + timedelta(days=30)).isoformat()
    assert api.post(url, {**body, "expires_at": soon}, format="json").status_code == 400
    soon = (timezone.now() + timedelta(days=9)).isoformat()
    r = api.post(url, {**body, "expires_at": soon}, format="json")
    assert r.status_code == 201
    member = Membership.objects.for_shop(shop).get(pk=r.json()["id"])
    with pytest.raises(ValidationFailed):
        services.staff_update(
            actor=owner_actor(shop), membership=member, expires_at=timezone.now() + timedelta(days=11)
        )


# ---------------------------------------------------------------- finding 6: ids through the parsing layer


@pytest.mark.parametrize("bad", ["²", "99999999999999999999"])
def test_id_filters_and_bodies_answer_400(shop, bad):
    api = api_client_for(shop.owner)
    for params in ({"role": bad}, {"manager": bad}):
        r = api.get(f"/api/v1/shops/{shop.pk}/staff/", params)
        assert r.status_code == 400, (params, r.content)
    assert api.get(f"/api/v1/shops/{shop.pk}/audit-log/", {"actor": bad}).status_code == 400
    r = api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": [bad]}, format="json")
    assert r.status_code == 400
    r = api.post(f"/api/v1/shops/{shop.pk}/staff/", {"username": "x", "email": "x@example.com",
                                                     "password": PASSWORD, "role": bad}, format="json")  # fmt: skip
    assert r.status_code == 400
    if bad.isascii():
        assert api.delete(f"/api/v1/me/tokens/{bad}/").status_code == 400
        r = api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": [int(bad)]}, format="json")
        assert r.status_code == 400
    web = web_client_for(shop.owner)
    # A list page with a bad filter goes back to itself without its filters, naming the filter (the kernel's
    # page mixin); a page with a filter form shows it again with the error on the field, and a 400.
    for name in ("role", "manager"):
        r = web.get(f"/shops/{shop.pk}/staff/", {name: bad})
        assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/staff/"
        assert f"{name}: Enter a whole number." in web.get(r["Location"]).content.decode()
    r = web.get(f"/shops/{shop.pk}/audit/", {"actor": bad})
    assert r.status_code == 400 and 'id="error-actor"' in r.content.decode()
    # A bad id in a posted form: the reason and a 400, never a redirect as if it had worked.
    r = web.post(f"/shops/{shop.pk}/notifications/", {"id": bad})
    assert r.status_code == 400 and "Enter a whole number." in r.content.decode()
    for op, field in (("token_revoke", "token_id"), ("session_revoke", "session_id")):
        r = web.post("/accounts/security/", {"op": op, field: bad})
        assert r.status_code == 400 and "Enter a whole number." in r.content.decode()


# ---------------------------------------------------------------- finding 8: identity of shared accounts


def test_staff_edit_cannot_rewrite_the_identity_of_another_shops_owner(shop, other_shop):
    # The owner of other_shop also works in shop as an operator.
    owner = owner_actor(shop)
    operator = Role.objects.for_shop(shop).get(key="operator")
    member = Membership.objects.for_shop(shop).create(shop=shop, user=other_shop.owner, role=operator)
    before = other_shop.owner.email
    with pytest.raises(Forbidden) as exc:
        services.staff_update(actor=owner, membership=member, email="attacker@example.com")
    assert exc.value.code == "identity_not_yours" and "email" in exc.value.fields
    other_shop.owner.refresh_from_db()
    assert other_shop.owner.email == before
    # Shop-level changes to the same member still work; an unchanged email is not an identity change.
    services.staff_update(actor=owner, membership=member, email=before, expires_at=None)
    api = api_client_for(shop.owner)
    r = api.patch(f"/api/v1/shops/{shop.pk}/staff/{member.pk}/", {"first_name": "Eve"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "identity_not_yours"
    # A member of this shop only keeps the old behaviour.
    solo = make_member(shop, "viewer")
    services.staff_update(actor=owner, membership=solo, email="new@example.com")
    solo.user.refresh_from_db()
    assert solo.user.email == "new@example.com"


# ---------------------------------------------------------------- finding 9: zones, currencies, tasks


def test_shop_settings_refuse_unknown_zones_and_currencies(shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/"
    r = api.patch(url, {"timezone": "Mars/Olympus"}, format="json")
    assert r.status_code == 400 and "timezone" in r.json()["error"]["fields"]
    r = api.patch(url, {"currency": "ZZZ"}, format="json")
    assert r.status_code == 400 and "currency" in r.json()["error"]["fields"]
    r = api.patch(url, {"timezone": "Asia/Shanghai", "currency": "cny"}, format="json")
    assert r.status_code == 200 and r.json()["currency"] == "CNY"
    web = web_client_for(shop.owner)
    page = web.get(f"/shops/{shop.pk}/settings/").content.decode()
    assert '<option value="Europe/Moscow"' in page and '<option value="EUR"' in page
    form = {"name": shop.name, "currency": "ZZZ", "timezone": "Mars/Olympus", "language": "en",
            "low_stock_default": 5, "return_window_days": 14}  # fmt: skip
    r = web.post(f"/shops/{shop.pk}/settings/", form)
    assert r.status_code == 400
    shop.refresh_from_db()
    assert shop.timezone == "Asia/Shanghai" and shop.currency == "CNY"


def test_expiring_members_task_survives_a_shop_with_a_broken_zone(django_capture_on_commit_callbacks, caplog):
    from accounts.models import Notification, Shop
    from accounts.tasks import notify_expiring_members
    from tests.fixtures import make_shop

    broken, fine = make_shop(), make_shop()
    soon = timezone.now() + timedelta(days=1)
    make_member(broken, "viewer", expires_at=soon)
    told = make_member(fine, "viewer", expires_at=soon)
    Shop.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")  # a row from before the check
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_expiring_members() == 2
    assert Notification.objects.for_shop(fine).filter(recipient=told.user).exists()
    assert Notification.objects.for_shop(broken).exists()
    assert "Mars/Olympus" in caplog.text


# ---------------------------------------------------------------- finding 12: audit redaction


def test_audit_log_redacts_cost_and_buyer_contact(shop):
    from backoffice.audit import audit_record

    audit_record(shop=shop, actor=owner_actor(shop), action="catalog.variant_updated", target=shop,
                 changes={"cost": ["10.00", "12.50"], "price": ["20.00", "21.00"]})  # fmt: skip
    audit_record(shop=shop, actor=owner_actor(shop), action="orders.order_updated", target=shop,
                 changes={"buyer_phone": [None, "+7 900 123 45 67"], "status": ["new", "confirmed"]})  # fmt: skip
    role = services.role_create(actor=owner_actor(shop), name="Auditor", permissions=["accounts.view_audit"])
    auditor = services.staff_create(actor=owner_actor(shop), username="auditor", email="a@example.com",
                                    password=PASSWORD, role=role)  # fmt: skip
    api = api_client_for(auditor.user)
    rows = {e["action"]: e["changes"] for e in api.get(f"/api/v1/shops/{shop.pk}/audit-log/").json()["results"]}
    assert rows["catalog.variant_updated"] == {"cost": ["•••", "•••"], "price": ["20.00", "21.00"]}
    assert rows["orders.order_updated"] == {"buyer_phone": [None, "•••"], "status": ["new", "confirmed"]}
    csv_text = b"".join(api.get(f"/api/v1/shops/{shop.pk}/audit-log/export/").streaming_content).decode()
    assert "12.50" not in csv_text and "900 123" not in csv_text and "21.00" in csv_text
    page = web_client_for(auditor.user)
    body = page.get(f"/shops/{shop.pk}/audit/").content.decode()
    assert "12.50" not in body and "900 123" not in body and "21.00" in body
    body = b"".join(page.get(f"/shops/{shop.pk}/audit/", {"format": "csv"}).streaming_content).decode()
    assert "12.50" not in body and "900 123" not in body
    # The owner sees everything.
    owner_rows = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/audit-log/").json()["results"]
    assert {"cost": ["10.00", "12.50"], "price": ["20.00", "21.00"]} in [e["changes"] for e in owner_rows]


# ---------------------------------------------------------------- finding 15: one spelling per username


def test_usernames_are_nfkc_normalised_everywhere(shop):
    api = APIClient()
    body = {"username": "ｐｔ", "email": "pt@example.com", "password": PASSWORD, "shop_name": "PT"}
    assert api.post("/api/v1/auth/signup/", body, format="json").status_code == 201
    assert Membership.unscoped.get(user__username="pt").is_owner
    # The same name in another spelling is the same name.
    r = api.post("/api/v1/auth/signup/", {**body, "username": "pt"}, format="json")
    assert r.status_code == 400 and "username" in r.json()["error"]["fields"]
    with pytest.raises(ValidationFailed):
        services.staff_create(actor=owner_actor(shop), username="ｐｔ", email="x@example.com", password=PASSWORD,
                              role=Role.objects.for_shop(shop).get(key="viewer"))  # fmt: skip
    # Logging in with either spelling works, page and token endpoint.
    assert Client().post("/accounts/login/", {"username": "ｐｔ", "password": PASSWORD}).status_code == 302
    assert api.post("/api/v1/auth/token/", {"username": "ｐｔ", "password": PASSWORD}, format="json").status_code == 200


def test_signup_tells_a_taken_name_only_to_an_otherwise_valid_request(shop):
    api = APIClient()
    body = {"username": shop.owner.username, "email": "bad", "password": "1", "shop_name": "X"}
    r = api.post("/api/v1/auth/signup/", body, format="json")
    assert r.status_code == 400 and "username" not in r.json()["error"]["fields"]
    r = api.post("/api/v1/auth/signup/", {**body, "email": "x@example.com", "password": "123"}, format="json")
    assert r.status_code == 400 and "username" not in r.json()["error"]["fields"]
