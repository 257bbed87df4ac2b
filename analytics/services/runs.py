"""Report runs (``analytics.models.ReportRun``): a member asks for a report (``report_run_create``), a worker runs
it (``report_run_execute``, the ``analytics.tasks.report_run`` task) with the member's permissions and scopes as
they are at that moment, and the page and the API show its progress and result; a download renders it again for
the member who downloads (``report_run_download``), with what they may see then.

Also the reads of runs (``report_run_list``, ``report_run_get``, ``report_run_result``): the kernel's job rule
(``restrict``) narrowed to the report types the reader may run, so a run of a payouts report is never shown to a
member without ``payouts.view``, and its columns to the reader's current columns (no cost for a member without
``catalog.view_cost``, whoever started it).

Limits: at most ``ANALYTICS_MAX_ACTIVE_RUNS`` runs pending or running per shop (409 ``too_many_runs``); a run is
stopped after ``ANALYTICS_REPORT_SOFT_TIME_LIMIT`` seconds (checked between rows here, and by Celery's soft time
limit in a prefork worker, for a build stuck in one query) and killed at ``ANALYTICS_REPORT_TIME_LIMIT``; a run a
killed worker left ``running`` past that is failed by the next ``report_run_create`` of the shop, so it never holds
a slot of the cap for good.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import files
from analytics.models import ReportRun
from analytics.models.runs import PREVIEW_ROWS
from backoffice import reports
from backoffice.audit import audit_record
from backoffice.authz import Actor, load_actor, require, restrict, tenant_model
from backoffice.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from backoffice.jobs import enqueue, job_claim, job_fields
from backoffice.parsing import parse_id
from backoffice.tenancy.zones import shop_zone

logger = logging.getLogger(__name__)
VIEW, EXPORT = "analytics.view", "analytics.export"
ACTIVE = (ReportRun.Status.PENDING, ReportRun.Status.RUNNING)
# Progress is written at most this often (seconds): a build calling progress() per row must not write per row.
PROGRESS_EVERY = 0.5


class RunTimedOut(Exception):
    """The run went past its soft time limit (raised between rows)."""


def soft_time_limit() -> float:
    return float(getattr(settings, "ANALYTICS_REPORT_SOFT_TIME_LIMIT", 300))


def hard_time_limit() -> float:
    return float(getattr(settings, "ANALYTICS_REPORT_TIME_LIMIT", 330))


def max_active_runs() -> int:
    return int(getattr(settings, "ANALYTICS_MAX_ACTIVE_RUNS", 3))


def _stale_after() -> timedelta:
    # A running run silent this long was left by a killed worker (past the hard limit): it may be claimed again.
    return timedelta(seconds=hard_time_limit() + 60)


def json_value(value: Any) -> Any:
    """A cell as JSON: Decimal as its exact text, dates and times as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _stored_params(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    return {key: json_value(value) for key, value in cleaned.items()}


# ---------------------------------------------------------------------------------------------------------------
# writes


def _expire_stuck(shop) -> None:
    """Fail the shop's runs a killed worker left ``running`` past the hard limit (they hold a slot of the cap)."""
    cutoff = timezone.now() - _stale_after()
    ReportRun.objects.for_shop(shop).filter(status=ReportRun.Status.RUNNING, started_at__lt=cutoff).update(
        status=ReportRun.Status.FAILED, finished_at=timezone.now(),
        message=_("The report was stopped: it ran past its time limit."),
    )  # fmt: skip


def report_run_create(*, actor: Actor, report_type: str, params: Mapping[str, Any] | None) -> ReportRun:
    """Queue a run of ``report_type`` with ``params`` for the member. Bad parameters are a 400 naming the field;
    a type the member may not run is a 403; a shop already running its cap of reports is a 409."""
    require(actor, VIEW)
    report = reports.report_type(report_type)
    if not reports.may_run(actor, report):
        raise Forbidden(_("You may not run this report."))
    stored = _stored_params(reports.clean_params(report, params))
    shop = actor.shop
    with transaction.atomic():
        # One creator at a time per shop (the shop row's lock): two requests racing cannot both take the last slot.
        tenant_model().objects.select_for_update().filter(pk=shop.pk).first()
        _expire_stuck(shop)
        active = ReportRun.objects.for_shop(shop).filter(status__in=ACTIVE).count()
        if active >= max_active_runs():
            raise Conflict(
                _("This shop is already running %(n)s reports. Wait until one of them finishes, then try again.")
                % {"n": active},
                code="too_many_runs",
            )
        run = ReportRun.objects.for_shop(shop).create(**job_fields(actor), report_type=report.key, params=stored)
        audit_record(shop=shop, actor=actor, action="report_run.created", target=run,
                     changes={"type": [None, report.key], "params": [None, stored]})  # fmt: skip
        enqueue("analytics.tasks.report_run", shop_id=shop.pk, job_id=run.pk)
    return run


class _Progress:
    """The build's progress callback: written to the run at most every ``PROGRESS_EVERY`` seconds (and only when
    the percent moved), outside any transaction so the polling page sees it; also where the time limit is
    checked between rows."""

    def __init__(self, run: ReportRun, deadline: float):
        self.run_id, self.shop_id, self.deadline = run.pk, run.shop_id, deadline
        self.written, self.written_at = 0, 0.0
        self.writes = 0

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise RunTimedOut

    def __call__(self, percent: int) -> None:
        self.check()
        percent = max(0, min(99, int(percent)))  # 100 is written with the result
        now = time.monotonic()
        if percent > self.written and now - self.written_at >= PROGRESS_EVERY:
            ReportRun.objects.for_shop(self.shop_id).filter(pk=self.run_id).update(progress=percent)
            self.written, self.written_at = percent, now
            self.writes += 1


def _timed_out_message() -> str:
    return _("The report took longer than %(n)s seconds and was stopped. Try a shorter period.") % {
        "n": int(soft_time_limit())
    }


def report_run_execute(*, actor: Actor, run_id: int) -> ReportRun:
    """Run a queued report (the worker passes ``system_actor(shop)``) as the member who started it, with their
    permissions and scopes now: a member who lost ``analytics.view`` (or the type's actions) fails the run with
    the reason. Idempotent: a finished run, or one another worker holds, is left alone."""
    from celery.exceptions import SoftTimeLimitExceeded

    require(actor, VIEW)
    shop = actor.shop
    run = job_claim(ReportRun, shop_id=shop.pk, job_id=run_id, stale_after=_stale_after())
    if run is None:
        return ReportRun.objects.for_shop(shop).get(pk=run_id)
    # The shop's zone, as in a request: the report's days and the times it shows are the shop's.
    with timezone.override(shop_zone(shop)):
        return _execute(run, SoftTimeLimitExceeded)


def _execute(run: ReportRun, soft_limit_error: type[BaseException]) -> ReportRun:
    shop = run.shop
    # Everything after the claim is inside the try: a run this worker holds ends done or failed, never running.
    try:
        progress = _Progress(run, time.monotonic() + soft_time_limit())
        member = load_actor(run.created_by, shop)
        report = reports.report_type(run.report_type)
        if member is None or not reports.may_run(member, report):
            raise Forbidden(_("The member who started this report may no longer run it."))
        result = reports.render(member, report, reports.clean_params(report, run.params), progress)
        kept: list[list[Any]] = []
        count = 0
        for row in result.rows:
            if count % 100 == 0:
                progress.check()
            count += 1
            if count <= PREVIEW_ROWS:
                kept.append([json_value(value) for value in row])
        run.columns, run.rows, run.row_count = [column.key for column in result.columns], kept, count
        run.chart = None
        if result.chart is not None:
            run.chart = {"x": result.chart.x, "series": list(result.chart.series), "kind": result.chart.kind}
        run.status, run.progress, run.message = ReportRun.Status.DONE, 100, ""
    except (RunTimedOut, soft_limit_error):
        run.status, run.message = ReportRun.Status.FAILED, _timed_out_message()[:255]
    except ServiceError as exc:  # the member's access, or a parameter that no longer holds
        run.status = ReportRun.Status.FAILED
        run.message = (_("The report could not be run: %(reason)s") % {"reason": exc.message})[:255]
    except Exception:
        # The details go to the log (they may name internals); the member reads a reason.
        logger.exception("report run %s of shop %s failed", run.pk, shop.pk)
        run.status = ReportRun.Status.FAILED
        run.message = _("The report could not be run because of an internal error. Try again, or ask support.")
    if run.status == ReportRun.Status.FAILED:
        run.columns, run.rows, run.row_count, run.chart = [], [], 0, None
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "progress", "row_count", "columns", "rows", "chart", "finished_at"])
    return run


