"""The foundation's pages in a real browser: log in, switch shop, add staff, navigation by permission, language.

Data is built through the real services (tests/fixtures.py); every check is one of Playwright's auto-waiting
``expect`` assertions. Each test takes full-page screenshots into test-results/screenshots/.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from tests.fixtures import PASSWORD, make_member, make_shop

pytestmark = pytest.mark.browser

ADMIN_LINKS = ("staff", "roles", "audit", "settings")
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"


def shop_url(live_server, shop, path: str = "") -> str:
    return f"{live_server.url}/shops/{shop.pk}/{path}"


# ------------------------------------------------------------------ (a) log in through the form


def test_log_in_through_the_form(page: Page, live_server, login, screenshot):
    shop = make_shop("Alpha Goods")
    owner = shop.owner

    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # anonymous visitors are sent to the form
    screenshot(page, "login")

    # A wrong password keeps us on the form with an error on top of it.
    form = page.locator("#login-form")
    form.get_by_label("Username").fill(owner.username)
    form.get_by_label("Password").fill("not-the-password")
    form.get_by_role("button", name="Log in").click()
    expect(form.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.locator("#user-menu")).to_have_count(0)
    screenshot(page, "login-error")

    login(page, owner)
    expect(page).to_have_url(shop_url(live_server, shop))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Goods")
    expect(page.locator("#user-menu")).to_have_text(owner.username)
    expect(page.locator("#my-role")).to_have_text(re.compile("owner", re.I))
    screenshot(page, "dashboard-owner")


# ------------------------------------------------------------------ (b) shop switcher


def test_shop_switcher_lands_on_the_other_shops_dashboard(page: Page, live_server, login, screenshot):
    alpha = make_shop("Alpha Goods")
    beta = make_shop("Beta Supplies")
    user = alpha.owner
    # The same user also works in Beta, as a viewer (make_member would create a new user).
    Membership.objects.for_shop(beta).create(shop=beta, user=user, role=Role.objects.for_shop(beta).get(key="viewer"))

    login(page, user)
    expect(page).to_have_url(shop_url(live_server, alpha))  # first shop by name
    switcher = page.locator("#shop-switcher")
    expect(switcher.locator("option")).to_have_text(["Alpha Goods", "Beta Supplies"])
    expect(switcher).to_have_value(str(alpha.pk))

    switcher.select_option(label="Beta Supplies")
    expect(page).to_have_url(shop_url(live_server, beta))
    expect(page.get_by_role("heading", level=1)).to_have_text("Beta Supplies")
    expect(page.locator("#my-role")).to_have_text("Viewer")
    expect(page.locator("#shop-switcher")).to_have_value(str(beta.pk))
    # A viewer in Beta: none of the administration links there.
    expect(page.locator("#nav [data-nav=staff]")).to_have_count(0)
    screenshot(page, "dashboard-after-switch")

    page.locator("#shop-switcher").select_option(label="Alpha Goods")
    expect(page).to_have_url(shop_url(live_server, alpha))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Goods")


# ------------------------------------------------------------------ (c) owner adds a sub-account


def test_owner_adds_staff_with_a_role_after_reauthentication(page: Page, live_server, login, reauth, screenshot):
    shop = make_shop("Alpha Goods")
    existing = make_member(shop, "operator", username="olga")

    login(page, shop.owner)
    page.locator("#nav [data-nav=staff]").click()
    expect(page).to_have_url(shop_url(live_server, shop, "staff/"))
    expect(page.locator("#staff-table tbody tr[data-username]")).to_have_count(2)  # owner + olga
    page.get_by_role("link", name="Add staff member").click()

    # Granting access is sensitive: the password is asked for again first.
    expect(page).to_have_url(re.compile(r"/accounts/reauth/\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    screenshot(page, "reauth")
    reauth(page)
    expect(page).to_have_url(shop_url(live_server, shop, "staff/new/"))

    form = page.locator("#staff-form")

    def fill(username: str, password: str) -> None:
        form.get_by_label("Username").fill(username)
        form.get_by_label("Email").fill(f"{username}@example.com")
        form.get_by_label("First name").fill("Sam")
        form.get_by_label("Initial password").fill(password)
        form.get_by_label("Role", exact=True).select_option(label="Support")
        form.get_by_role("button", name="Create").click()

    # A username that is taken: the error sits under the username field, the page stays on the form.
    fill(existing.user.username, PASSWORD)
    expect(page.locator("#field-username .errorlist")).to_have_text("This username is taken.")
    expect(page.locator("#field-username")).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page).to_have_url(shop_url(live_server, shop, "staff/new/"))
    expect(form.get_by_label("Email")).to_have_value(f"{existing.user.username}@example.com")  # input kept
    screenshot(page, "staff-form-error")

    # A weak password: the password validators' message, under the password field.
    fill("sam", "12345678")
    expect(page.locator("#field-password .errorlist")).to_contain_text("too common")
    expect(page.locator("#field-username .errorlist")).to_have_count(0)
    screenshot(page, "staff-form-weak-password")
    assert not Membership.objects.for_shop(shop).filter(user__username="sam").exists()

    # Good input: back on the staff list, with the new member and their role.
    fill("sam", PASSWORD)
    expect(page).to_have_url(shop_url(live_server, shop, "staff/"))
    expect(page.locator(".messages")).to_contain_text("sam was added.")
    row = page.locator("#staff-table tr[data-username=sam]")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("Support")
    expect(row).to_contain_text("Active")
    expect(page.locator("#staff-table tbody tr[data-username]")).to_have_count(3)
    screenshot(page, "staff-list")

    member = Membership.objects.for_shop(shop).select_related("role").get(user__username="sam")
    assert member.role.key == "support" and member.is_active and not member.is_owner


# ------------------------------------------------------------------ (d) navigation by permission


def test_support_agent_has_no_admin_links_and_gets_403_on_staff(page: Page, live_server, login, screenshot):
    shop = make_shop("Alpha Goods")
    agent = make_member(shop, "support")

    login(page, agent.user)
    expect(page).to_have_url(shop_url(live_server, shop))
    nav = page.locator("#nav")
    expect(nav.locator("[data-nav=security]")).to_be_visible()  # the sidebar is there...
    for key in ADMIN_LINKS:  # ...without any administration link
        expect(nav.locator(f"[data-nav={key}]")).to_have_count(0)
    expect(nav).not_to_contain_text("Shop administration")
    screenshot(page, "dashboard-support")

    response = page.goto(shop_url(live_server, shop, "staff/"))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("#staff-table")).to_have_count(0)
    screenshot(page, "403")


@pytest.mark.parametrize("who", ["admin", "owner"])
def test_admin_and_owner_see_every_admin_link(page: Page, live_server, login, screenshot, who):
    shop = make_shop("Alpha Goods")
    user = shop.owner if who == "owner" else make_member(shop, "admin").user

    login(page, user)
    expect(page).to_have_url(shop_url(live_server, shop))
    nav = page.locator("#nav")
    expect(nav).to_contain_text("Shop administration")
    paths = {"staff": "staff/", "roles": "roles/", "audit": "audit/", "settings": "settings/"}
    for key in ADMIN_LINKS:
        expect(nav.locator(f"[data-nav={key}]")).to_have_count(1)
    # Every link works and marks itself active.
    for key in ADMIN_LINKS:
        page.locator(f"#nav [data-nav={key}]").click()
        expect(page).to_have_url(shop_url(live_server, shop, paths[key]))
        expect(page.locator(f"#nav [data-nav={key}]")).to_have_class(re.compile(r"\bactive\b"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if who == "admin":
            screenshot(page, f"{key}-admin")


# ------------------------------------------------------------------ (e) language switcher


def _translation(language: str, msgid: str) -> str:
    """What the compiled catalog under locale/ says for ``msgid`` (read like Django does, from the .mo)."""
    mo = LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), f"{mo} is missing: compile the catalogs (manage.py compilemessages)"
    text = gettext.translation("django", LOCALE_DIR, languages=[language]).gettext(msgid)
    assert text != msgid, f"{msgid!r} has no {language} translation in {mo}"
    return text


def test_language_switcher_changes_the_page_language(page: Page, live_server, login, screenshot):
    shop = make_shop("Alpha Goods")
    login(page, shop.owner)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#nav")).to_contain_text("Dashboard")

    page.locator("#language-form select").select_option(value="ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(shop_url(live_server, shop))  # back on the same page
    expect(page.locator("#language-form select")).to_have_value("ru")
    expect(page.locator("#nav")).to_contain_text(_translation("ru", "Dashboard"))
    expect(page.locator("#nav")).not_to_contain_text("Dashboard")
    screenshot(page, "dashboard-ru")

    # The choice sticks for the next page, and switching back works.
    page.locator("#nav [data-nav=staff]").click()
    expect(page).to_have_url(shop_url(live_server, shop, "staff/"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text(_translation("ru", "Staff"))
    page.locator("#language-form select").select_option(value="zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(_translation("zh_Hans", "Staff"))
    screenshot(page, "staff-list-zh-hans")
    page.locator("#language-form select").select_option(value="en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#nav")).to_contain_text("Dashboard")
