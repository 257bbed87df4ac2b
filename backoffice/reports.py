"""Report types, contributed by each domain app; the analytics app runs them.

An app ships ``<app>/reports.py`` with ``REPORT_TYPES: list[ReportType]`` (as it ships ``dashboard.py`` with
its cards). The kernel owns the shape and the two rules every report obeys, so no report can forget them:

- **who may run it**: ``analytics.view`` plus the type's own ``actions`` (``orders.view`` for sales, ...);
- **which columns a member sees**: a column that ``requires`` an action (cost and margin need
  ``catalog.view_cost``, buyer data ``orders.view_buyer_contact``, ledger money ``payouts.view``) is left out
  of the result for a member without it, so a file rendered for them never carries it.

The rows come from ``ReportType.build(actor, params, progress)``: it reads through the app's selectors with
``restrict``, so a member limited to some categories or warehouses gets only those rows. Parameters are
validated here (``clean_params``) with messages naming the field: an unknown grouping, a period over the
type's limit or ending before it starts is a 400, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, require
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.parsing import parse_ids, parse_int
from backoffice.plugins import app_modules

MAX_PERIOD_DAYS = 731  # two years: a longer period is a 400 (the rollups still answer, but no one reads it)


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation
    # text | int | money | decimal | percent | date; money/decimal values are Decimal, never float
    kind: str = "text"
    requires: str | None = None  # the action a member needs to see this column


@dataclass(frozen=True)
class Param:
    """``kind``: ``date`` (YYYY-MM-DD), ``choice`` (one of ``choices``), ``int`` (``minimum``..``maximum``),
    ``ids`` (a list of ids, e.g. categories; the build checks them against the actor's scope)."""

    key: str
    label: Any
    kind: str
    required: bool = False
    default: Any = None
    choices: Sequence[tuple[str, Any]] = ()
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Chart:
    """How the result is drawn: ``x`` is a column key, ``series`` the column keys plotted against it."""

    x: str
    series: Sequence[str]
    kind: str = "line"  # line | bar


@dataclass
class ReportResult:
    columns: list[Column]
    rows: Iterable[Sequence[Any]]  # one value per column, in ``columns`` order (may be a generator)
    chart: Chart | None = None


Progress = Callable[[int], None]  # percent done, 0..100


@dataclass(frozen=True)
class ReportType:
    key: str
    label: Any
    description: Any
    columns: Sequence[Column]
    # build(actor, params, progress) yields rows with one value per column of ``columns`` (all of them:
    # ``render`` drops the ones the actor may not see).
    build: Callable[[Actor, Mapping[str, Any], Progress], Iterable[Sequence[Any]]]
    params: Sequence[Param] = ()
    actions: Sequence[str] = ()  # needed besides analytics.view
    chart: Chart | None = None
    # Period params (date_from/date_to) and their longest span; None = the report has no period.
    max_period_days: int | None = MAX_PERIOD_DAYS
    app: str = field(default="", compare=False)


@cache
def _registry() -> dict[str, ReportType]:
    found: dict[str, ReportType] = {}
    for module in app_modules("reports"):
        app = module.__name__.split(".")[0]
        for report_type in module.REPORT_TYPES:
            if report_type.key in found:
                raise ValueError(f"report type {report_type.key!r} is declared twice ({app})")
            found[report_type.key] = report_type
    return found


def report_types() -> list[ReportType]:
    return list(_registry().values())


def report_type(key: str) -> ReportType:
    """The type named ``key``; an unknown name is a 400 naming the field."""
    found = _registry().get(str(key))
    if found is None:
        message = _("Unknown report type.")
        raise ValidationFailed(message, fields={"type": [message]})
    return found


def may_run(actor: Actor, report: ReportType) -> bool:
    return can(actor, "analytics.view") and all(can(actor, action) for action in report.actions)


def available_for(actor: Actor) -> list[ReportType]:
    return [report for report in report_types() if may_run(actor, report)]


def visible_columns(actor: Actor, report: ReportType) -> list[Column]:
    return [column for column in report.columns if column.requires is None or can(actor, column.requires)]


def _fail(key: str, message: str):
    raise ValidationFailed(message, fields={key: [message]})


def _parse_day(value: Any, key: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        _fail(key, _("Use a real date, YYYY-MM-DD."))


def clean_params(report: ReportType, raw: Mapping[str, Any] | None, *, today: date | None = None) -> dict[str, Any]:
    """Validate ``raw`` against the type's params: every error names its field; unknown keys are refused
    (a misspelt filter silently ignored would give a wrong report)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        _fail("params", _("Expected an object of report parameters."))
    declared = {param.key: param for param in report.params}
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        _fail(unknown[0], _("Unknown parameter for this report."))
    cleaned: dict[str, Any] = {}
    for param in report.params:
        value = raw.get(param.key)
        if value in (None, "", []):
            if param.required and param.default is None:
                _fail(param.key, _("This parameter is required."))
            cleaned[param.key] = param.default() if callable(param.default) else param.default
            continue
        if param.kind == "date":
            cleaned[param.key] = _parse_day(value, param.key)
        elif param.kind == "choice":
            allowed = [str(choice) for choice, _label in param.choices]
            if str(value) not in allowed:
                _fail(param.key, _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
            cleaned[param.key] = str(value)
        elif param.kind == "int":
            cleaned[param.key] = parse_int(value, param.key, minimum=param.minimum, maximum=param.maximum)
        elif param.kind == "ids":
            cleaned[param.key] = parse_ids(value if isinstance(value, list) else [value], param.key)
        else:  # pragma: no cover - a declaration error, caught by the registry test
            raise ValueError(f"unknown param kind {param.kind!r}")
    if report.max_period_days is not None and "date_from" in declared and "date_to" in declared:
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                _fail("date_to", _("The end of the period is before its start."))
            if (end - start) > timedelta(days=report.max_period_days):
                _fail("date_to", _("The period may be at most %(days)s days.") % {"days": report.max_period_days})
    return cleaned


def render(
    actor: Actor, report: ReportType, params: Mapping[str, Any], progress: Progress | None = None
) -> ReportResult:
    """The report as ``actor`` may see it, now: their actions, their scopes (applied by ``build``), their
    columns. ``params`` must come from ``clean_params``."""
    require(actor, "analytics.view")
    for action in report.actions:
        if not can(actor, action):
            raise Forbidden(_("You may not run this report."), code="forbidden")
    columns = visible_columns(actor, report)
    keep = [i for i, column in enumerate(report.columns) if column in columns]
    everything = len(keep) == len(report.columns)
    rows = report.build(actor, params, progress or (lambda _percent: None))
    if not everything:
        rows = ([row[i] for i in keep] for row in rows)
    chart = report.chart
    if chart is not None:
        shown = {column.key for column in columns}
        series = [key for key in chart.series if key in shown]
        chart = Chart(x=chart.x, series=series, kind=chart.kind) if chart.x in shown and series else None
    return ReportResult(columns=columns, rows=rows, chart=chart)
