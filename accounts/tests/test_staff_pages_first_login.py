"""First login of a sub-account (#11): the owner chose its password on the staff page, so the person must
choose their own before they are logged in; the audit log records it."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts import services
from accounts.models import ApiToken, AuditEntry, Membership, Role, User
from tests.fixtures import PASSWORD, make_member, web_client_for

pytestmark = pytest.mark.django_db

OWN_PASSWORD = "my-Own-pass-42"
CHOOSE = "/accounts/password/choose/"


@pytest.fixture
def newbie(shop) -> User:
    """A sub-account the owner added through the staff page, with a password the owner chose."""
    viewer = Role.objects.for_shop(shop).get(key="viewer")
    body = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD, "role": viewer.pk}
    assert web_client_for(shop.owner).post(f"/shops/{shop.pk}/staff/new/", body).status_code == 302
    return User.objects.get(username="newbie")


def log_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_the_staff_page_marks_the_new_account_and_others_are_not(shop, newbie):
    assert newbie.must_change_password
    # Accounts made otherwise (sign-up, the services the test fixtures use) choose nothing at login.
    assert not shop.owner.must_change_password and not make_member(shop, "viewer").user.must_change_password


def test_first_login_asks_for_an_own_password_before_anything_else(shop, newbie):
    browser = Client()
    r = log_in(browser, "newbie", PASSWORD)
    assert r.status_code == 302 and r["Location"] == f"{CHOOSE}?next=%2F"
    # Not logged in yet: no page of the shop, and the session holds no user.
    assert SESSION_KEY not in browser.session
    r = browser.get(f"/shops/{shop.pk}/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")

    r = browser.get(CHOOSE)
    body = r.content.decode()
    assert r.status_code == 200 and "Choose your password" in body and "newbie" in body

    # Refusals name their field; the account stays as it was.
    cases = [
        ({"new_password": OWN_PASSWORD, "new_password_again": "other-Pass-43"}, "The two passwords differ."),
        ({"new_password": PASSWORD, "new_password_again": PASSWORD}, "other than the one you were given"),
        ({"new_password": "12345678", "new_password_again": "12345678"}, "too common"),
        ({"new_password": "", "new_password_again": ""}, "This field is required."),
    ]
    for data, message in cases:
        r = browser.post(CHOOSE, data)
        assert r.status_code == 400 and message in r.content.decode(), message
        assert SESSION_KEY not in browser.session
    newbie.refresh_from_db()
    assert newbie.must_change_password and newbie.check_password(PASSWORD)

    r = browser.post(CHOOSE, {"new_password": OWN_PASSWORD, "new_password_again": OWN_PASSWORD, "next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    r = browser.get("/", follow=True)
    assert r.status_code == 200 and r.redirect_chain[-1][0] == f"/shops/{shop.pk}/"
    newbie.refresh_from_db()
    assert not newbie.must_change_password and newbie.check_password(OWN_PASSWORD)
    member = Membership.objects.for_shop(shop).get(user=newbie)
    entry = AuditEntry.objects.for_shop(shop).get(action="staff.password_chosen")
    assert entry.actor_id == newbie.pk and entry.target_id == str(member.pk) and entry.membership_id == member.pk
    # The step is gone: a second visit goes to the login page, and the next login goes straight in.
    assert Client().get(CHOOSE)["Location"] == "/accounts/login/"
    assert log_in(Client(), "newbie", PASSWORD).status_code == 400
    r = log_in(Client(), "newbie", OWN_PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/"


def test_the_choose_page_needs_a_login_in_progress(newbie):
    assert Client().get(CHOOSE)["Location"] == "/accounts/login/"
    r = Client().post(CHOOSE, {"new_password": OWN_PASSWORD, "new_password_again": OWN_PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    newbie.refresh_from_db()
    assert newbie.must_change_password and newbie.check_password(PASSWORD)


def test_next_is_kept_through_the_choice(shop, newbie):
    browser = Client()
    target = f"/shops/{shop.pk}/notifications/"
    r = browser.post(f"/accounts/login/?next={target}", {"username": "newbie", "password": PASSWORD})
    assert r["Location"] == f"{CHOOSE}?next=%2Fshops%2F{shop.pk}%2Fnotifications%2F"
    r = browser.post(r["Location"], {"new_password": OWN_PASSWORD, "new_password_again": OWN_PASSWORD})
    assert r.status_code == 302 and r["Location"] == target


def test_choosing_ends_tokens_taken_with_the_given_password(newbie):
    services.token_create(user=newbie, name="taken with the owner's password")
    services.staff_first_password(user=newbie, new_password=OWN_PASSWORD)
    assert not ApiToken.objects.filter(user=newbie).exists()


def test_the_service_refuses_a_second_choice_and_a_bare_id(newbie):
    from backoffice.errors import Conflict

    services.staff_first_password(user=newbie, new_password=OWN_PASSWORD)
    with pytest.raises(Conflict):
        services.staff_first_password(user=newbie, new_password="another-Pass-44")
    with pytest.raises(TypeError):
        services.staff_first_password(user=newbie.pk, new_password="another-Pass-44")
