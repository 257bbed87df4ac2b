"""Promotions in a real browser, end to end: an operator creates a 满减 spend-tier promotion, sees the live quote
preview update in place (htmx), saves it, activates it behind the confirmation page; the marketplace then pushes
an order through the integration API (over HTTP, to the running server), and the operator sees the order's
discount and the promotion's effect."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts import services as account_services
from orders.tests.factories import make_sku
from promotions.models import Promotion
from tests.fixtures import make_member, make_platform_user, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_spend_tiers_from_preview_to_an_orders_discount_and_the_effect(page: Page, live_server, login, screenshot):
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

    # The marketplace pushes an order of 2 × TEA-1 (520.00 at list prices) through the integration API.
    platform = make_platform_user()
    _token, key = account_services.token_create(user=platform, name="marketplace")
    pushed = page.request.post(
        f"{live_server.url}/api/v1/integration/shops/{shop.pk}/orders/",
        headers={"Authorization": f"Token {key}"},
        data={"external_id": "MP-E2E-1", "delivery_method": "standard",
              "buyer": {"id": "buyer-1", "name": "Ivan Petrov", "phone": "+7 912 345-67-89", "address": "Moscow"},
              "lines": [{"sku": "TEA-1", "quantity": 2, "unit_price": "260.00"}]},
    )  # fmt: skip
    assert pushed.status == 201, pushed.text()
    order = pushed.json()
    assert (order["subtotal"], order["discount_total"], order["total"]) == ("520.00", "60.00", "460.00")

    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order['id']}/")
    expect(page.locator("#order-subtotal")).to_contain_text("520.00")
    expect(page.locator("#order-discount")).to_contain_text("60.00")
    expect(page.locator("#order-total")).to_contain_text("460.00")
    expect(page.locator("#order-promotions")).to_contain_text("Spend more")
    screenshot(page, "order-with-discount")

    page.locator("#order-promotions a", has_text="Spend more").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spend more")
    expect(page.locator('#effect-table [data-figure="orders"] td').first).to_have_text("1")
    expect(page.locator('#effect-table [data-figure="discount"] td').first).to_contain_text("60.00")
    expect(page.locator("#term-used")).to_contain_text("1")
    screenshot(page, "promotion-effect")
