"""The accounts REST API: contract fields, errors, security flows, idempotency, pagination."""

import csv
import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, Membership, User
from tests.fixtures import PASSWORD, api_client_for, make_member, make_shop, owner_actor, totp_code

pytestmark = pytest.mark.django_db


def test_signup_token_me_contract():
    api = APIClient()
    r = api.post(
        "/api/v1/auth/signup/",
        {"username": "neo", "email": "neo@example.com", "password": PASSWORD, "shop_name": "Neo"},
        format="json",
    )
    assert r.status_code == 201, r.content
    r = api.post("/api/v1/auth/token/", {"username": "neo", "password": PASSWORD}, format="json")
    assert r.status_code == 200 and r.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    me = api.get("/api/v1/me/").json()
    assert me["username"] == "neo"
    [membership] = me["memberships"]
    assert membership["shop"]["name"] == "Neo" and membership["role"] == "owner"
    assert "payouts.withdraw" in membership["permissions"]
    # Only a hash of the key is stored.
    assert not ApiToken.objects.filter(key_hash=r.json()["token"]).exists()


def test_signup_bad_input_is_400_with_fields():
    r = APIClient().post(
        "/api/v1/auth/signup/", {"username": "", "email": "nope", "password": "1", "shop_name": ""}, format="json"
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid" and {"username", "email", "shop_name"} <= set(err["fields"])


def test_wrong_password_and_malformed_json():
    make_shop()
    api = APIClient()
    r = api.post("/api/v1/auth/token/", {"username": "owner1", "password": "wrong"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_credentials"
    r = api.post("/api/v1/auth/token/", data="{not json", content_type="application/json")
    assert r.status_code == 400 and "error" in r.json()


def test_staff_create_contract_and_no_delete(shop):
    api = api_client_for(shop.owner)
    r = api.post(
        f"/api/v1/shops/{shop.pk}/staff/",
        {"username": "op1", "email": "op1@example.com", "password": PASSWORD, "role": "operator"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id"] and body["role"]["key"] == "operator" and body["is_active"] is True
    r = api.delete(f"/api/v1/shops/{shop.pk}/staff/{body['id']}/")
    assert r.status_code == 405
    assert Membership.objects.for_shop(shop).filter(pk=body["id"]).exists()

    # The owner chose op1's password: no API token with it until op1 has chosen their own on the website.
    token_url, login = "/api/v1/auth/token/", {"username": "op1", "password": PASSWORD}
    r = APIClient().post(token_url, login, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required", r.content
    assert not ApiToken.objects.filter(user__username="op1").exists()
    services.staff_first_password(user=User.objects.get(username="op1"), new_password="my-Own-pass-42")
    r = APIClient().post(token_url, {**login, "password": "my-Own-pass-42"}, format="json")
    assert r.status_code == 200 and r.json()["token"]


def test_staff_create_unknown_role_and_duplicate_username(shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    r = api.post(
        url, {"username": "x1", "email": "x1@example.com", "password": PASSWORD, "role": "wizard"}, format="json"
    )
    assert r.status_code == 400 and "role" in r.json()["error"]["fields"]
    r = api.post(
        url,
        {"username": shop.owner.username, "email": "x@example.com", "password": PASSWORD, "role": "viewer"},
        format="json",
    )
    assert r.status_code == 400 and "username" in r.json()["error"]["fields"]


def test_quota_exceeded_is_409_with_message():
    shop = make_shop(tier="basic")
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    for n in range(2):
        assert (
            api.post(
                url,
                {"username": f"q{n}", "email": f"q{n}@example.com", "password": PASSWORD, "role": "viewer"},
                format="json",
            ).status_code
            == 201
        )
    r = api.post(
        url, {"username": "q3", "email": "q3@example.com", "password": PASSWORD, "role": "viewer"}, format="json"
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "quota_exceeded" and "2" in r.json()["error"]["message"]
    expires = (timezone.now() + timedelta(days=3)).isoformat()
    r = api.post(
        url,
        {"username": "q3", "email": "q3@example.com", "password": PASSWORD, "role": "viewer", "expires_at": expires},
        format="json",
    )
    assert r.status_code == 201


def test_granting_needs_recent_reauthentication(shop):
    api = api_client_for(shop.owner, reauth=False)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    payload = {"username": "r1", "email": "r1@example.com", "password": PASSWORD, "role": "viewer"}
    r = api.post(url, payload, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauth_required"
    assert api.post("/api/v1/auth/reauth/", {"password": "wrong"}, format="json").status_code == 400
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    assert api.post(url, payload, format="json").status_code == 201
    # Re-authentication goes stale.
    payload["username"] = "r2"
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert api.post(url, payload, format="json").status_code == 403


def test_admin_cannot_grant_owner_only_via_api(members, shop):
    api = api_client_for(members["admin"].user)
    r = api.post(
        f"/api/v1/shops/{shop.pk}/staff/",
        {"username": "f1", "email": "f1@example.com", "password": PASSWORD, "role": "finance"},
        format="json",
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "owner_only"
    r = api.post(
        f"/api/v1/shops/{shop.pk}/roles/", {"name": "Cash", "permissions": ["payouts.withdraw"]}, format="json"
    )
    assert r.status_code == 403


def test_access_explained_endpoint(shop):
    m = make_member(shop, "support", extra_grants=["orders.export"])
    body = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/staff/{m.pk}/access/").json()
    sources = {row["action"]: row["sources"] for row in body["permissions"]}
    assert sources["support.reply"] == ["role:support"] and sources["orders.export"] == ["extra_grant"]


def test_idempotency_key_replays_the_first_answer(shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    payload = {"username": "idem", "email": "idem@example.com", "password": PASSWORD, "role": "viewer"}
    first = api.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Membership.objects.for_shop(shop).filter(user__username="idem").count() == 1
    # A failed first attempt does not pin the key.
    payload = {**payload, "username": "idem2", "email": "idem2@example.com"}  # one email per member of a shop
    assert api.post(url, {**payload, "role": "nope"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 400
    assert api.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201


def test_staff_list_filters_and_cursor_pagination(shop):
    for n in range(7):
        make_member(shop, "viewer" if n % 2 else "support", username=f"page{n}")
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    r = api.get(url, {"page_size": 3})
    body = r.json()
    assert len(body["results"]) == 3 and body["next"]
    seen = {row["id"] for row in body["results"]}
    while body["next"]:
        body = api.get(body["next"]).json()
        seen |= {row["id"] for row in body["results"]}
    assert len(seen) == 8  # 7 staff + owner
    r = api.get(url, {"role": "support"}).json()
    assert {row["role"]["key"] for row in r["results"]} == {"support"}
    r = api.get(url, {"search": "page3"}).json()
    assert [row["username"] for row in r["results"]] == ["page3"]


def test_audit_log_filters_and_csv(shop):
    m = make_member(shop, "viewer")
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/audit-log/"
    rows = api.get(url, {"action": "staff."}).json()["results"]
    assert [r["action"] for r in rows] == ["staff.created"] and rows[0]["target_id"] == str(m.pk)
    assert rows[0]["actor"] == shop.owner.username and rows[0]["request_id"] == ""  # created outside a request
    r = api.get(url + "export/", {"action": "staff."})
    text = b"".join(r.streaming_content).decode()
    assert r["Content-Type"].startswith("text/csv") and "staff.created" in text and text.count("\n") == 2
    api.patch(f"/api/v1/shops/{shop.pk}/", {"name": "New name"}, format="json", HTTP_X_REQUEST_ID="req-42")
    [entry] = api.get(url, {"action": "shop.updated"}).json()["results"]
    assert entry["request_id"] == "req-42" and entry["ip"] == "127.0.0.1"
    assert entry["changes"] == {"name": ["Alpha", "New name"]}


def test_shop_settings_patch_validates(shop):
    api = api_client_for(shop.owner)
    r = api.patch(f"/api/v1/shops/{shop.pk}/", {"return_window_days": -1}, format="json")
    assert r.status_code == 400 and "return_window_days" in r.json()["error"]["fields"]
    # The tier is the platform's to set: a seller's PATCH leaves it alone.
    r = api.patch(f"/api/v1/shops/{shop.pk}/", {"tier": "basic"}, format="json")
    assert r.status_code == 200 and r.json()["tier"] == "platinum"


def test_totp_login_for_api_tokens(shop):
    user = shop.owner
    device = services.totp_start_enrolment(user=user)
    services.totp_confirm(user=user, code=totp_code(device))
    api = APIClient()
    r = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_required"
    r = api.post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, "otp": "000000"}, format="json"
    )
    assert r.status_code == 400
    device.refresh_from_db()
    # A code is good once: the next time step's code logs in.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        r = api.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": PASSWORD, "otp": totp_code(device)},
            format="json",
        )
    assert r.status_code == 200 and r.json()["token"]


def test_shop_can_require_2fa_for_a_role(shop):
    support = make_member(shop, "support")
    services.shop_update(actor=owner_actor(shop), require_2fa_roles=["support"])
    api = api_client_for(support.user, reauth=False)
    r = api.get(f"/api/v1/shops/{shop.pk}/")
    assert r.status_code == 403 and r.json()["error"]["code"] == "2fa_required"
    device = services.totp_start_enrolment(user=support.user)
    services.totp_confirm(user=support.user, code=totp_code(device))
    assert api.get(f"/api/v1/shops/{shop.pk}/").status_code == 200


def test_token_endpoint_locks_out_after_repeated_failures(settings, shop):
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post("/api/v1/auth/token/", {"username": shop.owner.username, "password": "bad"}, format="json")
    r = api.post("/api/v1/auth/token/", {"username": shop.owner.username, "password": PASSWORD}, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "locked_out"


def test_token_expiry_and_revocation(shop):
    token, key = services.token_create(user=shop.owner, name="ci", expires_at=timezone.now() + timedelta(minutes=5))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 200
    tokens = api.get("/api/v1/me/tokens/").json()["results"]
    assert [t["name"] for t in tokens] == ["ci"] and "key" not in tokens[0]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert api.get("/api/v1/me/").status_code == 401
    token2, key2 = services.token_create(user=shop.owner)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key2}")
    assert api.delete(f"/api/v1/me/tokens/{token2.pk}/").status_code == 204
    assert api.get("/api/v1/me/").status_code == 401


def test_password_change(shop):
    api = api_client_for(shop.owner, reauth=False)
    r = api.post("/api/v1/me/password/", {"old_password": "nope", "new_password": "another-Secret-9"}, format="json")
    assert r.status_code == 400 and "old_password" in r.json()["error"]["fields"]
    r = api.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": "123"}, format="json")
    assert r.status_code == 400 and "new_password" in r.json()["error"]["fields"]
    assert (
        api.post(
            "/api/v1/me/password/", {"old_password": PASSWORD, "new_password": "another-Secret-9"}, format="json"
        ).status_code
        == 204
    )
    shop.owner.refresh_from_db()
    assert shop.owner.check_password("another-Secret-9")


def test_openapi_schema_is_served(client, db):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "/api/v1/shops/{shop}/staff/" in text and "tokenAuth" in text


def test_audit_csv_escapes_spreadsheet_formulas(shop):
    services.shop_update(actor=owner_actor(shop), name='=HYPERLINK("https://evil.example","x")')
    api = api_client_for(shop.owner)
    r = api.get(f"/api/v1/shops/{shop.pk}/audit-log/export/", {"action": "shop.updated"})
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "created_at", "actor", "action"]
    [row] = rows[1:]
    target = row[rows[0].index("target")]
    assert target == "'" + '=HYPERLINK("https://evil.example","x")'
    assert json.loads(row[rows[0].index("changes")])["name"][1].startswith("=")  # JSON text starts with {


def test_audit_filters_refuse_a_bad_date(shop):
    api = api_client_for(shop.owner)
    r = api.get(f"/api/v1/shops/{shop.pk}/audit-log/", {"date_from": "garbage"})
    assert r.status_code == 400 and "date_from" in r.json()["error"]["fields"]
    assert api.get(f"/api/v1/shops/{shop.pk}/audit-log/", {"date_from": "2020-01-31"}).status_code == 200
