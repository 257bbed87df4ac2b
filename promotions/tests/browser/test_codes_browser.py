"""Single-use codes in a real browser: an operator generates a batch on the promotion's page, filters the list to
the unused codes, downloads them as CSV, and the page with its Codes card passes axe-core with no violation."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from orders.tests.factories import make_sku
from promotions.models import PromotionCode
from promotions.tests.factories import intake, make_promotion
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


def test_generate_filter_and_download_codes(page: Page, live_server, login, screenshot):
    shop = make_shop("Codes Browser")
    sku, _wh = make_sku(shop, price="100.00", stock=5, code="TEA-1")
    promotion = make_promotion(shop, name="Codes for friends")
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/promotions/{promotion.pk}/")
    card = page.locator("#codes")
    expect(card.locator("#codes-empty")).to_be_visible()
    card.get_by_label("Number of codes").fill("30")
    card.get_by_label("Prefix").fill("friends")
    card.locator("#codes-generate").click()
    expect(page.locator(".messages")).to_contain_text("30 codes generated.")
    expect(page).to_have_url(re.compile(r"#codes$"))
    expect(card.locator("tr[data-code]")).to_have_count(25)  # a page of 25 of the 30

    used = PromotionCode.objects.for_shop(shop).order_by("id").first()
    order = intake(shop, [(sku, 1)], codes=[used.code])
    card.locator('[data-codes-filter="used"]').click()
    expect(card.locator("tr[data-code]")).to_have_count(1)
    expect(card.locator(f'tr[data-code="{used.code}"]')).to_contain_text(order.number)
    card.locator('[data-codes-filter="unused"]').click()
    expect(card.locator('[data-codes-filter="unused"]')).to_have_attribute("aria-current", "page")
    expect(card.locator('tr[data-used="no"]')).to_have_count(25)
    assert_accessible(page)
    screenshot(page, "promotion-codes")

    with page.expect_download() as download:
        card.locator('#codes-export [data-format="csv"]').click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["code", "status", "order", "used_at"] and len(rows) == 30  # the 29 unused
    assert all(row[0].startswith("FRIENDS-") and row[1] == "unused" for row in rows[1:])
    assert download.value.suggested_filename == f"promotion-{promotion.pk}-codes.csv"

    # The form's own page, where a refused count is said beside its field.
    page.goto(f"{live_server.url}/shops/{shop.pk}/promotions/{promotion.pk}/codes/generate/")
    page.get_by_label("Number of codes").fill("20000")
    page.get_by_label("Number of codes").evaluate("el => el.removeAttribute('max')")  # as a script-less client may
    page.locator("#codes-generate").click()
    expect(page.locator("#codes-count_error")).to_be_visible()
    assert_accessible(page)
