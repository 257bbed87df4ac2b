"""An order priced by promotions in a real browser: its lines with discounts and a gift, its totals, the
promotions it got and a code the intake ignored, readable by a person and with no axe-core violation, on a
desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from orders.tests.factories import make_sku
from promotions.tests.factories import intake, make_promotion
from tests.browser.test_accessibility_browser import DANGLING, PHONE, RUN_AXE, axe_source
from tests.fixtures import make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # axe goes in as an inline script, which the pages' CSP refuses (as in the accessibility sweep).
    return {**browser_context_args, "bypass_csp": True}


def test_discounted_order_page(page: Page, live_server, login, screenshot):
    shop = make_shop("Discounts Browser")
    tea, _wh = make_sku(shop, price="260.00", stock=5, code="TEA-1")
    cup, _wh = make_sku(shop, price="40.00", stock=5, code="GIFT-CUP")
    tiers = [{"min_spend": "300", "discount": "30"}, {"min_spend": "500", "discount": "60"}]
    make_promotion(shop, name="Spend more", kind="spend_threshold", tiers=tiers)
    make_promotion(shop, name="Cup with tea", kind="gift_with_purchase", gift_sku=cup.code, min_spend="200")
    order = intake(shop, [(tea, 2)], codes=["NOPE-1"])

    login(page, shop.owner)
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        if viewport:
            page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/")
        expect(page.locator("#order-total")).to_have_text("460.00 RUB")
        expect(page.locator("#lines-table tr[data-gift]")).to_contain_text("Gift")
        expect(page.locator("#order-promotions a", has_text="Spend more")).to_be_visible()
        expect(page.locator('[data-code-ignored="NOPE-1"]')).to_be_visible()
        page.add_script_tag(path=axe_source())
        assert page.evaluate(RUN_AXE) == [] and page.evaluate(DANGLING) == [], name
        screenshot(page, f"order-discounts-{name}")
