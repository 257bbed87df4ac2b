"""Reports in a real browser: the owner picks the sales report, sets its period and grouping, runs it, watches the
run's progress bar reach 100 while the page polls (the run goes to the in-process job pool, as with no broker),
sees the chart drawn and the table, and downloads the XLSX, which carries a native chart. axe-core finds nothing
on the reports page, the run page and the history."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from analytics.models import ReportRun
from analytics.tests.conftest import deliver, place

# The shared browser fixtures (system Chromium, the live server as base URL); sales_world is analytics/tests/conftest's.
from tests.browser.conftest import base_url, browser_context_args, browser_type_launch_args  # noqa: F401
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_run_a_sales_report_watch_it_and_download_the_xlsx(page: Page, browser, live_server, sales_world,
                                                           settings):  # fmt: skip
    world = sales_world
    apple, _apricot, banana = world.skus
    for day, sku in ((20, apple), (21, banana), (22, apple)):
        at = datetime(2026, 10, day, 10, 0, tzinfo=UTC)
        deliver(world, place(world, [(sku, 2)], at), at)
    # No broker: the run goes to the web process's job pool, so the page polls it as it would a worker's.
    settings.BACKGROUND_THREADS = 2

    log_in(page, world.shop.owner.username)
    page.goto(f"/shops/{world.shop.pk}/analytics/reports/")
    page.locator("#report-type").select_option("sales")
    expect(page).to_have_url(re.compile(r"type=sales"))
    page.get_by_label("From").fill("2026-10-19")
    page.get_by_label("To", exact=True).fill("2026-10-25")
    page.get_by_label("Group by").select_option("day")
    page.locator("#run-report").click()

    expect(page).to_have_url(re.compile(r"/analytics/reports/runs/\d+/$"))
    bar = page.locator("#run-progress")
    expect(bar).to_be_visible()
    expect(page.locator("#run")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(bar).to_have_attribute("value", "100")
    run = ReportRun.objects.for_shop(world.shop).get()
    assert run.progress == 100 and run.row_count == 7  # every day of the week, empty ones too

    chart = page.locator(f"figure[data-chart='run-{run.pk}-chart']")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-chart-drawn", "1")  # Chart.js drew the canvas
    expect(page.locator("#result-table tbody tr")).to_have_count(7)
    expect(page.locator("#result-table thead")).to_contain_text("Revenue")

    with page.expect_download() as info:
        page.locator("#download-xlsx").click()
    download = info.value
    assert download.suggested_filename == f"sales-{world.shop.pk}-{run.pk}.xlsx"
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read()))["report"]  # noqa: SIM115
    assert len(sheet._charts) == 1
    header = [c.value for c in sheet[1]]
    assert "Revenue" in header and "Cost of goods" in header and sheet.max_row == 8

    # axe is injected inline: a context past the CSP.
    found = {}
    context = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US")
    checker = context.new_page()
    try:
        log_in(checker, world.shop.owner.username)
        for path in ("", "?type=sales", f"runs/{run.pk}/", "runs/", "runs/?status=done"):
            checker.goto(f"/shops/{world.shop.pk}/analytics/reports/{path}")
            checker.add_script_tag(path=str(AXE))
            found[path or "reports"] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
    finally:
        context.close()
    problems = {name: v for name, v in found.items() if v}
    assert not problems, json.dumps(problems, indent=1)
