"""The staff pages in a real browser (#11): the owner adds a sub-account — the role's grants follow the role
select, permissions read as labels, the scope is chosen by warehouse — and the new member, at their first
login, must choose their own password before landing on the dashboard. axe-core checks both pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts import selectors
from accounts.models import Membership
from catalog.tests.factories import make_warehouse
from tests.fixtures import PASSWORD, make_shop, owner_actor

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
OWN_PASSWORD = "my-Own-pass-42"


def axe_violations(page: Page) -> list:
    """axe-core's violations on the page as it is now (evaluated through the driver: the pages' CSP allows
    scripts from the site only)."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed ({AXE} is missing): run `npm ci`.", pytrace=False)
    page.evaluate(AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => [v.id, v.nodes.map(n => n.target.join(' '))])"
    )
    return found


def test_owner_adds_staff_who_must_choose_a_password_at_first_login(page: Page, live_server, login, reauth):
    shop = make_shop("Alpha Goods")
    north, south = (make_warehouse(owner_actor(shop)) for _ in range(2))

    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/staff/new/")
    reauth(page)
    form = page.locator("#staff-form")
    role_help = page.locator("#field-role .help")

    def box(code: str):
        return form.locator(f"input[name=extra_grants][value='{code}']")

    # The role's grants follow the select: the sentence under it, and the extras it covers ticked and disabled.
    form.get_by_label("Role", exact=True).select_option(label="Viewer")
    expect(role_help).to_have_text(
        "This role grants: View catalog; View orders; View promotions; View reports and dashboards."
    )
    expect(box("catalog.view")).to_be_checked()
    expect(box("catalog.view")).to_be_disabled()
    label = form.locator(f"label[for='{box('catalog.view').get_attribute('id')}']")
    expect(label).to_have_text("View catalog (granted by role Viewer)")
    form.get_by_label("Role", exact=True).select_option(label="Support")
    expect(role_help).to_contain_text("Reply to assigned conversations")
    expect(box("support.reply")).to_be_disabled()
    expect(box("catalog.edit")).to_be_enabled()
    expect(box("catalog.edit")).not_to_be_checked()
    expect(form.locator("legend", has_text="Orders")).to_have_count(1)  # grouped by domain, by label
    form.get_by_label("Refund buyers").check()

    # Scope: choosing a warehouse clears "All warehouses".
    all_warehouses = form.get_by_label("All warehouses")
    expect(all_warehouses).to_be_checked()
    form.get_by_label(str(north)).check()
    expect(all_warehouses).not_to_be_checked()
    assert axe_violations(page) == []

    form.get_by_label("Username").fill("sam")
    form.get_by_label("Email").fill("sam@example.com")
    form.get_by_label("Initial password").fill(PASSWORD)
    form.get_by_role("button", name="Create").click()
    expect(page.locator(".messages")).to_contain_text("sam was added.")

    member = Membership.objects.for_shop(shop).select_related("user", "role").get(user__username="sam")
    assert member.role.key == "support" and member.user.must_change_password
    assert selectors.extra_grants(membership=member) == {"orders.refund"}
    assert selectors.member_scopes(membership=member) == {"warehouse": {north.pk}}
    assert south.pk not in selectors.member_scopes(membership=member)["warehouse"]

    # The new member logs in with the owner's password: first their own password, then the dashboard.
    page.context.clear_cookies()
    login(page, "sam")
    expect(page).to_have_url(re.compile(r"/accounts/password/choose/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your password")
    expect(page.locator("#user-menu")).to_have_count(0)  # not logged in yet
    assert axe_violations(page) == []
    choose = page.locator("#password-choose-form")
    choose.get_by_label("New password", exact=True).fill(OWN_PASSWORD)
    choose.get_by_label("New password again").fill("not-the-same-43")
    choose.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#field-new_password_again .errorlist")).to_have_text("The two passwords differ.")
    choose.get_by_label("New password", exact=True).fill(OWN_PASSWORD)
    choose.get_by_label("New password again").fill(OWN_PASSWORD)
    choose.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(f"{live_server.url}/shops/{shop.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Goods")
    expect(page.locator("#user-menu")).to_have_text("sam")
    member.user.refresh_from_db()
    assert not member.user.must_change_password and member.user.check_password(OWN_PASSWORD)
