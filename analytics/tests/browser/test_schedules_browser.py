"""Report schedules in a real browser: the owner opens the schedules page, creates a weekly sales schedule for a
viewer (the report, its grouping, the day, the local time, the recipient ticked), lands on its page and finds it
in the list; axe-core finds nothing on the list, the form, the schedule's page and the pause confirmation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from analytics.models import ReportSchedule
from tests.browser.conftest import base_url, browser_context_args, browser_type_launch_args, login  # noqa: F401
from tests.browser.test_accessibility_browser import AXE, DANGLING, RUN_AXE, log_in
from tests.fixtures import make_member, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_schedule_and_see_it_listed(page: Page, browser, live_server, login):  # noqa: F811
    shop = make_shop()
    viewer = make_member(shop, "viewer")
    login(page, shop.owner)
    page.goto(f"/shops/{shop.pk}/analytics/schedules/")
    expect(page.locator("#schedules-table")).to_contain_text("No report schedules yet.")
    page.locator("#new-schedule").click()
    page.locator("#schedule-type").select_option("sales")
    expect(page).to_have_url(re.compile(r"type=sales"))
    form = page.locator("#schedule-form")
    form.get_by_label("Frequency").select_option("weekly")
    form.get_by_label("Day of the week (weekly)").select_option(label="Friday")
    form.get_by_label("Time (shop's time zone)").fill("07:45")
    form.get_by_label("Group by").select_option("week")
    form.get_by_label(viewer.user.username).check()
    page.locator("#save-schedule").click()

    expect(page).to_have_url(re.compile(r"/analytics/schedules/\d+/$"))
    expect(page.locator("#schedule-summary")).to_contain_text(viewer.user.username)
    schedule = ReportSchedule.objects.for_shop(shop).get()
    assert (schedule.frequency, schedule.weekday, schedule.time_of_day.strftime("%H:%M")) == ("weekly", 4, "07:45")
    assert schedule.params["group_by"] == "week" and schedule.next_run_at is not None
    page.goto(f"/shops/{shop.pk}/analytics/schedules/")
    row = page.locator(f"tr[data-schedule='{schedule.pk}']")
    expect(row).to_contain_text("Sales")
    expect(row).to_contain_text(viewer.user.username)
    expect(row).to_contain_text("Active")

    # axe is injected inline: a context past the CSP.
    found = {}
    context = browser.new_context(bypass_csp=True, base_url=live_server.url, locale="en-US")
    checker = context.new_page()
    try:
        log_in(checker, shop.owner.username)
        for path in ("", "new/?type=sales", f"{schedule.pk}/", f"{schedule.pk}/edit/", f"{schedule.pk}/pause/"):
            checker.goto(f"/shops/{shop.pk}/analytics/schedules/{path}")
            checker.add_script_tag(path=str(AXE))
            found[path or "list"] = checker.evaluate(RUN_AXE) + checker.evaluate(DANGLING)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
