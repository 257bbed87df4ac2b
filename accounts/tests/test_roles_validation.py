"""Clashes a shop's people see on the field they typed (#11): a role's name (never the key the user does
not see) and a member's email, refused on the API (400 naming the field) and on the pages (400, the
message on the form), with nothing created or changed."""

import re

import pytest

from accounts import services
from accounts.models import Membership, Role, User
from tests.fixtures import PASSWORD, api_client_for, make_member, make_shop, owner_actor, web_client_for

pytestmark = pytest.mark.django_db

ROLE_TAKEN = "A role with this name exists."
EMAIL_TAKEN = "Another member of this shop uses this email."


def _form_post(client, url: str, data: dict, *, page: str | None = None):
    """Send a form as its page does: with the one-time token the page rendered, if it carries one."""
    found = re.search(r'name="once_token" value="([^"]+)"', client.get(page or url).content.decode())
    return client.post(url, {**data, "once_token": found.group(1)} if found else data)


def _roles(shop) -> list[tuple[str, str]]:
    return sorted(Role.objects.for_shop(shop).values_list("key", "name"))


# ---------------------------------------------------------------- roles


def test_api_refuses_a_role_name_taken_in_any_case_on_the_name_field(shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/roles/"
    r = api.post(url, {"name": "Packers", "permissions": ["catalog.view"]}, format="json")
    assert r.status_code == 201, r.content
    before = _roles(shop)
    # The same name in another case; a name whose generated key is taken ("packers!" → "packers"); a
    # built-in role's name ("Admin" is stored as "Admin", key "admin").
    for name in ("PACKERS", "packers!", "admin", "  Viewer "):
        r = api.post(url, {"name": name, "permissions": ["catalog.view"]}, format="json")
        assert r.status_code == 400, (name, r.content)
        error = r.json()["error"]
        assert error["fields"] == {"name": [ROLE_TAKEN]}, (name, error)
        assert error["message"] == ROLE_TAKEN
    assert _roles(shop) == before
    # A key the caller chose is theirs: its clash is told on the key.
    r = api.post(url, {"name": "Night shift", "key": "packers", "permissions": []}, format="json")
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["key"]
    assert _roles(shop) == before


def test_renaming_a_role_onto_another_name_is_refused_but_a_case_change_of_its_own_is_not(shop):
    owner = owner_actor(shop)
    packers = services.role_create(actor=owner, name="Packers", permissions=[])
    pickers = services.role_create(actor=owner, name="Pickers", permissions=[])
    api = api_client_for(shop.owner)
    r = api.patch(f"/api/v1/shops/{shop.pk}/roles/{pickers.pk}/", {"name": "packers"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"name": [ROLE_TAKEN]}
    pickers.refresh_from_db()
    assert pickers.name == "Pickers"
    r = api.patch(f"/api/v1/shops/{shop.pk}/roles/{packers.pk}/", {"name": "PACKERS"}, format="json")
    assert r.status_code == 200 and r.json()["name"] == "PACKERS"


def test_role_page_shows_the_name_clash_on_the_form(shop):
    services.role_create(actor=owner_actor(shop), name="Packers", permissions=[])
    before = _roles(shop)
    client = web_client_for(shop.owner)
    r = _form_post(client, f"/shops/{shop.pk}/roles/new/", {"name": "packers", "description": ""})
    body = r.content.decode()
    assert r.status_code == 400 and ROLE_TAKEN in body
    assert "A role with this key exists." not in body
    assert _roles(shop) == before


def test_the_same_role_name_in_another_shop_is_fine(shop):
    services.role_create(actor=owner_actor(shop), name="Packers", permissions=[])
    other = make_shop()
    assert services.role_create(actor=owner_actor(other), name="Packers", permissions=[]).key == "packers"


# ---------------------------------------------------------------- member emails


def _staff_payload(username: str, email: str) -> dict:
    return {"username": username, "email": email, "password": PASSWORD, "role": "viewer"}


def test_api_refuses_a_new_member_with_an_email_another_member_uses(shop):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/staff/"
    taken = make_member(shop, "operator")
    gone = make_member(shop, "support")
    services.staff_deactivate(actor=owner_actor(shop), membership=gone)
    # Another member's, whatever the case and spaces; a deactivated member's (they may come back); the owner's.
    for n, email in enumerate((taken.user.email.upper(), f" {gone.user.email} ", shop.owner.email)):
        r = api.post(url, _staff_payload(f"dup{n}", email), format="json")
        assert r.status_code == 400, (email, r.content)
        assert r.json()["error"]["fields"] == {"email": [EMAIL_TAKEN]}, email
        assert not User.objects.filter(username=f"dup{n}").exists()
    # Users are global accounts: an address used in another shop is that shop's business, not a clash here.
    elsewhere = make_member(make_shop(), "viewer")
    r = api.post(url, _staff_payload("fresh", elsewhere.user.email), format="json")
    assert r.status_code == 201, r.content


def test_api_refuses_changing_a_member_email_to_another_members(shop):
    api = api_client_for(shop.owner)
    first, second = make_member(shop, "operator"), make_member(shop, "viewer")
    url = f"/api/v1/shops/{shop.pk}/staff/{second.pk}/"
    r = api.patch(url, {"email": first.user.email.title()}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"email": [EMAIL_TAKEN]}
    second.user.refresh_from_db()
    assert second.user.email != first.user.email.title()
    # Their own address in another case is not a clash.
    r = api.patch(url, {"email": second.user.email.upper()}, format="json")
    assert r.status_code == 200 and r.json()["email"] == second.user.email.upper()


def test_staff_pages_show_the_email_clash_on_the_form(shop):
    taken = make_member(shop, "operator")
    other = make_member(shop, "viewer")
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    client = web_client_for(shop.owner)
    r = _form_post(
        client,
        f"/shops/{shop.pk}/staff/new/",
        {"username": "newbie", "email": taken.user.email, "password": PASSWORD, "role": viewer.pk},
    )
    assert r.status_code == 400 and EMAIL_TAKEN in r.content.decode()
    assert not Membership.objects.for_shop(shop).filter(user__username="newbie").exists()

    r = _form_post(
        client,
        f"/shops/{shop.pk}/staff/{other.pk}/",
        {"email": taken.user.email.upper(), "first_name": "", "last_name": "", "role": viewer.pk, "manager": ""},
    )
    assert r.status_code == 400 and EMAIL_TAKEN in r.content.decode()
    other.user.refresh_from_db()
    assert other.user.email.lower() != taken.user.email.lower()
