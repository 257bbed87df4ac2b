"""Catalog upkeep in a real browser (issue 11, "Gaps sellers notice"): the attributes rows editor (its script adds
rows), a bulk price change of SKUs ticked in the product list (the boxes belong to the selection form through
their ``form`` attribute, which only a browser resolves) through the confirmation step, and the stock page's
Adjust button. axe-core finds nothing on each page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from backoffice.authz import load_actor
from catalog import services
from catalog.models import SKU, Product
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.browser.test_accessibility_browser import RUN_AXE, axe_source
from tests.fixtures import make_member, make_shop

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, browser_context_args, live_server):
    """A page whose CSP lets the test inject axe-core (the app's own scripts load as they always do)."""
    context = browser.new_context(**{**browser_context_args, "base_url": live_server.url, "bypass_csp": True})
    yield context.new_page()
    context.close()


def assert_no_axe_violations(page: Page) -> None:
    page.wait_for_load_state("load")
    page.add_script_tag(path=axe_source())
    found = page.evaluate(RUN_AXE)
    assert found == [], found


def url(live_server, shop, path: str) -> str:
    return f"{live_server.url}/shops/{shop.pk}/catalog/{path}"


def test_attribute_rows_editor_adds_rows_and_saves(page: Page, live_server, login):
    shop = make_shop("Attributes")
    owner = load_actor(shop.owner, shop)
    product = services.product_create(actor=owner, title="Lamp", attributes={"color": "white"},
                                      skus=[{"code": "LAMP-1", "price": "30.00"}])  # fmt: skip
    login(page, shop.owner)
    page.goto(url(live_server, shop, f"products/{product.pk}/"))
    rows = page.locator("#product-form [data-attr-row]")
    expect(rows).to_have_count(4)  # the attribute and three empty rows
    add = page.get_by_role("button", name="Add row")
    expect(add).to_be_visible()  # shown by the script
    assert_no_axe_violations(page)
    for _ in range(2):
        add.click()
    expect(rows).to_have_count(6)
    expect(page.get_by_label("Attribute name 6")).to_be_focused()
    values = {"Attribute name 2": "size", "Attribute value 2": "M", "Attribute name 6": "power",
              "Attribute value 6": "40 W"}  # fmt: skip
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    rows.nth(0).get_by_label("Remove").check()
    page.locator("#save-product").click()
    expect(page.locator(".messages")).to_contain_text("Changes saved.")
    assert Product.objects.for_shop(shop).get(pk=product.pk).attributes == {"size": "M", "power": "40 W"}
    # A row with a value but no name is marked on its row.
    page.get_by_label("Attribute value 3", exact=True).fill("orphan")
    page.locator("#save-product").click()
    bad = page.locator("#product-form [data-attr-row]").nth(2)
    expect(bad.locator(".errorlist")).to_have_text("Give the attribute a name.")
    expect(bad.get_by_label("Attribute name 3", exact=True)).to_have_attribute("aria-invalid", "true")


def test_bulk_price_change_from_the_product_list_with_confirmation(page: Page, live_server, login, screenshot):
    shop = make_shop("Bulk prices")
    owner = load_actor(shop.owner, shop)
    kettle = first_sku(make_product(owner, title="Kettle", price="100.00"))
    toaster = first_sku(make_product(owner, title="Toaster", price="40.00"))
    untouched = first_sku(make_product(owner, title="Fridge", price="500.00"))
    operator = make_member(shop, "operator")
    login(page, operator.user)
    page.goto(url(live_server, shop, "products/"))
    assert_no_axe_violations(page)
    page.get_by_label(kettle.code, exact=True).check()
    page.get_by_label(toaster.code, exact=True).check()
    page.locator("#bulk-price").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change prices")
    expect(page.locator("#bulk-selection tbody tr")).to_have_count(2)
    assert_no_axe_violations(page)
    form = page.locator("#bulk-edit-form")
    form.get_by_label("Price", exact=True).select_option("percent")
    form.get_by_label("Price, percentage or amount").fill("-10")
    page.locator("#bulk-preview").click()
    plan = page.locator("#bulk-plan")
    expect(plan.locator(f"tr[data-sku='{kettle.code}'] .price")).to_have_text("100.00 → 90.00")
    expect(plan.locator(f"tr[data-sku='{toaster.code}'] .price")).to_have_text("40.00 → 36.00")
    assert_no_axe_violations(page)
    screenshot(page, "catalog-bulk-price-confirm")
    assert SKU.objects.for_shop(shop).get(pk=kettle.pk).price == Decimal("100.00")
    page.locator("#bulk-apply").click()
    expect(page).to_have_url(re.compile(r"/catalog/products/$"))
    expect(page.locator(".messages")).to_contain_text("2 SKUs changed.")
    prices = dict(SKU.objects.for_shop(shop).values_list("code", "price"))
    assert (prices[kettle.code], prices[toaster.code], prices[untouched.code]) == (
        Decimal("90.00"), Decimal("36.00"), Decimal("500.00"))  # fmt: skip


def test_adjust_button_opens_the_filled_adjustment_form(page: Page, live_server, login):
    shop = make_shop("Adjusting")
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner, title="Kettle"))
    make_warehouse(owner, code="front")
    back = make_warehouse(owner, code="back")
    services.stock_adjust(actor=owner, sku=sku, warehouse=back, delta=8, reason="receipt")
    login(page, shop.owner)
    page.goto(url(live_server, shop, "stock/"))
    assert_no_axe_violations(page)
    page.locator(f"#stock-table tr[data-sku='{sku.code}'] [data-adjust]").click()
    form = page.locator("#adjust-form")
    expect(form.get_by_label("SKU code")).to_have_value(sku.code)
    expect(form.get_by_label("Warehouse")).to_have_value(str(back.pk))
    expect(form.get_by_label("Change (+/−)")).to_be_focused()
    form.get_by_label("Change (+/−)").fill("-3")
    form.get_by_label("Reason").select_option("damage")
    page.locator("#adjust-submit").click()
    expect(page.locator(f"#stock-table tr[data-sku='{sku.code}'] .on-hand")).to_have_text("5")
