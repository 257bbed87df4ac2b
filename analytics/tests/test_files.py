"""Report files: the XLSX carries a native chart over the data cells and typed cells, both formats escape text a
spreadsheet would run as a formula, and a download is checked and rendered for the downloader at download time
(lost ``analytics.export`` → 403; lost ``catalog.view_cost`` → no cost column; bad ``file_format`` → 400)."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from accounts import services as accounts
from analytics import files
from analytics.models import ReportRun
from analytics.tests.test_runs import RUNS_TYPE, body, runs_report, start, url  # noqa: F401
from backoffice.authz import load_actor
from backoffice.reports import clean_params, render
from tests.fixtures import api_client_for, make_member, owner_actor, web_client_for

# The tests' report type (analytics/tests/test_runs.py) is registered for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_report")]


def _result(actor, **params):
    return render(actor, RUNS_TYPE, clean_params(RUNS_TYPE, body(**params)["params"]))


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_xlsx_has_a_native_chart_over_the_data_and_typed_cells(shop):
    out = io.BytesIO()
    assert files.write_xlsx(_result(owner_actor(shop), rows=40), out, title="Runs test") == 40
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        chart_xml = archive.read("xl/charts/chart1.xml").decode()
    assert "<lineChart>" in chart_xml and "Runs test" in chart_xml
    # The series reference the sheet's cells (revenue and cost, titled by their headers), the categories the days.
    for ref in ("'report'!C1", "'report'!$C$2:$C$41", "'report'!D1", "'report'!$D$2:$D$41", "'report'!$A$2:$A$41"):
        assert f"<f>{ref}</f>" in chart_xml, ref
    sheet = load_workbook(io.BytesIO(out.getvalue()))["report"]
    assert len(sheet._charts) == 1
    assert [c.value for c in sheet[1]] == ["Day", "Item", "Revenue", "Cost", "Units"]
    assert sheet["C3"].value == Decimal("1.5") or sheet["C3"].value == 1.5
    assert sheet["C3"].number_format == "#,##0.00" and sheet["A3"].is_date and sheet["E3"].value == 1


def test_a_result_without_a_chart_gets_none(shop, members):
    viewer = load_actor(members["viewer"].user, shop)
    result = _result(viewer, rows=3)
    result.chart = None
    out = io.BytesIO()
    files.write_xlsx(result, out)
    assert "xl/charts/chart1.xml" not in zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()


def test_cells_cannot_run_as_formulas(shop):
    out = io.BytesIO()
    assert files.write_csv(_result(owner_actor(shop), rows=2), out) == 2
    rows = _csv(out.getvalue())
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    sheet = load_workbook(io.BytesIO(files.xlsx_bytes(_result(owner_actor(shop), rows=2))))["report"]
    assert sheet["B2"].value == '\'=HYPERLINK("http://evil")' and sheet["B2"].data_type == "s"


def _analyst(shop):
    role = accounts.role_create(actor=owner_actor(shop), name="Analyst",
                                permissions=["analytics.view", "analytics.export", "catalog.view_cost"])  # fmt: skip
    member = make_member(shop, "viewer")
    accounts.staff_update(actor=owner_actor(shop), membership=member, role=role)
    return role, member


def test_download_is_checked_and_rendered_at_download_time(shop, members,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    run = start(api_client_for(shop.owner), shop, django_capture_on_commit_callbacks, rows=1200)
    role, analyst = _analyst(shop)
    client = api_client_for(analyst.user)
    response = client.get(url(shop, run["id"], "download"), {"file_format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(b"".join(response.streaming_content))
    assert rows[0] == ["Day", "Item", "Revenue", "Cost", "Units"] and len(rows) == 1201  # every row, not the 1,000
    # Lost catalog.view_cost since the run: the file has no cost column.
    accounts.role_update(actor=owner_actor(shop), role=role,
                         permissions=["analytics.view", "analytics.export"])  # fmt: skip
    response = client.get(url(shop, run["id"], "download"), {"file_format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["report"]
    assert [c.value for c in sheet[1]] == ["Day", "Item", "Revenue", "Units"]
    assert sheet.max_row == 1201 and len(sheet._charts) == 1
    # Lost analytics.export: 403, API and page.
    accounts.role_update(actor=owner_actor(shop), role=role, permissions=["analytics.view"])
    assert client.get(url(shop, run["id"], "download"), {"file_format": "csv"}).status_code == 403
    page = web_client_for(analyst.user).get(f"/shops/{shop.pk}/analytics/reports/runs/{run['id']}/download/",
                                            {"file_format": "csv"})  # fmt: skip
    assert page.status_code == 403


def test_download_input_errors(shop, members):
    owner = api_client_for(shop.owner)
    pending = owner.post(url(shop), body(), format="json").json()  # never executed: still pending
    assert owner.get(url(shop, pending["id"], "download"), {"file_format": "csv"}).status_code == 409
    ReportRun.objects.for_shop(shop).filter(pk=pending["id"]).update(status="done")
    for value in (" ", "pdf", "CSVX"):
        response = owner.get(url(shop, pending["id"], "download"), {"file_format": value})
        assert response.status_code == 400 and "file_format" in response.json()["error"]["fields"]
    assert owner.get(url(shop, 999999, "download"), {"file_format": "csv"}).status_code == 404
    # A viewer may not export at all.
    viewer = api_client_for(members["viewer"].user)
    assert viewer.get(url(shop, pending["id"], "download"), {"file_format": "csv"}).status_code == 403
    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/analytics/reports/runs/{pending['id']}/download/",
                                          {"file_format": "pdf"})  # fmt: skip
    assert page.status_code == 400 and b"file_format" in page.content


def test_a_scoped_member_cannot_download_a_wider_run(shop, django_capture_on_commit_callbacks):
    """The kernel's job rule: a member limited to some categories does not see (or download) a run started by
    an unlimited member."""
    from catalog import services as catalog

    category = catalog.category_create(actor=owner_actor(shop), name="Shoes")
    finance = make_member(shop, "finance", scopes={"category": [category.pk]})
    run = start(api_client_for(shop.owner), shop, django_capture_on_commit_callbacks)
    client = api_client_for(finance.user)
    assert client.get(url(shop, run["id"], "download"), {"file_format": "csv"}).status_code == 404
    assert run["id"] not in [r["id"] for r in client.get(url(shop)).json()["results"]]
    own = start(client, shop, django_capture_on_commit_callbacks)
    assert client.get(url(shop, own["id"], "download"), {"file_format": "csv"}).status_code == 200