# ---------------------------------------------------------------------------------------------------------------
# reads


def _choice(value: str, allowed, field: str) -> str:
    if value not in allowed:
        message = _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}
        raise ValidationFailed(message, fields={field: [message]})
    return value


def report_run_list(*, actor: Actor, filters: Mapping[str, Any] | None = None, action: str = VIEW
                    ) -> QuerySet[ReportRun]:  # fmt: skip
    """The runs the member may see (the kernel's job rule), of the report types they may run, newest first.
    ``filters``: ``type`` (a report type key) and ``status``; a bad value is a 400 naming it."""
    qs = restrict(ReportRun.objects.for_shop(actor.shop), actor, action)
    qs = qs.filter(report_type__in=[report.key for report in reports.available_for(actor)])
    filters = filters or {}
    if filters.get("type"):
        qs = qs.filter(report_type=reports.report_type(filters["type"]).key)
    if filters.get("status"):
        qs = qs.filter(status=_choice(str(filters["status"]), ReportRun.Status.values, "status"))
    return qs.select_related("created_by").order_by("-id")


def report_run_get(*, actor: Actor, run_id: Any, action: str = VIEW) -> ReportRun:
    """One run the member may see (404 otherwise, as for another shop's)."""
    run = report_run_list(actor=actor, action=action).filter(pk=parse_id(run_id, "id")).first()
    if run is None:
        raise NotFound(_("Not found."))
    return run


