"""The audit log in a real browser: filter by choosing an action, read sentences, follow the actor's link to
their activity page, and reach the same page from the staff page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Role
from backoffice.authz import load_actor
from catalog import services as catalog
from orders.tests.factories import make_sku
from tests.fixtures import make_member, make_shop, owner_actor

pytestmark = pytest.mark.browser


def test_audit_log_filters_and_the_activity_link(page: Page, live_server, login, screenshot):
    shop = make_shop("History Goods")
    anna = make_member(shop, "operator", username="anna", first_name="Anna")
    boris = make_member(shop, "support", username="boris", first_name="Boris")
    sku, warehouse = make_sku(shop, code="TSHIRT-M", stock=0)
    catalog.stock_adjust(actor=load_actor(anna.user, shop), sku=sku, warehouse=warehouse, delta=20, reason="receipt")
    services.staff_update(
        actor=owner_actor(shop), membership=boris, role=Role.objects.for_shop(shop).get(key="operator")
    )

    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/audit/")
    expect(page).to_have_title("Audit log")
    filters = page.locator("#audit-filters")
    filters.locator("select[name=action]").select_option("staff.updated")
    filters.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=staff.updated"))
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("changed the role of Boris from Support to Operator")
    expect(filters.locator("select[name=action]")).to_have_value("staff.updated")  # the choice is kept
    screenshot(page, "audit-log-filtered")

    # Everyone's sentences, then one actor's: their name links to their activity page.
    filters.locator("select[name=action]").select_option("")
    filters.locator("select[name=actor]").select_option("anna")
    filters.get_by_role("button", name="Filter").click()
    expect(rows.first).to_contain_text("Anna (Operator) received stock of SKU TSHIRT-M")
    rows.first.get_by_role("link", name="Anna (Operator)").click()
    expect(page).to_have_url(f"{live_server.url}/shops/{shop.pk}/staff/{anna.pk}/activity/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity of anna")
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    screenshot(page, "member-activity")

    # The staff page leads there too.
    page.goto(f"{live_server.url}/shops/{shop.pk}/staff/{anna.pk}/")
    page.locator("#member-activity").click()
    expect(page).to_have_url(f"{live_server.url}/shops/{shop.pk}/staff/{anna.pk}/activity/")
