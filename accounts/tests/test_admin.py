"""The Django admin for platform staff: shops, roles and memberships are read-only there; the plan
(tier) changes through an admin action that calls the service and writes an audit entry."""

import pytest

from accounts.models import AuditEntry, Membership, Role, Shop, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_user():
    return User.objects.create_superuser(username="root", email="root@example.com", password="x-Pass-12345")


@pytest.fixture
def admin_client(client, platform_user):
    client.force_login(platform_user)
    return client


def test_shop_change_form_edits_nothing(shop, admin_client):
    url = f"/admin/accounts/shop/{shop.pk}/change/"
    r = admin_client.get(url)
    html = r.content.decode()
    assert r.status_code == 200
    for field in ("owner", "tier", "require_2fa_roles", "name"):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html
    r = admin_client.post(url, {"name": "Hijacked", "tier": "basic", "owner": shop.owner_id, "require_2fa_roles": "[]"})
    assert r.status_code == 403
    shop.refresh_from_db()
    assert (shop.name, shop.tier) == ("Alpha", "platinum")
    assert admin_client.get("/admin/accounts/shop/add/").status_code == 403
    assert admin_client.post(f"/admin/accounts/shop/{shop.pk}/delete/", {"post": "yes"}).status_code == 403


def test_tier_action_asks_for_the_plan_then_changes_it_with_an_audit_entry(
    shop, other_shop, admin_client, platform_user
):
    url = "/admin/accounts/shop/"
    chosen = {"action": "change_tier", "_selected_action": [str(shop.pk), str(other_shop.pk)]}
    r = admin_client.post(url, chosen)
    assert r.status_code == 200 and 'name="tier"' in r.content.decode()  # the intermediate form
    assert Shop.objects.get(pk=shop.pk).tier == "platinum"
    r = admin_client.post(url, {**chosen, "apply": "1", "tier": "silver"})
    assert r.status_code == 302
    for s in (shop, other_shop):
        s.refresh_from_db()
        assert s.tier == "silver"
        entry = AuditEntry.objects.for_shop(s).get(action="shop.tier_changed")
        assert entry.actor == platform_user and entry.changes == {"tier": ["platinum", "silver"]}
    # A plan that does not exist changes nothing.
    r = admin_client.post(url, {**chosen, "apply": "1", "tier": "diamond"})
    assert r.status_code == 200
    assert Shop.objects.get(pk=shop.pk).tier == "silver"


def test_a_role_cannot_be_moved_to_another_shop(shop, other_shop, admin_client):
    role = Role.objects.for_shop(shop).get(key="viewer")
    url = f"/admin/accounts/role/{role.pk}/change/"
    r = admin_client.get(url)
    assert r.status_code == 200 and 'name="shop"' not in r.content.decode()
    r = admin_client.post(url, {"shop": other_shop.pk, "key": "viewer", "name": "Viewer", "group": role.group_id})
    assert r.status_code == 403
    role.refresh_from_db()
    assert role.shop_id == shop.pk
    assert admin_client.get("/admin/accounts/role/add/").status_code == 403


def test_memberships_are_read_only(shop, admin_client):
    owner = Membership.objects.for_shop(shop).get(is_owner=True)
    r = admin_client.get(f"/admin/accounts/membership/{owner.pk}/change/")
    assert r.status_code == 200 and 'name="is_active"' not in r.content.decode()
    assert admin_client.post(f"/admin/accounts/membership/{owner.pk}/change/", {"is_active": ""}).status_code == 403
    assert admin_client.get("/admin/accounts/membership/add/").status_code == 403