@dataclass
class RunResult:
    """A finished run's kept rows as the reader may see them now."""

    columns: list[reports.Column]
    rows: list[list[Any]]
    chart: reports.Chart | None
    row_count: int
    truncated: bool


def report_run_result(*, actor: Actor, run: ReportRun) -> RunResult | None:
    """The run's kept result, with only the columns the reader may see now (a run started by the owner shows no
    cost column to a viewer); None when the run is not done or its type is gone."""
    if run.status != ReportRun.Status.DONE:
        return None
    try:
        report = reports.report_type(run.report_type)
    except ValidationFailed:
        return None
    visible = {column.key: column for column in reports.visible_columns(actor, report)}
    keep = [(i, visible[key]) for i, key in enumerate(run.columns or []) if key in visible]
    rows = [[row[i] for i, _column in keep] for row in run.rows or []]
    chart = None
    if run.chart:
        shown = {column.key for _i, column in keep}
        series = [key for key in run.chart.get("series", []) if key in shown]
        if run.chart.get("x") in shown and series:
            chart = reports.Chart(x=run.chart["x"], series=series, kind=run.chart.get("kind", "line"))
    return RunResult(columns=[column for _i, column in keep], rows=rows, chart=chart, row_count=run.row_count,
                     truncated=run.truncated)  # fmt: skip


def parse_file_format(value: Any) -> str:
    """``csv`` (also when not given) or ``xlsx``; anything else is a 400 naming ``file_format``."""
    value = str(value or "csv").strip().lower()
    if value not in files.FORMATS:
        message = _("Choose csv or xlsx.")
        raise ValidationFailed(message, fields={"file_format": [message]})
    return value


@dataclass
class Download:
    """What a download writes (``analytics.files.response(**vars(download))``)."""

    result: reports.ReportResult
    file_format: str
    filename_stem: str
    title: str


def report_run_download(*, actor: Actor, run_id: Any, file_format: Any) -> Download:
    """The finished run's report as a file for the member downloading it, checked and rendered NOW: they need
    ``analytics.export``, the right to run the type, and the run visible to them; the file holds the columns
    and rows they may see at this moment (rendered again with the run's parameters; its rows are produced while
    the file is written)."""
    require(actor, EXPORT)
    file_format = parse_file_format(file_format)
    run = report_run_get(actor=actor, run_id=run_id, action=EXPORT)
    if run.status != ReportRun.Status.DONE:
        raise Conflict(_("This report has not finished yet."), code="not_ready")
    report = reports.report_type(run.report_type)
    result = reports.render(actor, report, reports.clean_params(report, run.params))
    return Download(result=result, file_format=file_format, filename_stem=f"{report.key}-{actor.shop.pk}-{run.pk}",
                    title=str(report.label))  # fmt: skip
