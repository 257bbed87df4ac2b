"""Accounts pages through Django's test client: login, lockout, 2FA, staff forms, audit export, settings."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import security
from accounts.models import ApiToken, AuditEntry, Membership, Role, UserSession
from tests.fixtures import PASSWORD, make_member, make_shop, totp_code, web_client_for

pytestmark = pytest.mark.django_db
BASE_DIR = Path(settings.BASE_DIR)


def test_login_records_the_session_and_lands_on_the_shop(shop):
    client = Client()
    r = client.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD})
    assert r.status_code == 302
    r = client.get(r["Location"], follow=True)
    assert r.status_code == 200 and r.request["PATH_INFO"] == f"/shops/{shop.pk}/"
    assert UserSession.objects.filter(user=shop.owner, session_key=client.session.session_key).exists()


def test_login_with_wrong_password_shows_the_form_error(shop):
    r = Client().post("/accounts/login/", {"username": shop.owner.username, "password": "nope"})
    assert r.status_code == 400
    assert "Wrong username or password" in r.content.decode()


def test_login_form_locks_out_after_repeated_failures(settings, shop):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"username": shop.owner.username, "password": "wrong"})
    # Even the right password is refused while locked out.
    r = client.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD})
    assert r.status_code == 429
    assert "Too many failed login attempts" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not affected (lockout is per username and IP).
    other = make_shop()
    r = client.post("/accounts/login/", {"username": other.owner.username, "password": PASSWORD})
    assert r.status_code == 302


def test_login_with_2fa_asks_for_a_code(shop):
    user = shop.owner
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    r = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/otp/")
    # Not logged in until the code is given.
    assert client.get(f"/shops/{shop.pk}/").status_code == 302
    r = client.post("/accounts/login/otp/", {"otp": "000000"})
    assert r.status_code == 400 and "not right" in r.content.decode()
    # django-otp throttles guessing: after a failure the next try must wait a little.
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        r = client.post("/accounts/login/otp/", {"otp": totp_code(device)})
    assert r.status_code == 302
    assert client.get(f"/shops/{shop.pk}/").status_code == 200


def test_enrol_2fa_from_the_security_page(shop):
    client = web_client_for(shop.owner, reauth=False)
    r = client.post("/accounts/security/", {"op": "2fa_start"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/accounts/security/"})
    client.post("/accounts/security/", {"op": "2fa_start"})
    device = TOTPDevice.objects.get(user=shop.owner, confirmed=False)
    r = client.post("/accounts/security/", {"op": "2fa_confirm", "otp": "123"})
    assert r.status_code == 400 and not security.has_2fa(shop.owner)
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        r = client.post("/accounts/security/", {"op": "2fa_confirm", "otp": totp_code(device)})
    assert r.status_code == 302 and security.has_2fa(shop.owner)


def test_shop_requiring_2fa_sends_the_member_to_enrol(shop):
    support = make_member(shop, "support")
    shop.require_2fa_roles = ["support"]
    shop.save()
    client = web_client_for(support.user, reauth=False)
    r = client.get(f"/shops/{shop.pk}/")
    assert r.status_code == 302 and r["Location"] == f"/accounts/security/?required_by={shop.pk}"
    TOTPDevice.objects.create(user=support.user, name="phone", confirmed=True)
    assert client.get(f"/shops/{shop.pk}/").status_code == 200


def test_signup_page_creates_shop_or_shows_errors():
    client = Client()
    r = client.post("/accounts/signup/", {"username": "", "email": "bad", "password": "1", "shop_name": ""})
    assert r.status_code == 400 and "errorlist" in r.content.decode()
    r = client.post(
        "/accounts/signup/", {"username": "mia", "email": "mia@example.com", "password": "123", "shop_name": "Mia"}
    )
    assert r.status_code == 400 and "password" in r.content.decode().lower()
    r = client.post(
        "/accounts/signup/", {"username": "mia", "email": "mia@example.com", "password": PASSWORD, "shop_name": "Mia"}
    )
    assert r.status_code == 302
    assert Membership.unscoped.get(user__username="mia").is_owner


def test_staff_create_needs_reauth_then_shows_inline_errors_and_saves(shop):
    client = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/staff/new/"
    r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    client.post("/accounts/reauth/", {"password": PASSWORD, "next": url})
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    bad = {"username": shop.owner.username, "email": "x@example.com", "password": PASSWORD, "role": viewer.pk}
    r = client.post(url, bad)
    assert r.status_code == 400 and "This username is taken." in r.content.decode()
    good = {**bad, "username": "newbie"}
    r = client.post(url, good)
    assert r.status_code == 302
    r = client.get(f"/shops/{shop.pk}/staff/?search=newbie")
    assert 'data-username="newbie"' in r.content.decode()


def test_quota_error_is_shown_on_the_form(db):
    shop = make_shop(tier="basic")
    make_member(shop, "viewer")
    make_member(shop, "viewer")
    client = web_client_for(shop.owner)
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    r = client.post(
        f"/shops/{shop.pk}/staff/new/",
        {"username": "third", "email": "t@example.com", "password": PASSWORD, "role": viewer.pk},
    )
    # The refusal's own status (409, as the API), the reason on the form shown again with what was typed.
    body = r.content.decode()
    assert r.status_code == 409 and "plan allows 2 active permanent sub-accounts" in body and 'value="third"' in body
    assert not Membership.unscoped.filter(user__username="third").exists()


def test_deactivate_asks_for_confirmation_and_owner_cannot_be_deactivated(shop):
    member = make_member(shop, "operator")
    client = web_client_for(shop.owner)
    r = client.get(f"/shops/{shop.pk}/staff/{member.pk}/deactivate/")
    assert r.status_code == 200 and "confirm-deactivate" in r.content.decode()
    member.refresh_from_db()
    assert member.is_active, "a GET must not deactivate"
    assert client.post(f"/shops/{shop.pk}/staff/{member.pk}/deactivate/").status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    owner = Membership.objects.for_shop(shop).get(is_owner=True)
    r = client.post(f"/shops/{shop.pk}/staff/{owner.pk}/deactivate/")
    assert r.status_code == 403
    owner.refresh_from_db()
    assert owner.is_active


def test_audit_log_page_filters_and_exports_csv(shop):
    make_member(shop, "operator", username="audited")
    client = web_client_for(shop.owner, reauth=False)
    r = client.get(f"/shops/{shop.pk}/audit/?action=staff.created")
    body = r.content.decode()
    assert r.status_code == 200 and 'data-action="staff.created"' in body and 'data-action="shop.created"' not in body
    r = client.get(f"/shops/{shop.pk}/audit/?action=staff.created&format=csv")
    assert r["Content-Type"].startswith("text/csv")
    lines = b"".join(r.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,created_at,actor,action")
    assert len(lines) == 1 + AuditEntry.objects.for_shop(shop).filter(action="staff.created").count()


def test_security_page_tokens_and_sessions(shop):
    client = web_client_for(shop.owner)
    r = client.post("/accounts/security/", {"op": "token_create", "name": "erp"})
    assert r.status_code == 200 and 'id="new-token"' in r.content.decode()
    token = ApiToken.objects.get(user=shop.owner, name="erp")
    client.post("/accounts/security/", {"op": "token_revoke", "token_id": token.pk})
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    # A second browser's session can be ended from the first.
    other = Client()
    other.post("/accounts/login/", {"username": shop.owner.username, "password": PASSWORD})
    row = UserSession.objects.get(session_key=other.session.session_key)
    client.post("/accounts/security/", {"op": "session_revoke", "session_id": row.pk})
    assert other.get(f"/shops/{shop.pk}/").status_code == 302


def test_reauthentication_expires(shop):
    client = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/staff/new/"
    assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + settings.REAUTH_MAX_AGE + timedelta(seconds=5)):
        assert client.get(url).status_code == 302


def test_deploy_check_is_clean_in_production():
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE (test-only) must not leak into a production check.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-0123456789",
        "ALLOWED_HOSTS": "shop.example.com",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_ENV="production", DJANGO_SETTINGS_MODULE="backoffice.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_home_opens_the_chosen_shop_of_the_member_and_ignores_any_other(shop, other_shop):
    """The shop switcher without JavaScript sends ?shop=<id> to the home page."""
    member = make_member(other_shop, "viewer")
    third = make_shop("Third")
    from accounts.models import Membership, Role

    Membership.objects.for_shop(shop).create(
        shop=shop, user=member.user, role=Role.objects.for_shop(shop).get(key="viewer")
    )
    web = web_client_for(member.user, reauth=False)
    first = web.get("/")["Location"]
    for target in (shop, other_shop):
        assert web.get("/", {"shop": target.pk})["Location"] == f"/shops/{target.pk}/"
    assert web.get("/", {"shop": third.pk})["Location"] == first  # not a member there: the usual first shop
    assert web.get("/", {"shop": "x"})["Location"] == first
