"""Deactivating a category in a real browser: the list's step opens a confirmation page, confirming badges the
category inactive and the product form stops offering it; the list and the confirmation pass axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from backoffice.authz import load_actor
from catalog import services
from catalog.models import Category
from catalog.tests.factories import make_product
from tests.browser.test_accessibility_browser import RUN_AXE, axe_source
from tests.fixtures import make_shop

pytestmark = pytest.mark.browser


def test_deactivate_a_category_after_confirming(browser: Browser, browser_context_args, live_server, login):
    shop = make_shop("Taxonomy")
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases", parent=phones)
    make_product(owner, title="Leather case", category=cases)
    # axe is injected as an inline script, which the pages' CSP refuses: this context bypasses it.
    context = browser.new_context(**{**browser_context_args, "base_url": live_server.url, "bypass_csp": True})
    page = context.new_page()
    axe = axe_source()

    def no_violations() -> None:
        page.add_script_tag(path=axe)
        assert page.evaluate(RUN_AXE) == [], page.url

    try:
        login(page, shop.owner)
        page.goto(f"/shops/{shop.pk}/catalog/categories/")
        no_violations()
        page.locator(f"[data-deactivate-category='{cases.pk}']").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate the category Cases?")
        no_violations()
        assert Category.objects.for_shop(shop).get(pk=cases.pk).is_active  # opening the step changes nothing
        page.locator("#confirm-deactivate").click()
        expect(page.locator(f"[data-inactive-category='{cases.pk}']")).to_have_text("inactive")
        page.get_by_label("Show").select_option("no")
        page.locator("#category-filter").get_by_role("button").click()
        expect(page.locator("#category-table tbody tr")).to_have_count(1)
        no_violations()
        page.goto(f"/shops/{shop.pk}/catalog/products/new/")
        expect(page.locator("#product-form").get_by_label("Category").locator("option")).to_have_text(["—", "Phones"])
    finally:
        context.close()
    assert not Category.objects.for_shop(shop).get(pk=cases.pk).is_active
