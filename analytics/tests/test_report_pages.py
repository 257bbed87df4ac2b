"""The reports pages: pick a type, fill its parameters, run; the run's page (progress, chart, table pages,
downloads only with ``analytics.export``); the run history (filters, pages); the nav entry; bad input is a form
error or a 400 naming the field, never a 500."""

from __future__ import annotations

import re

import pytest

from analytics.models import ReportRun
from analytics.tests.test_runs import RUNS_TYPE, runs_report  # noqa: F401
from tests.fixtures import web_client_for

# The tests' report type (analytics/tests/test_runs.py) is registered for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_report")]


def base(shop) -> str:
    return f"/shops/{shop.pk}/analytics/reports/"


FORM = {"type": RUNS_TYPE.key, "date_from": "2026-03-01", "date_to": "2026-03-31", "group_by": "day", "rows": "120"}


def test_run_a_report_from_the_page_and_read_its_result(shop, members,
                                                        django_capture_on_commit_callbacks):  # fmt: skip
    client = web_client_for(shop.owner)
    page = client.get(base(shop), {"type": RUNS_TYPE.key})
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("date_from", "date_to", "group_by", "rows", "mode"):
        assert f'name="{field}"' in html
    assert 'type="date"' in html and 'id="run-report"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(base(shop), FORM)
    run = ReportRun.objects.for_shop(shop).get()
    assert response.status_code == 302 and response["Location"] == f"{base(shop)}runs/{run.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert 'data-status="done"' in detail and 'value="100"' in detail
    assert f'data-chart="run-{run.pk}-chart"' in detail and "chart.umd.min.js" in detail
    assert 'id="download-xlsx"' in detail and "file_format=xlsx" in detail
    table = detail.split('id="result-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") - 1 == 50  # the first page of rows (header row aside)
    assert detail.split(f'id="run-{run.pk}-chart-table"', 1)[1].count("<tr>") >= 121  # the chart: every kept row
    assert "hx-trigger" not in detail  # finished: no more polling
    second = client.get(response["Location"], {"page": 3}).content.decode()
    assert "item 100" in second and "item 99" not in second
    csv_file = client.get(f"{response['Location']}download/", {"file_format": "csv"})
    assert csv_file.status_code == 200 and b"".join(csv_file.streaming_content).count(b"\n") == 121
    # The viewer sees the run without cost and without downloads (no analytics.export).
    viewer = web_client_for(members["viewer"].user).get(response["Location"]).content.decode()
    assert 'data-column="cost"' not in viewer and 'data-column="revenue"' in viewer
    assert "download-xlsx" not in viewer


def test_a_pending_run_page_polls_its_progress(shop):
    client = web_client_for(shop.owner)
    client.post(base(shop), FORM)  # not executed: pending
    run = ReportRun.objects.for_shop(shop).get()
    html = client.get(f"{base(shop)}runs/{run.pk}/").content.decode()
    assert 'data-status="pending"' in html and 'hx-trigger="every 1s"' in html and 'id="run-progress"' in html
    assert "download-csv" not in html


def test_bad_parameters_are_form_errors(shop):
    client = web_client_for(shop.owner)
    response = client.post(base(shop), {**FORM, "date_from": "2016-01-01", "date_to": "2026-01-01"})
    assert response.status_code == 400
    assert re.search(r'id="field-date_to"[^>]*>', response.content.decode())
    assert 'class="field has-error" id="field-date_to"' in response.content.decode()
    response = client.post(base(shop), {**FORM, "group_by": "fortnight"})
    assert response.status_code == 400 and 'class="field has-error" id="field-group_by"' in response.content.decode()
    assert client.post(base(shop), {**FORM, "type": "nope"}).status_code == 400
    assert client.get(base(shop), {"type": "nope"}).status_code == 400
    assert not ReportRun.objects.for_shop(shop).exists()


def test_run_history_filters_and_pages(shop, members, django_capture_on_commit_callbacks, settings):
    settings.ANALYTICS_MAX_ACTIVE_RUNS = 100
    client = web_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        for _n in range(21):
            client.post(base(shop), FORM)
        client.post(base(shop), {**FORM, "mode": "soft_limit"})
    history = client.get(f"{base(shop)}runs/")
    assert history.status_code == 200 and history.content.decode().count("data-run=") == 20
    assert "Page 1 of 2" in history.content.decode()
    failed = client.get(f"{base(shop)}runs/", {"status": "failed"}).content.decode()
    assert failed.count("data-run=") == 1 and 'data-status="failed"' in failed
    bad = client.get(f"{base(shop)}runs/", {"status": "nope"})
    assert bad.status_code == 302  # back to the unfiltered list, saying which filter was wrong
    assert "status" in client.get(bad["Location"]).content.decode()


def test_nav_and_access(shop, members):
    operator = web_client_for(members["operator"].user).get(base(shop)).content.decode()
    assert 'data-nav="analytics-reports"' in operator and 'data-nav="analytics-schedules"' not in operator
    finance = web_client_for(members["finance"].user).get(base(shop)).content.decode()
    assert 'data-nav="analytics-schedules"' in finance  # finance may manage schedules
    support = web_client_for(members["support"].user)
    assert 'data-nav="analytics-reports"' not in support.get(f"/shops/{shop.pk}/orders/").content.decode()
    assert support.get(base(shop)).status_code == 403
    assert support.get(f"{base(shop)}runs/").status_code == 403


def test_the_cap_and_a_type_the_member_may_not_run_are_refused_in_words(shop, members, settings):
    settings.ANALYTICS_MAX_ACTIVE_RUNS = 1
    client = web_client_for(shop.owner)
    assert client.post(base(shop), FORM).status_code == 302  # pending: holds the shop's one slot
    refused = client.post(base(shop), FORM)
    assert refused.status_code == 409 and b'id="refusal"' in refused.content
    viewer = web_client_for(members["viewer"].user)
    assert viewer.post(base(shop), {"type": "runs_ledger_test"}).status_code == 403  # needs payouts.view
    assert ReportRun.objects.for_shop(shop).count() == 1
