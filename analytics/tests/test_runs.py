"""Report runs through the real task (eager Celery, enqueued on commit): progress to 100, the result kept (capped),
the per-shop cap (409), bad parameters (400 naming the field), the starter's access as it is at run time, the time
limit. A small report type of the tests' own (``runs_report``) keeps these apart from the real types."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from accounts.models import Role
from analytics import tasks
from analytics.models import ReportRun
from analytics.services import runs
from backoffice import reports
from backoffice.authz import load_actor
from backoffice.reports import Chart, Column, Param, ReportType
from tests.fixtures import api_client_for, make_member, owner_actor

pytestmark = pytest.mark.django_db
START = date(2026, 3, 1)


def _build(actor, params, progress):
    if params["mode"] == "soft_limit":
        raise SoftTimeLimitExceeded()
    n = params["rows"]
    for i in range(n):
        progress(i * 100 // n)  # every row: the run must throttle its writes
        day = params["date_from"] + timedelta(days=i % 28)
        yield [day, "=HYPERLINK(\"http://evil\")" if i == 0 else f"item {i}", Decimal(i) + Decimal("0.50"),
               Decimal("0.25"), i]  # fmt: skip


RUNS_TYPE = ReportType(
    key="runs_test", label="Runs test", description="A report of the tests' own.",
    columns=[Column("day", "Day", "date"), Column("item", "Item", "text"), Column("revenue", "Revenue", "money"),
             Column("cost", "Cost", "money", requires="catalog.view_cost"), Column("units", "Units", "int")],
    build=_build,
    params=[Param("date_from", "From", "date", required=True), Param("date_to", "To", "date", required=True),
            Param("group_by", "Group by", "choice", default="day", choices=[("day", "Day"), ("week", "Week")]),
            Param("rows", "Rows", "int", default=30, minimum=0, maximum=200_000),
            Param("mode", "Mode", "choice", default="ok", choices=[("ok", "ok"), ("soft_limit", "soft limit")])],
    chart=Chart(x="day", series=["revenue", "cost"], kind="line"),
)  # fmt: skip
LEDGER_TYPE = ReportType(
    key="runs_ledger_test", label="Ledger test", description="Needs payouts.view.", columns=[Column("n", "N", "int")],
    build=lambda actor, params, progress: iter([[1]]), actions=("payouts.view",), max_period_days=None,
)  # fmt: skip


@pytest.fixture
def runs_report():
    """The tests' report types in the registry for the test (and out of it afterwards)."""
    registry = reports._registry()
    registry[RUNS_TYPE.key] = RUNS_TYPE
    registry[LEDGER_TYPE.key] = LEDGER_TYPE
    yield RUNS_TYPE
    registry.pop(RUNS_TYPE.key, None)
    registry.pop(LEDGER_TYPE.key, None)


def body(**params) -> dict:
    return {"type": RUNS_TYPE.key, "params": {"date_from": "2026-03-01", "date_to": "2026-03-31", **params}}


def url(shop, *rest) -> str:
    return "/".join([f"/api/v1/shops/{shop.pk}/reports", *map(str, rest)]) + "/"


