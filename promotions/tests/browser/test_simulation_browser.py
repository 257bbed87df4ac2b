"""The simulation in a real browser: on the create form the "Simulate" button shows what the draft would have cost
over past orders, in place (htmx), beside the cart's quote; saved as a draft, its detail page simulates it again
over another period. Both pages pass axe-core with the result shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.tests.factories import make_sku
from promotions.tests.factories import intake
from tests.browser.test_accessibility_browser import DANGLING, RUN_AXE, axe_source
from tests.fixtures import make_member, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # axe goes in as an inline script, which the pages' CSP refuses (as in the accessibility sweep).
    return {**browser_context_args, "bypass_csp": True}


def assert_accessible(page: Page) -> None:
    page.add_script_tag(path=axe_source())
    assert page.evaluate(RUN_AXE) == [] and page.evaluate(DANGLING) == []


def test_simulate_a_draft_on_the_form_then_on_its_page(page: Page, live_server, login, screenshot):
    shop = make_shop("Simulation Browser")
    a, _wh = make_sku(shop, price="100.00", stock=50, code="SIM-A")
    b, _wh = make_sku(shop, price="200.00", stock=50, code="SIM-B")
    now = timezone.now()
    intake(shop, [(a, 3)], at=now - timedelta(days=5))  # 300: the 30 tier
    intake(shop, [(b, 3)], at=now - timedelta(days=4))  # 600: the 60 tier
    intake(shop, [(a, 1)], at=now - timedelta(days=3))  # 100: nothing
    intake(shop, [(a, 5)], at=now - timedelta(days=40))  # 500, only in the last 90 days
    operator = make_member(shop, "operator")

    login(page, operator.user, next_url=f"/shops/{shop.pk}/promotions/new/?kind=spend_threshold")
    form = page.locator("#promotion-form")
    form.get_by_label("Name").fill("Spend more")
    form.locator("#id_tiers-0-min_spend").fill("300")
    form.locator("#id_tiers-0-discount").fill("30")
    form.locator("#id_tiers-1-min_spend").fill("500")
    form.locator("#id_tiers-1-discount").fill("60")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Period").select_option("30")
    page.locator("#simulate-button").click()
    expect(page.locator("#sim-touched")).to_have_text("2 of 3 (66.7%)")
    expect(page.locator("#sim-cost")).to_contain_text("90.00")
    assert page.evaluate("window.notReloaded === true")  # swapped in by htmx
    expect(form.get_by_label("Name")).to_have_value("Spend more")
    assert_accessible(page)
    screenshot(page, "promotion-form-simulation")

    page.locator("#save-promotion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spend more")
    page.locator("#simulate-days").select_option("90")
    page.locator("#simulate-button").click()
    expect(page).to_have_url(re.compile(r"\?days=90#simulate$"))
    expect(page.locator("#sim-touched")).to_have_text("3 of 4 (75.0%)")
    expect(page.locator("#sim-discount")).to_contain_text("150.00")
    assert_accessible(page)
    screenshot(page, "promotion-detail-simulation")
