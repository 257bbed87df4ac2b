"""The balance and the ledger in a real browser: the owner reads the balance (figures, what matures when, the
chart drawn by Chart.js under the pages' CSP), goes to the ledger from the sidebar and filters it by an order
number; axe finds nothing on either page in any of their states (filters refused, a deep page), at desktop and
phone width."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from payouts import services
from payouts.models import Account, Kind
from payouts.tests.factories import delivered, refund, settle
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in
from tests.fixtures import make_shop, shop_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_reads_the_balance_then_filters_the_ledger_by_order(page: Page, browser, live_server, login,
                                                                   screenshot):  # fmt: skip
    shop = make_shop("Payouts Browser")
    with time_machine.travel(timezone.now() - timedelta(days=20), tick=False):
        settled = delivered(shop, "1000.00")  # 950.00 after the 5 % commission
    settle(shop)
    refund(shop, settled, "100.00")  # 95.00 back from available
    pending = delivered(shop, "400.00")  # 380.00 pending for 14 days
    for i in range(30):  # enough entries for a second ledger page
        services.post(shop=shop, kind=Kind.ADJUSTMENT, key=f"browser-{i}",
                      entries=[(Account.ADJUSTMENTS, Decimal("-1.00")), (Account.AVAILABLE, Decimal("1.00"))])  # fmt: skip

    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/payouts/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Balance")
    expect(page.locator('[data-figure="available"] .value')).to_have_text("885.00 RUB")  # 950 − 95 + 30
    expect(page.locator('[data-figure="pending"] .value')).to_have_text("380.00 RUB")
    matures = shop_date(pending.delivered_at + timedelta(days=14), shop)
    expect(page.locator(f'#maturity-table tr[data-day="{matures.isoformat()}"]')).to_contain_text("380.00 RUB")
    page.wait_for_function("() => document.querySelector('figure[data-chart-drawn]') !== null")
    series = page.locator("#balance-chart canvas").evaluate(
        "c => window.Chart.getChart(c).data.datasets.map(d => d.data[d.data.length - 1])"
    )
    assert [Decimal(str(v)) for v in series] == [Decimal("885"), Decimal("380")]  # today's closing balances
    screenshot(page, "payouts-balance")

    page.locator('nav#nav [data-nav="payouts-ledger"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ledger")
    expect(page.locator("#older")).to_be_visible()
    page.get_by_label("Order number").fill(settled.number)
    page.locator("#apply-filters").click()
    expect(page).to_have_url(re.compile(rf"order={settled.number}"))
    rows = page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(4 + 2 + 3)  # the sale's four legs, the settlement's two, the refund's three
    expect(page.locator(f'#ledger-table [data-order="{settled.number}"]')).to_have_count(9)
    expect(page.locator("#older")).to_have_count(0)
    screenshot(page, "payouts-ledger-filtered")
    page.locator(f'#ledger-table a[data-order="{settled.number}"]').first.click()
    expect(page).to_have_url(re.compile(rf"/orders/{settled.pk}/$"))

    # axe over both pages in every state, desktop and phone (axe is injected inline: a context past the CSP).
    base = f"/shops/{shop.pk}/payouts/"
    paths = ["", "?days=90", "?days=7", "ledger/", f"ledger/?order={settled.number}", "ledger/?kind=refund",
             "ledger/?kind=nope&date_from=2026-02-30", "ledger/?order=NOTHING", "ledger/?cursor=bad"]  # fmt: skip
    found = {}
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US",
                                      viewport={"width": width, "height": height})  # fmt: skip
        checker = context.new_page()
        try:
            log_in(checker, shop.owner.username)
            checker.goto(base + "ledger/")
            checker.locator("#older").click()  # the second page, reached by its cursor
            paths_here = [*paths, checker.url.removeprefix(live_server.url + base)]
            for path in paths_here:
                checker.goto(base + path)
                if path in ("", "?days=90", "?days=7"):
                    checker.wait_for_function("() => document.querySelector('figure[data-chart-drawn]') !== null")
                checker.add_script_tag(path=str(AXE))
                found[f"{width} {path or 'balance'}"] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
        finally:
            context.close()
    assert {name: v for name, v in found.items() if v} == {}
