"""The staff and role pages speak in permission labels, show what the chosen role grants beside the extra
grants, and set a member's warehouse/category scope (#11, "Readable access"). Scope delegation is the
service's rule: a manager limited to some warehouses cannot hand out more through the page."""

from __future__ import annotations

import re

import pytest

from accounts import selectors, services
from accounts.models import Membership, Role
from backoffice.authz import load_actor
from backoffice.authz.actions import ACTIONS
from backoffice.authz.scopes import SCOPES
from catalog.tests.factories import make_warehouse
from tests.fixtures import PASSWORD, make_member, make_shop, owner_actor, web_client_for

pytestmark = pytest.mark.django_db

CODES = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in ACTIONS) + r")\b")


def visible_text(html: str) -> str:
    """The page as read: no tags, no attribute values, no script data."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def unlimited() -> dict:
    """The scope fields as the page sends them with every type on "all" (tests add a "depot" type)."""
    return {"scope_fields": "1", **{f"scope_{key}": "all" for key in SCOPES}}


def role(shop, key: str) -> Role:
    return Role.objects.for_shop(shop).get(key=key)


def new_staff(shop, username: str, role_key: str = "viewer", **extra) -> dict:
    return {"username": username, "email": f"{username}@example.com", "password": PASSWORD,
            "role": role(shop, role_key).pk, **extra}  # fmt: skip


@pytest.fixture
def owner_web(shop):
    return web_client_for(shop.owner)


@pytest.fixture
def warehouses(shop):
    actor = owner_actor(shop)
    return [make_warehouse(actor) for _ in range(3)]


def test_staff_and_role_pages_show_labels_grouped_by_domain_never_codes(shop, owner_web):
    member = make_member(shop, "operator", extra_grants=["orders.refund"])
    custom = services.role_create(actor=owner_actor(shop), name="Packer", permissions=["orders.view", "orders.process"])
    pages = {
        "staff form": f"/shops/{shop.pk}/staff/new/",
        "staff detail": f"/shops/{shop.pk}/staff/{member.pk}/",
        "role form": f"/shops/{shop.pk}/roles/{custom.pk}/",
        "new role form": f"/shops/{shop.pk}/roles/new/",
        "role list": f"/shops/{shop.pk}/roles/",
    }
    for name, url in pages.items():
        r = owner_web.get(url)
        assert r.status_code == 200, name
        text = visible_text(r.content.decode())
        assert not CODES.search(text), (name, CODES.search(text))
        assert "Confirm, pack and ship orders" in text, name
    form = owner_web.get(pages["staff form"]).content.decode()
    # One fieldset per domain, its heading in the legend, in catalog order.
    legends = re.findall(r"<legend[^>]*>([^<]+)</legend>", form)
    assert legends[:3] == ["Catalog", "Orders", "Promotions"] and "Shop administration" in legends
    roles_page = visible_text(owner_web.get(pages["role list"]).content.decode())
    assert re.search(r"Orders:\s+View orders; Confirm, pack and ship orders", roles_page)
    detail = owner_web.get(pages["staff detail"]).content.decode()
    assert 'data-source="role:operator">role: Operator<' in detail  # the role's name, not its key


def test_staff_form_shows_what_the_chosen_role_grants(shop, owner_web):
    viewer = role(shop, "viewer")
    r = owner_web.get(f"/shops/{shop.pk}/staff/new/?role={viewer.pk}")
    html = r.content.decode()
    help_text = re.search(r'id="field-role".*?<div class="help"[^>]*>([^<]*)</div>', html, re.S).group(1)
    assert help_text == "This role grants: View catalog; View orders; View promotions; View reports and dashboards."
    # The extras the role covers: ticked, disabled (not sent) and explained; the others free.
    box = re.search(
        r'<input type="checkbox" name="extra_grants" value="catalog.view"[^>]*>[^<]*<span[^>]*>([^<]*)', html
    )
    assert " checked" in box.group(0) and " disabled" in box.group(0)
    assert box.group(1) == " (granted by role Viewer)"
    free = re.search(r'<input type="checkbox" name="extra_grants" value="orders.refund"[^>]*>', html).group(0)
    assert "disabled" not in free and "checked" not in free
    # The page's script gets every role's grants, to follow the select.
    assert 'id="role-grants-data"' in html and '"note": "granted by role Support"' in html
    # Shown again after a refused send: for the role that was sent.
    r = owner_web.post(f"/shops/{shop.pk}/staff/new/", {**new_staff(shop, "x", "support"), "email": "bad"})
    assert r.status_code == 400
    html = r.content.decode()
    assert re.search(r'value="support.reply"[^>]*disabled', html) and not re.search(
        r'value="catalog.edit"[^>]*disabled', html
    )
    help_text = re.search(r'id="field-role".*?<div class="help"[^>]*>([^<]*)</div>', html, re.S).group(1)
    assert "Reply to assigned conversations" in help_text and "Create and edit products" not in help_text


def test_extra_grants_the_role_covers_are_kept_and_others_change(shop, owner_web):
    member = make_member(shop, "viewer", extra_grants=["catalog.view", "orders.refund"])
    url = f"/shops/{shop.pk}/staff/{member.pk}/"
    html = owner_web.get(url).content.decode()
    assert re.search(r'value="catalog.view"[^>]*checked[^>]*disabled', html)
    assert re.search(r'value="orders.refund"[^>]*checked', html)
    # The browser sends no disabled box: catalog.view is not in the POST, and it stays an extra grant.
    body = {"email": member.user.email, "role": member.role_id, "extra_grants": ["orders.export"]}
    assert owner_web.post(url, body).status_code == 302
    assert selectors.extra_grants(membership=member) == {"catalog.view", "orders.export"}
    # A role that does not cover it: the box is free again, and unticking it removes the grant.
    packer = services.role_create(actor=owner_actor(shop), name="Packer", permissions=["orders.view"])
    body = {**body, "role": packer.pk, "extra_grants": []}
    assert owner_web.post(url, body).status_code == 302
    assert selectors.extra_grants(membership=member) == frozenset()


def test_owner_sets_warehouse_scope_on_the_staff_pages(shop, owner_web, warehouses):
    w1, w2, _w3 = warehouses
    url = f"/shops/{shop.pk}/staff/new/"
    html = owner_web.get(url).content.decode()
    for w in warehouses:
        assert f'value="{w.pk}"' in html and w.name in html
    assert re.search(r'name="scope_warehouse" value="all"[^>]*checked', html)  # "all" by default
    r = owner_web.post(url, new_staff(shop, "picker", **{**unlimited(), "scope_warehouse": [w1.pk, w2.pk]}))
    assert r.status_code == 302, r.content.decode()
    member = Membership.objects.for_shop(shop).get(user__username="picker")
    assert selectors.member_scopes(membership=member) == {"warehouse": {w1.pk, w2.pk}}

    detail = f"/shops/{shop.pk}/staff/{member.pk}/"
    html = owner_web.get(detail).content.decode()
    assert re.search(rf'name="scope_warehouse" value="{w1.pk}"[^>]*checked', html)
    assert not re.search(r'name="scope_warehouse" value="all"[^>]*checked', html)
    assert re.search(r'name="scope_category" value="all"[^>]*checked', html)
    assert "Limited to chosen objects of: Warehouses" in visible_text(html)
    base = {"email": member.user.email, "role": member.role_id, **unlimited()}
    assert owner_web.post(detail, {**base, "scope_warehouse": [w2.pk]}).status_code == 302
    assert selectors.member_scopes(membership=member) == {"warehouse": {w2.pk}}
    # An older form (no scope fields at all) leaves the scope as it is.
    assert owner_web.post(detail, {"email": member.user.email, "role": member.role_id}).status_code == 302
    assert selectors.member_scopes(membership=member) == {"warehouse": {w2.pk}}
    assert owner_web.post(detail, {**base, "scope_warehouse": "all"}).status_code == 302
    member.refresh_from_db()
    assert member.scope_types == [] and selectors.member_scopes(membership=member) == {}


@pytest.mark.parametrize(
    "choice, message",
    [(["all", "W1"], "Choose “all” or some of them, not both."), ([], "Choose “all” or at least one."),
     (["999999999"], "Select a valid choice."), (["nope"], "Select a valid choice.")],
)  # fmt: skip
def test_bad_scope_choices_are_refused_on_their_field(shop, owner_web, warehouses, choice, message):
    choice = [str(warehouses[0].pk) if c == "W1" else c for c in choice]
    body = new_staff(shop, "picker", **{**unlimited(), "scope_warehouse": choice})
    r = owner_web.post(f"/shops/{shop.pk}/staff/new/", body)
    html = r.content.decode()
    assert r.status_code == 400
    field = re.search(r'id="field-scope_warehouse".*?</ul>', html, re.S).group(0)
    assert message in field
    assert not Membership.unscoped.filter(user__username="picker").exists()


def test_another_shops_warehouse_is_refused(shop, owner_web):
    other = make_shop("Other")
    theirs = make_warehouse(owner_actor(other))
    body = new_staff(shop, "picker", **{**unlimited(), "scope_warehouse": [theirs.pk]})
    r = owner_web.post(f"/shops/{shop.pk}/staff/new/", body)
    assert r.status_code == 400 and "Select a valid choice." in r.content.decode()
    assert not Membership.unscoped.filter(user__username="picker").exists()


@pytest.fixture
def scoped_manager(shop, warehouses):
    """An admin limited to the first warehouse."""
    return make_member(shop, "admin", scopes={"warehouse": [warehouses[0].pk]})


def test_a_scoped_manager_is_offered_only_their_own_warehouses(shop, warehouses, scoped_manager):
    w1, w2, _w3 = warehouses
    html = web_client_for(scoped_manager.user).get(f"/shops/{shop.pk}/staff/new/").content.decode()
    assert f'name="scope_warehouse" value="{w1.pk}"' in html
    assert f'name="scope_warehouse" value="{w2.pk}"' not in html
    assert 'name="scope_warehouse" value="all"' not in html  # they cannot give "no limit"
    assert 'name="scope_category" value="all"' in html  # they are not limited on categories
    # Within their own scope they may add a member.
    body = new_staff(shop, "picker", **{**unlimited(), "scope_warehouse": [w1.pk]})
    r = web_client_for(scoped_manager.user).post(f"/shops/{shop.pk}/staff/new/", body)
    assert r.status_code == 302
    picker = Membership.objects.for_shop(shop).get(user__username="picker")
    assert selectors.member_scopes(membership=picker) == {"warehouse": {w1.pk}}


@pytest.mark.parametrize("choice", [["all"], ["W2"], ["W1", "W2"]])
def test_a_scoped_manager_cannot_widen_scope_through_the_create_page(shop, warehouses, scoped_manager, choice):
    ids = {"W1": warehouses[0].pk, "W2": warehouses[1].pk}
    body = new_staff(shop, "picker", **{**unlimited(), "scope_warehouse": [ids.get(c, c) for c in choice]})
    r = web_client_for(scoped_manager.user).post(f"/shops/{shop.pk}/staff/new/", body)
    assert r.status_code == 400
    assert not Membership.unscoped.filter(user__username="picker").exists()


def test_the_service_refuses_an_unlimited_member_from_a_scoped_manager(shop, scoped_manager):
    # No scope fields sent (as an older form would): the member would be unlimited, which the service refuses.
    r = web_client_for(scoped_manager.user).post(f"/shops/{shop.pk}/staff/new/", new_staff(shop, "picker"))
    assert r.status_code == 403 and "the member must be limited too" in r.content.decode()
    assert not Membership.unscoped.filter(user__username="picker").exists()


def test_a_scoped_manager_cannot_widen_a_reports_scope_through_the_detail_page(shop, warehouses, scoped_manager):
    w1, w2, _w3 = warehouses
    manager_actor = load_actor(scoped_manager.user, shop)
    report = services.staff_create(
        actor=manager_actor, username="report", email="report@example.com", password=PASSWORD,
        role=role(shop, "viewer"), scopes={"warehouse": [w1.pk]},
    )  # fmt: skip
    web = web_client_for(scoped_manager.user)
    url = f"/shops/{shop.pk}/staff/{report.pk}/"
    base = {"email": report.user.email, "role": report.role_id, **unlimited()}
    for choice in (["all"], [w2.pk], [w1.pk, w2.pk]):
        assert web.post(url, {**base, "scope_warehouse": choice}).status_code == 400
        assert selectors.member_scopes(membership=report) == {"warehouse": {w1.pk}}
    # What they hold they may give.
    assert web.post(url, {**base, "scope_warehouse": [w1.pk]}).status_code == 302
    assert selectors.member_scopes(membership=report) == {"warehouse": {w1.pk}}


def test_scope_changes_on_the_detail_page_need_a_fresh_reauthentication(shop, warehouses):
    member = make_member(shop, "viewer")
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/staff/{member.pk}/"
    base = {"email": member.user.email, "role": member.role_id, **unlimited()}
    # Same scope (none): a contact change saves without re-authentication.
    assert web.post(url, {**base, "scope_warehouse": "all", "first_name": "Ann"}).status_code == 302
    r = web.post(url, {**base, "scope_warehouse": [warehouses[0].pk]})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauth/")
    assert selectors.member_scopes(membership=member) == {}
