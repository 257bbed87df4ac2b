"""Statements in a real browser: the owner opens the statements page, downloads a paid payout's statement (it lists
the delivered order by its number, between the opening and closing rows), picks a month too big to download
directly, prepares it in the background and downloads the prepared file from the list. axe-core finds nothing on
the page in any of its states (a refused month, the prepare page, a refused reconciliation period), at desktop and
phone width."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from payouts import statements
from payouts.services import withdrawals
from payouts.tests.factories import delivered, settle
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in
from tests.fixtures import make_shop, owner_actor, shop_today

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rows(download) -> list[list[str]]:
    return list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))  # noqa: SIM115


def test_owner_downloads_a_payout_statement_and_prepares_a_big_month(page: Page, browser, live_server, login,
                                                                      monkeypatch, screenshot):  # fmt: skip
    shop = make_shop("Statements Browser")
    order = delivered(shop, "1000.00")  # 950.00 after the 5 % commission
    settle(shop, days=15)
    staff = get_user_model().objects.create_superuser(username="statements-clerk", password="x-pass-2026-2",
                                                      email="statements-clerk@example.com")  # fmt: skip
    w = withdrawals.withdrawal_request(actor=owner_actor(shop), amount="900.00")
    withdrawals.withdrawal_platform_approve(platform_user=staff, withdrawal=w)
    withdrawals.withdrawal_mark_paid(platform_user=staff, withdrawal=w, bank_reference="BANK-77")
    month = shop_today(shop).strftime("%Y-%m")

    login(page, shop.owner)
    page.goto(f"/shops/{shop.pk}/payouts/statements/")
    row = page.locator(f'[data-payout="{w.pk}"]')
    expect(row).to_contain_text("BANK-77")
    with page.expect_download() as info:
        row.get_by_role("link", name=re.compile("CSV")).click()
    rows = _rows(info.value)
    kind = rows[0].index("kind")
    assert [r[0] for r in rows[1:]] == ["opening", "transaction", "transaction", "transaction", "transaction",
                                        "closing"]  # fmt: skip
    assert [r[kind] for r in rows[2:-1]] == ["sale", "settle", "withdrawal", "withdrawal"]
    assert rows[2][rows[0].index("order")] == order.number
    screenshot(page, "payouts-statements")

    # A month over the limit: the download offers to prepare it; the prepared file appears in the list.
    monkeypatch.setattr(statements, "STREAM_MAX_ROWS", 3)
    page.get_by_label("Month", exact=True).fill(month)
    page.locator("#month-show").click()
    page.locator("#month-csv").click()
    expect(page.locator("h1")).to_have_text("Prepare a statement")
    page.locator("#prepare-start").click()
    expect(page).to_have_url(re.compile(r"/payouts/statements/$"))
    link = page.locator("#statement-jobs [data-download]").first
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    assert [r[0] for r in _rows(info.value)][-1] == "closing"

    # axe over the page in every state, desktop and phone (axe is injected inline: a context past the CSP).
    base = f"/shops/{shop.pk}/payouts/statements/"
    paths = ["", f"?month={month}", "?month=2026-13", f"month/?month={month}", "reconciliation/?from=2026-02-30"]
    found = {}
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US",
                                      viewport={"width": width, "height": height})  # fmt: skip
        checker = context.new_page()
        try:
            log_in(checker, shop.owner.username)
            for path in paths:
                checker.goto(base + path)
                checker.add_script_tag(path=str(AXE))
                found[f"{width} {path or 'statements'}"] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
        finally:
            context.close()
    assert {name: v for name, v in found.items() if v} == {}
