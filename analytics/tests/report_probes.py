"""Probe rows for the report runs (analytics/api/reports.py, analytics/web/reports.py); see
analytics/tests/probes.py. The world holds one finished run, started by the owner (not limited by scope, so every
member holding analytics.view sees it), of a report type every such role may run."""

from __future__ import annotations

from analytics.models import ReportRun
from analytics.services import runs
from backoffice import reports
from backoffice.authz import system_actor
from tests.fixtures import owner_actor, wait_until
from tests.shop_routes import Probe, count_of

VIEW, EXPORT = "analytics.view", "analytics.export"


def probe_type() -> str:
    """``sales`` once it is registered; until then ``orders_funnel`` (both need only orders.view, which every
    role holding analytics.view has)."""
    return "sales" if "sales" in reports._registry() else "orders_funnel"


def extend_world(world) -> None:
    shop = world.shop
    run = runs.report_run_create(actor=owner_actor(shop), report_type=probe_type(), params={})
    # Run here whether or not the on-commit enqueue already ran it (inside a transaction it has not): idempotent.
    done = runs.report_run_execute(actor=system_actor(shop), run_id=run.pk)
    # Outside a transaction (the embedded-default test builds this world on SQLite) the on-commit enqueue may
    # already run it on the in-process job pool: then this call leaves it to that thread; wait for it.
    wait_until(lambda: done.refresh_from_db() or done.is_finished)
    world.objects["report_run"] = done
    assert done.status == ReportRun.Status.DONE, done.message


def snapshot(shop) -> dict:
    return {"report_runs": list(ReportRun.objects.for_shop(shop).order_by("id").values_list("id", "status"))}


def _run(w) -> dict:
    return {"pk": w.objects["report_run"].pk}


API = "api:analytics_api:"
UI = "analytics:"
PROBES: list[Probe] = [
    # REST API
    Probe(API + "reports-list", "get", VIEW, 200),
    Probe(API + "reports-list", "post", VIEW, 201, body=lambda w: {"type": probe_type(), "params": {}},
          effect=count_of(ReportRun)),
    Probe(API + "reports-detail", "get", VIEW, 200, kwargs=_run),
    Probe(API + "reports-download", "get", EXPORT, 200, kwargs=_run, body=lambda w: {"file_format": "csv"}),
    Probe(API + "report-types-list", "get", VIEW, 200),
    # Pages
    Probe(UI + "reports", "get", VIEW, 200, api=False),
    Probe(UI + "reports", "post", VIEW, 302, api=False, body=lambda w: {"type": probe_type()},
          effect=count_of(ReportRun)),
    Probe(UI + "report_runs", "get", VIEW, 200, api=False),
    Probe(UI + "report_run", "get", VIEW, 200, api=False, kwargs=_run),
    Probe(UI + "report_run_download", "get", EXPORT, 200, api=False, kwargs=_run),
]  # fmt: skip
