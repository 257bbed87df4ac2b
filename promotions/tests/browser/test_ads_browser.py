"""Ad campaigns in a real browser: an operator creates a campaign on the form (products from the catalog), the
marketplace pushes two days of figures through the integration API, and the campaign page draws the charts
(Chart.js from static/vendor, under the pages' CSP: no inline script) with the day table; axe finds nothing."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts import services as accounts
from orders.tests.factories import make_sku
from promotions import ads_selectors as sel
from promotions.models import AdCampaign
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in, submit_empty
from tests.fixtures import make_member, make_platform_user, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _push(live_server, key: str, shop, campaign, body: dict) -> int:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/integration/shops/{shop.pk}/ad-stats/",
        data=json.dumps({"campaign": campaign.pk, **body}).encode(), method="POST",
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as answer:
        return answer.status


def test_create_push_figures_and_see_charts_and_table(page: Page, browser, live_server, login, screenshot):
    shop = make_shop("Ads Browser")
    sku, _wh = make_sku(shop, price="100.00", stock=5, code="AD-1")
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/ad-campaigns/")
    expect(page.locator("#campaigns-empty")).to_be_visible()
    page.locator("#add-campaign").click()
    form = page.locator("#campaign-form")
    form.get_by_label("Name").fill("Search boost")
    form.get_by_label("Placement").select_option("search")
    form.get_by_label("Daily budget").fill("50.00")
    form.get_by_label("Bid per click").fill("2.50")
    form.get_by_label(sku.product.title).check()
    page.locator("#save-campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search boost")
    expect(page.locator("#stats-empty")).to_be_visible()
    page.locator("#activate").click()
    page.locator("#confirm-activate").click()
    expect(page.locator('[data-status="active"]')).to_be_visible()
    campaign = AdCampaign.objects.for_shop(shop).get(name="Search boost")
    assert list(campaign.products.values_list("pk", flat=True)) == [sku.product_id]

    _token, key = accounts.token_create(user=make_platform_user(), name="marketplace")
    today = sel.shop_today(shop)
    yesterday = {"day": (today - timedelta(days=1)).isoformat(), "impressions": 800, "clicks": 16, "spend": "40.00",
                 "orders": 2, "revenue": "200.00"}  # fmt: skip
    assert _push(live_server, key, shop, campaign, yesterday) == 201
    assert _push(live_server, key, shop, campaign, {**yesterday, "clicks": 20}) == 200  # replaces, not adds
    today_body = {"day": today.isoformat(), "impressions": 500, "clicks": 20, "spend": "50.00", "revenue": "0"}
    assert _push(live_server, key, shop, campaign, today_body) == 201  # the daily budget is spent

    page.reload()
    expect(page.locator("#resting")).to_be_visible()
    row = page.locator(f'#stats-table tr[data-day="{yesterday["day"]}"]')
    expect(row).to_contain_text("800")
    expect(row.locator("td").nth(2)).to_have_text("20")  # the re-push's clicks
    expect(row.locator("td").nth(3)).to_have_text("2.5000")  # CTR 20 / 800
    for chart_id in ("chart-traffic", "chart-spend", "chart-ratios"):
        canvas = page.locator(f"#{chart_id} canvas")
        expect(canvas).to_be_visible()
        # Drawn by static/js/charts.js with the pinned Chart.js: a chart instance holds the pushed days.
        labels = canvas.evaluate("c => window.Chart.getChart(c).data.labels")
        assert labels == [yesterday["day"], today.isoformat()]
        expect(page.locator(f"#{chart_id}-table caption")).to_have_count(1)
    screenshot(page, "ad-campaign-detail")

    # axe over every ads page, the detail with its charts drawn and the form with its errors (axe is injected
    # inline, so this context lets it past the CSP).
    context = browser.new_context(bypass_csp=True, base_url=live_server.url, viewport={"width": 1280, "height": 800},
                                  locale="en-US")  # fmt: skip
    checker = context.new_page()
    base = f"/shops/{shop.pk}/ad-campaigns/"
    found = {}

    def scan(name: str) -> None:
        checker.add_script_tag(path=str(AXE))
        found[name] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)

    try:
        log_in(checker, operator.user.username)
        checker.goto(f"{base}{campaign.pk}/")
        checker.wait_for_function("() => document.querySelectorAll('figure[data-chart-drawn]').length === 3")
        scan("detail")
        for path in ("", "?state=draft", "?search=nothing", "new/", f"{campaign.pk}/edit/", f"{campaign.pk}/pause/",
                     f"{campaign.pk}/end/"):  # fmt: skip
            checker.goto(base + path)
            scan(path or "list")
        checker.goto(base + "new/")
        submit_empty(checker, "#campaign-form")
        expect(checker.locator("#field-name .errorlist")).to_be_visible()
        scan("form errors")
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def test_the_product_picker_finds_beyond_the_first_choices_and_keeps_the_form(page: Page, browser, live_server, login,
                                                                             monkeypatch):  # fmt: skip
    """A catalog larger than the picker shows: the page says so, the boxes on the page narrow while typing
    (static/js/ad_product_picker.js), "Find products" brings a product from beyond them with everything typed and
    ticked kept, and the save after the find creates the campaign with both products; axe finds nothing."""
    from promotions.web import ads as ads_pages

    monkeypatch.setattr(ads_pages, "MAX_PRODUCT_CHOICES", 2)
    shop = make_shop("Ads Picker")
    skus = {title: make_sku(shop, title=title, code=code, stock=0)[0]
            for title, code in (("Alpha lamp", "AL-1"), ("Beta chair", "BC-1"), ("Gamma desk", "GD-7"))}  # fmt: skip
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/ad-campaigns/new/")
    form = page.locator("#campaign-form")
    expect(page.locator("#products-capped")).to_have_text("Showing 2 of 3 products — search to narrow.")
    expect(form.get_by_label("Gamma desk")).to_have_count(0)
    form.get_by_label("Name").fill("Desk push")
    form.get_by_label("Daily budget").fill("30.00")
    form.get_by_label("Bid per click").fill("1.50")
    form.get_by_label("Alpha lamp").check()
    search = form.get_by_label("Search products by title or SKU code")
    search.fill("gd-7")  # narrows the boxes on the page at once; a ticked one stays in sight
    expect(form.get_by_label("Beta chair")).to_be_hidden()
    expect(form.get_by_label("Alpha lamp")).to_be_visible()
    page.locator("#find-products").click()
    expect(form.get_by_label("Gamma desk")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_value("Desk push")
    expect(form.get_by_label("Daily budget")).to_have_value("30.00")
    expect(form.get_by_label("Alpha lamp")).to_be_checked()
    assert AdCampaign.objects.for_shop(shop).count() == 0  # a find saves nothing
    form.get_by_label("Gamma desk").check()
    page.locator("#save-campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Desk push")
    campaign = AdCampaign.objects.for_shop(shop).get(name="Desk push")
    assert set(campaign.products.values_list("pk", flat=True)) == {skus["Alpha lamp"].product_id,
                                                                   skus["Gamma desk"].product_id}  # fmt: skip

    context = browser.new_context(bypass_csp=True, base_url=live_server.url, viewport={"width": 1280, "height": 800},
                                  locale="en-US")  # fmt: skip
    checker = context.new_page()
    found = {}
    try:
        log_in(checker, operator.user.username)
        for path in ("new/", f"{campaign.pk}/edit/"):  # the capped line; the campaign's products ticked on top
            checker.goto(f"/shops/{shop.pk}/ad-campaigns/{path}")
            checker.add_script_tag(path=str(AXE))
            found[path] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
        checker.get_by_label("Search products by title or SKU code").fill("nothing like it")
        checker.locator("#find-products").click()
        expect(checker.locator("#no-matches")).to_be_visible()
        checker.add_script_tag(path=str(AXE))
        found["no matches"] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
