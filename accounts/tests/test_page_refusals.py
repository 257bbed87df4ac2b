"""A page action that fails says so: the reason and a 4xx (never a redirect as if it had worked), and
nothing changes. Success keeps its redirect."""

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors, services
from accounts.models import ApiToken, AuditEntry, Notification, Role, UserSession
from accounts.services import Notice
from backoffice.authz import system_actor
from tests.fixtures import PASSWORD, make_member, make_shop, owner_actor, web_client_for

pytestmark = pytest.mark.django_db


def refused(r, status: int, text: str) -> str:
    body = r.content.decode()
    assert r.status_code == status and text in body, (r.status_code, body[:400])
    return body


def audit_count(shop) -> int:
    return AuditEntry.objects.for_shop(shop).count()


# ---------------------------------------------------------------- staff reactivation


def test_reactivating_an_active_member_is_a_409_with_the_reason(shop):
    member = make_member(shop, "viewer")
    before = audit_count(shop)
    r = web_client_for(shop.owner).post(f"/shops/{shop.pk}/staff/{member.pk}/reactivate/")
    body = refused(r, 409, "This member is already active.")
    assert f'href="/shops/{shop.pk}/staff/{member.pk}/"' in body  # Back leads to the member
    assert audit_count(shop) == before


def test_reactivating_past_the_staff_quota_is_a_409_and_the_member_stays_inactive(db):
    shop = make_shop(tier="basic")
    first = make_member(shop, "viewer")
    make_member(shop, "viewer")
    services.staff_deactivate(actor=owner_actor(shop), membership=first)
    make_member(shop, "viewer")  # the freed seat is taken
    before = audit_count(shop)
    r = web_client_for(shop.owner).post(f"/shops/{shop.pk}/staff/{first.pk}/reactivate/")
    refused(r, 409, "plan allows 2 active permanent sub-accounts")
    first.refresh_from_db()
    assert not first.is_active and audit_count(shop) == before


def test_reactivating_works_and_redirects(shop):
    member = make_member(shop, "viewer")
    services.staff_deactivate(actor=owner_actor(shop), membership=member)
    r = web_client_for(shop.owner).post(f"/shops/{shop.pk}/staff/{member.pk}/reactivate/")
    assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/staff/{member.pk}/"
    member.refresh_from_db()
    assert member.is_active


# ---------------------------------------------------------------- staff edit, deactivation, roles


def test_an_invalid_staff_edit_is_a_400_and_saves_nothing(shop):
    member = make_member(shop, "viewer")
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    r = web_client_for(shop.owner).post(
        f"/shops/{shop.pk}/staff/{member.pk}/", {"email": "not-an-email", "first_name": "Zed", "role": viewer.pk}
    )
    refused(r, 400, "Enter a valid email address.")
    member.user.refresh_from_db()
    assert member.user.first_name == ""


def test_deactivating_a_member_twice_is_a_409(shop):
    member = make_member(shop, "viewer")
    web = web_client_for(shop.owner)
    assert web.post(f"/shops/{shop.pk}/staff/{member.pk}/deactivate/").status_code == 302
    before = audit_count(shop)
    refused(web.post(f"/shops/{shop.pk}/staff/{member.pk}/deactivate/"), 409, "This member is already deactivated.")
    assert audit_count(shop) == before


def test_editing_a_built_in_role_is_a_409_and_changes_nothing(shop):
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    before = selectors.role_permissions(role=viewer)
    r = web_client_for(shop.owner).post(
        f"/shops/{shop.pk}/roles/{viewer.pk}/", {"name": "Viewer", "permissions": ["orders.refund"]}
    )
    refused(r, 409, "Built-in roles cannot be changed")
    assert selectors.role_permissions(role=viewer) == before


def test_a_role_without_a_name_is_a_400_and_creates_nothing(shop):
    count = Role.objects.for_shop(shop).count()
    r = web_client_for(shop.owner).post(f"/shops/{shop.pk}/roles/new/", {"name": "", "permissions": ["orders.view"]})
    refused(r, 400, "This field is required.")
    assert Role.objects.for_shop(shop).count() == count


# ---------------------------------------------------------------- notifications


def test_marking_a_notification_that_is_not_yours_is_a_404(shop):
    viewer = make_member(shop, "viewer")
    services.notifications_send(actor=system_actor(shop), notices=[Notice(shop.owner, "x", "owner's")], email=False)
    owners = Notification.objects.for_shop(shop).get()
    web = web_client_for(viewer.user, reauth=False)
    r = web.post(f"/shops/{shop.pk}/notifications/", {"id": owners.pk, "next": "/"})
    assert r.status_code == 404
    owners.refresh_from_db()
    assert owners.read_at is None
    # The recipient's own click marks it read and follows the link.
    r = web_client_for(shop.owner, reauth=False).post(f"/shops/{shop.pk}/notifications/", {"id": owners.pk})
    assert r.status_code == 302
    owners.refresh_from_db()
    assert owners.read_at is not None


# ---------------------------------------------------------------- the security page


def test_an_unknown_security_operation_is_a_400(shop):
    web = web_client_for(shop.owner)
    refused(web.post("/accounts/security/", {"op": "make_me_admin"}), 400, "Unknown operation.")
    refused(web.post("/accounts/security/", {}), 400, "Unknown operation.")


def test_an_incomplete_security_form_is_a_400(shop):
    web = web_client_for(shop.owner)
    r = web.post("/accounts/security/", {"op": "password", "old_password": PASSWORD})
    body = refused(r, 400, "This field is required.")
    assert 'id="field-new_password"' in body
    shop.owner.refresh_from_db()
    assert shop.owner.check_password(PASSWORD)
    refused(web.post("/accounts/security/", {"op": "token_create", "name": ""}), 400, "This field is required.")
    assert not ApiToken.objects.filter(user=shop.owner).exists()


def test_ending_someone_elses_token_or_session_is_a_404_and_ends_nothing(shop, other_shop):
    token, _key = services.token_create(user=other_shop.owner, name="theirs")
    theirs = Client()
    theirs.post("/accounts/login/", {"username": other_shop.owner.username, "password": PASSWORD})
    session = UserSession.objects.get(user=other_shop.owner)
    web = web_client_for(shop.owner)
    refused(web.post("/accounts/security/", {"op": "token_revoke", "token_id": token.pk}), 404, "No such token.")
    r = web.post("/accounts/security/", {"op": "session_revoke", "session_id": session.pk})
    refused(r, 404, "No such session.")
    assert ApiToken.objects.filter(pk=token.pk).exists() and UserSession.objects.filter(pk=session.pk).exists()
    assert theirs.get(f"/shops/{other_shop.pk}/").status_code == 200


def test_turning_2fa_off_needs_the_password(shop):
    device = TOTPDevice.objects.create(user=shop.owner, name="phone", confirmed=True)
    web = web_client_for(shop.owner)
    refused(web.post("/accounts/security/", {"op": "2fa_disable", "password": "wrong"}), 400, "Your password is wrong.")
    refused(web.post("/accounts/security/", {"op": "2fa_disable"}), 400, "Your password is wrong.")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    r = web.post("/accounts/security/", {"op": "2fa_disable", "password": PASSWORD})
    assert r.status_code == 302 and not TOTPDevice.objects.filter(user=shop.owner).exists()
