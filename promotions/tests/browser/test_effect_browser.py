"""A promotion's effect in a real browser: the detail page shows during / before / uplift, both periods and when the
figures were computed, and draws the daily chart (Chart.js from static/vendor under the pages' CSP); axe finds
nothing at desktop or phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.tests.factories import make_sku
from promotions.tests.factories import intake, make_promotion
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in
from tests.fixtures import make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_effect_card_figures_chart_and_axe(page: Page, browser, live_server, login):
    shop = make_shop("Effect Browser")
    sku, _wh = make_sku(shop, price="100.00", stock=20)
    now = timezone.now()
    promotion = make_promotion(shop, name="Autumn", starts_at=(now - timedelta(hours=2)).isoformat())
    intake(shop, [(sku, 1)], buyer_id="before", at=now - timedelta(hours=3))
    intake(shop, [(sku, 1)], buyer_id="one")
    intake(shop, [(sku, 2)], buyer_id="two")

    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/promotions/{promotion.pk}/")
    card = page.locator("#effect")
    orders = card.locator('tr[data-figure="orders"] td')
    expect(orders).to_have_text(["2", "1", "100.0%"])
    expect(card.locator('tr[data-figure="discount"] td')).to_have_text(["30.00", "0.00", "—"])
    expect(card.locator("#effect-period")).to_contain_text("compared with")
    expect(card.locator("#effect-as-of")).to_contain_text("Figures as of")
    canvas = card.locator("#chart-effect canvas")
    expect(canvas).to_be_visible()
    datasets = canvas.evaluate("c => window.Chart.getChart(c).data.datasets.map(d => [d.label, d.data])")
    assert [label for label, _data in datasets] == ["Orders", "Revenue", "Discount given"]
    assert sum(datasets[0][1]) == 2 and sum(datasets[1][1]) == 270 and sum(datasets[2][1]) == 30

    # axe (injected inline: this context lets it past the CSP) over the page with its chart drawn.
    found = {}
    for name, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(bypass_csp=True, base_url=live_server.url, viewport=viewport, locale="en-US")
        checker = context.new_page()
        try:
            log_in(checker, shop.owner.username)
            checker.goto(f"/shops/{shop.pk}/promotions/{promotion.pk}/")
            checker.wait_for_function("() => document.querySelector('figure[data-chart-drawn]') !== null")
            checker.add_script_tag(path=str(AXE))
            found[name] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
        finally:
            context.close()
    assert {name: v for name, v in found.items() if v} == {}
