"""Promotions in a real browser: an operator creates a 满减 spend-tier promotion, sees the live quote preview
update in place (htmx), saves it, and activates it behind the confirmation page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from orders.tests.factories import make_sku
from promotions.models import Promotion
from tests.fixtures import make_member, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_spend_tiers_with_live_preview_then_activate(page: Page, live_server, login, screenshot):
    shop = make_shop("Promotions Browser")
    sku, _wh = make_sku(shop, price="260.00", stock=5, code="TEA-1")
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.locator('#nav a[data-nav="promotions"]').click()
    expect(page.locator("#promotions-empty")).to_be_visible()
    page.locator("#add-promotion").click()
    page.locator('[data-kind="spend_threshold"] a').click()
    form = page.locator("#promotion-form")
    form.get_by_label("Name").fill("Spend more")
    form.locator("#id_tiers-0-min_spend").fill("300")
    form.locator("#id_tiers-0-discount").fill("30")
    form.locator("#id_tiers-1-min_spend").fill("500")
    form.locator("#id_tiers-1-discount").fill("60")
    form.locator("#id_cart-0-sku").fill("TEA-1")
    form.locator("#id_cart-0-quantity").fill("2")
    page.evaluate("window.notReloaded = true")
    page.locator("#preview-button").click()
    # 2 × 260 = 520 reaches the 500 tier: 60 off, in place (the page was not reloaded).
    expect(page.locator("#quote-discount")).to_have_text("60.00")
    expect(page.locator("#quote-total")).to_contain_text("460.00")
    expect(form.get_by_label("Name")).to_have_value("Spend more")
    assert page.evaluate("window.notReloaded === true")  # swapped in by htmx, not a new page
    screenshot(page, "promotion-preview")

    page.locator("#save-promotion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spend more")
    page.locator("#activate").click()
    expect(page).to_have_url(re.compile(r"/activate/$"))
    page.locator("#confirm-activate").click()
    expect(page.locator(".messages")).to_contain_text("Promotion activated.")
    expect(page.locator('[data-status="active"]')).to_be_visible()
    assert Promotion.objects.for_shop(shop).get(name="Spend more").state == Promotion.State.ACTIVE