def start(client, shop, capture, **params):
    with capture(execute=True):
        response = client.post(url(shop), body(**params), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_run_goes_through_the_task_to_100_with_its_result(shop, members, runs_report,
                                                           django_capture_on_commit_callbacks):  # fmt: skip
    owner = api_client_for(shop.owner)
    created = start(owner, shop, django_capture_on_commit_callbacks, rows=1500)
    assert set(created) >= {"id", "status"}
    data = owner.get(url(shop, created["id"])).json()
    assert (data["status"], data["progress"], data["row_count"]) == ("done", 100, 1500)
    result = data["result"]
    assert [c["key"] for c in result["columns"]] == ["day", "item", "revenue", "cost", "units"]
    # The first 1,000 rows are kept for the page and the API (the download has them all).
    assert len(result["rows"]) == 1000 and result["truncated"] is True
    assert result["rows"][1] == ["2026-03-02", "item 1", "1.50", "0.25", 1]
    assert result["chart"] == {"x": "day", "series": ["revenue", "cost"], "kind": "line"}
    run = ReportRun.objects.for_shop(shop).get(pk=created["id"])
    assert run.params == {"date_from": "2026-03-01", "date_to": "2026-03-31", "group_by": "day", "rows": 1500,
                          "mode": "ok"}  # fmt: skip
    assert run.started_at and run.finished_at and run.created_by == shop.owner
    # A viewer (no catalog.view_cost) sees the owner's run without its cost column, in the result and chart.
    viewer = api_client_for(members["viewer"].user).get(url(shop, created["id"])).json()["result"]
    assert [c["key"] for c in viewer["columns"]] == ["day", "item", "revenue", "units"]
    assert viewer["rows"][1] == ["2026-03-02", "item 1", "1.50", 1]
    assert viewer["chart"]["series"] == ["revenue"]


def test_progress_writes_are_throttled(shop, runs_report):
    run = ReportRun.objects.for_shop(shop).create(shop=shop, created_by=shop.owner, report_type=RUNS_TYPE.key)
    progress = runs._Progress(run, deadline=float("inf"))
    for percent in range(100):
        progress(percent)
    assert progress.writes == 1  # 100 calls within half a second: one write
    run.refresh_from_db()
    assert run.progress == 1  # the first move past 0, then nothing within the half second


def test_list_filters_and_bad_filters(shop, members, runs_report, django_capture_on_commit_callbacks):
    owner = api_client_for(shop.owner)
    first = start(owner, shop, django_capture_on_commit_callbacks)
    start(owner, shop, django_capture_on_commit_callbacks, mode="soft_limit")
    listed = owner.get(url(shop), {"status": "done", "type": RUNS_TYPE.key}).json()["results"]
    assert [r["id"] for r in listed] == [first["id"]]
    assert len(owner.get(url(shop), {"status": "failed"}).json()["results"]) == 1
    for field, value in (("status", "nope"), ("type", "nope")):
        response = owner.get(url(shop), {field: value})
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.content


def test_runs_of_types_the_reader_may_not_run_are_hidden(shop, members, runs_report,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    owner = api_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        ledger = owner.post(url(shop), {"type": LEDGER_TYPE.key, "params": {}}, format="json").json()
    viewer = api_client_for(members["viewer"].user)
    assert ledger["id"] not in [r["id"] for r in viewer.get(url(shop)).json()["results"]]
    assert viewer.get(url(shop, ledger["id"])).status_code == 404
    refused = viewer.post(url(shop), {"type": LEDGER_TYPE.key, "params": {}}, format="json")
    assert refused.status_code == 403
    types = [t["key"] for t in viewer.get(f"/api/v1/shops/{shop.pk}/report-types/").json()]
    assert RUNS_TYPE.key in types and LEDGER_TYPE.key not in types
    finance = api_client_for(members["finance"].user).get(f"/api/v1/shops/{shop.pk}/report-types/").json()
    described = next(t for t in finance if t["key"] == RUNS_TYPE.key)
    assert [p["key"] for p in described["params"]] == ["date_from", "date_to", "group_by", "rows", "mode"]
    assert "cost" in [c["key"] for c in described["columns"]]
    viewer_types = viewer.get(f"/api/v1/shops/{shop.pk}/report-types/").json()
    assert "cost" not in [c["key"] for c in next(t for t in viewer_types if t["key"] == RUNS_TYPE.key)["columns"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "no_such_report", "params": {}}, "type"),
        (body(date_from="2016-01-01", date_to="2026-01-01"), "date_to"),  # ten years
        (body(group_by="fortnight"), "group_by"),
        (body(date_from="2026-03-31", date_to="2026-03-01"), "date_to"),
        (body(date_from="2026-02-30"), "date_from"),
        (body(colour="red"), "colour"),
        ({"type": RUNS_TYPE.key, "params": ["x"]}, "params"),
        ({"params": {}}, "type"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(shop, runs_report, payload, field):
    response = api_client_for(shop.owner).post(url(shop), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not ReportRun.objects.for_shop(shop).exists()


def test_a_shop_runs_at_most_its_cap_of_reports(shop, members, runs_report, settings):
    settings.ANALYTICS_MAX_ACTIVE_RUNS = 3
    owner = api_client_for(shop.owner)
    # Not executed (no on-commit callbacks run inside the test's transaction): they stay pending.
    for _n in range(3):
        assert owner.post(url(shop), body(), format="json").status_code == 201
    refused = api_client_for(members["admin"].user).post(url(shop), body(), format="json")
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"]["code"] == "too_many_runs"
    assert "3" in refused.json()["error"]["message"]
    assert ReportRun.objects.for_shop(shop).count() == 3
    # A run a killed worker left running past the hard limit does not hold its slot for good.
    stuck = ReportRun.objects.for_shop(shop).order_by("id").first()
    ReportRun.objects.for_shop(shop).filter(pk=stuck.pk).update(
        status="running", started_at=stuck.created_at - timedelta(hours=1)
    )
    assert owner.post(url(shop), body(), format="json").status_code == 201
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.message


def test_the_starter_who_lost_analytics_view_gets_a_failed_run(shop, members, runs_report):
    operator = members["operator"]
    run = runs.report_run_create(actor=load_actor(operator.user, shop), report_type=RUNS_TYPE.key,
                                 params=body()["params"])  # fmt: skip
    from accounts import services as accounts

    accounts.staff_update(actor=owner_actor(shop), membership=operator,
                          role=Role.objects.for_shop(shop).get(key="support"))  # fmt: skip
    assert tasks.report_run(shop_id=shop.pk, job_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "may no longer run" in run.message and run.rows == []
    # A redelivery changes nothing.
    assert tasks.report_run(shop_id=shop.pk, job_id=run.pk) == "failed"


def test_runs_use_the_starters_scopes_and_columns_at_run_time(shop, runs_report):
    """A member who may see cost when the run starts but not when it runs gets no cost column."""
    from accounts import services as accounts

    role = accounts.role_create(actor=owner_actor(shop), name="Analyst",
                                permissions=["analytics.view", "analytics.export", "catalog.view_cost"])  # fmt: skip
    analyst = make_member(shop, "viewer")
    accounts.staff_update(actor=owner_actor(shop), membership=analyst, role=role)
    run = runs.report_run_create(actor=load_actor(analyst.user, shop), report_type=RUNS_TYPE.key,
                                 params=body()["params"])  # fmt: skip
    accounts.role_update(actor=owner_actor(shop), role=role, permissions=["analytics.view", "analytics.export"])
    assert tasks.report_run(shop_id=shop.pk, job_id=run.pk) == "done"
    run.refresh_from_db()
    assert run.columns == ["day", "item", "revenue", "units"]


def test_time_limit_ends_the_run_failed(shop, runs_report, settings, django_capture_on_commit_callbacks):
    owner = api_client_for(shop.owner)
    # Celery's soft limit in a prefork worker: SoftTimeLimitExceeded raised inside the build.
    run = start(owner, shop, django_capture_on_commit_callbacks, mode="soft_limit")
    data = owner.get(url(shop, run["id"])).json()
    assert data["status"] == "failed" and "longer than" in data["message"] and data["result"] is None
    # The same limit checked between rows (threads, eager mode: no Celery limit there).
    settings.ANALYTICS_REPORT_SOFT_TIME_LIMIT = 0
    run = start(owner, shop, django_capture_on_commit_callbacks, rows=5000)
    data = owner.get(url(shop, run["id"])).json()
    assert data["status"] == "failed" and "longer than 0 seconds" in data["message"]
    assert tasks.report_run.soft_time_limit and tasks.report_run.time_limit > tasks.report_run.soft_time_limit


def test_an_internal_error_fails_the_run_with_a_reason(shop, runs_report, monkeypatch,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    def broken(actor, params, progress):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setitem(reports._registry(), RUNS_TYPE.key, ReportType(**{**RUNS_TYPE.__dict__, "build": broken}))
    owner = api_client_for(shop.owner)
    run = start(owner, shop, django_capture_on_commit_callbacks)
    data = owner.get(url(shop, run["id"])).json()
    assert data["status"] == "failed" and "internal error" in data["message"] and "boom" not in data["message"]


def test_services_refuse_a_bare_user(shop, runs_report):
    with pytest.raises(TypeError):
        runs.report_run_create(actor=shop.owner, report_type=RUNS_TYPE.key, params={})


@pytest.mark.django_db(transaction=True)
def test_runs_asked_for_at_once_never_exceed_the_cap(runs_report, settings, monkeypatch):
    """Eight members' requests at the same instant, a cap of three: three runs, five 409s. Each winner's run starts
    (eagerly, after its commit) and holds its slot until every refusal is in."""
    from backoffice.errors import Conflict
    from tests.fixtures import make_shop
    from tests.races import race, require_postgresql

    require_postgresql()
    settings.ANALYTICS_MAX_ACTIVE_RUNS = 3
    shop, n = make_shop(), 8
    refused, release = [], threading.Event()

    def held(actor, params, progress):
        release.wait(30)
        yield from _build(actor, params, progress)

    monkeypatch.setitem(reports._registry(), RUNS_TYPE.key, ReportType(**{**RUNS_TYPE.__dict__, "build": held}))

    def ask(i: int):
        try:
            return runs.report_run_create(actor=owner_actor(shop), report_type=RUNS_TYPE.key, params=body()["params"])
        except Conflict as exc:
            refused.append(exc.code)
            if len(refused) == n - 3:
                release.set()
            raise

    results = race(n, ask, expected=(Conflict,))
    assert sum(isinstance(r, ReportRun) for r in results) == 3 and refused == ["too_many_runs"] * 5
    assert list(ReportRun.objects.for_shop(shop).values_list("status", flat=True)) == ["done"] * 3
