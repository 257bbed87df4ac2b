"""The reports pages (``shops/<shop>/analytics/reports/…``): pick a report type and its parameters and run it; a
run's page (its progress bar polls the run; then its chart, its table a page at a time, the downloads); the run
history (filters, pages); the download, rendered for the member at download time (``analytics.services.runs``)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from analytics import files
from analytics.models import ReportRun
from analytics.services import runs
from backoffice import reports
from backoffice.authz import can
from backoffice.charts import chart
from backoffice.errors import Forbidden, ServiceError, ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.web import ShopPageMixin, same_site_referer

VIEW, EXPORT = "analytics.view", "analytics.export"
RUNS_PAGE = 20
ROWS_PAGE = 50


def _default(param: reports.Param):
    value = param.default() if callable(param.default) else param.default
    return runs.json_value(value)


def params_form(report: reports.ReportType, data=None) -> forms.Form:
    """A form of the type's parameters. Its fields only collect text: the registry checks it
    (``clean_params``), so the page says what the API says, on the field it names."""
    fields: dict[str, forms.Field] = {}
    for param in report.params:
        default = _default(param)
        attrs = {"required": True} if param.required and default is None else {}
        if param.kind == "date":
            widget = forms.DateInput(attrs={**attrs, "type": "date"})
        elif param.kind == "choice":
            widget = forms.Select(attrs=attrs, choices=[(str(v), label) for v, label in param.choices])
        elif param.kind == "int":
            widget = forms.NumberInput(attrs={**attrs, "min": param.minimum, "max": param.maximum})
        else:
            widget = forms.TextInput(attrs=attrs)
        help_text = gettext_lazy("Ids, separated by commas.") if param.kind == "ids" else ""
        if isinstance(default, list):
            default = ", ".join(map(str, default))
        fields[param.key] = forms.CharField(label=param.label, required=False, widget=widget, initial=default,
                                            help_text=help_text)  # fmt: skip
    form_class = type("ReportParamsForm", (forms.Form,), fields)
    return form_class(data)


def raw_params(report: reports.ReportType, form: forms.Form) -> dict:
    """What the member typed, as ``clean_params`` takes it (ids split at commas)."""
    raw = {}
    for param in report.params:
        value = str(form.data.get(param.key, "")).strip()
        if not value:
            continue
        raw[param.key] = [v.strip() for v in value.split(",") if v.strip()] if param.kind == "ids" else value
    return raw


def _refusal(request, exc: ServiceError, back: str):
    named = [f"{field}: {' '.join(map(str, problems))}" for field, problems in (exc.fields or {}).items()]
    status = getattr(exc, "status_code", 400)
    context = {"message": exc.message, "fields": named, "back": same_site_referer(request) or back}
    return render(request, "400.html", context, status=status)


class ReportsView(ShopPageMixin, View):
    """GET: the types the member may run (``?type=`` picks one) and the form of its parameters. POST: run it
    (``type`` and the parameters), then its page."""

    required_action = VIEW
    one_time_post = True  # the POST starts a report run

    def refusal_back_url(self) -> str:
        return reverse("analytics:reports", kwargs={"shop": self.shop.pk})

    def _page(self, request, report, form, status=200):
        recent = runs.report_run_list(actor=self.actor)[:5]
        return render(request, "analytics/reports.html", {
            "types": reports.available_for(self.actor), "report": report, "form": form, "recent": recent,
            "labels": {r.key: r.label for r in reports.report_types()},
        }, status=status)  # fmt: skip

    def _chosen(self, key: str | None):
        available = reports.available_for(self.actor)
        if not available:
            return None
        if not key:
            return available[0]
        report = reports.report_type(key)  # unknown: a 400 naming "type"
        if not reports.may_run(self.actor, report):
            return None
        return report

    def get(self, request, shop):
        try:
            report = self._chosen(request.GET.get("type"))
        except ValidationFailed as exc:
            return _refusal(request, exc, self.refusal_back_url())
        return self._page(request, report, params_form(report) if report else None)

    def post(self, request, shop):
        try:
            report = self._chosen(request.POST.get("type") or "-")
        except ValidationFailed as exc:
            return _refusal(request, exc, self.refusal_back_url())
        if report is None:
            return _refusal(request, Forbidden(_("You may not run this report.")), self.refusal_back_url())
        form = params_form(report, request.POST)
        try:
            run = runs.report_run_create(actor=self.actor, report_type=report.key, params=raw_params(report, form))
        except ValidationFailed as exc:
            apply_service_error(form, exc)
            return self._page(request, report, form, status=400)
        return redirect("analytics:report_run", shop=self.shop.pk, pk=run.pk)


def _params_text(run: ReportRun, report: reports.ReportType | None) -> str:
    labels = {p.key: p.label for p in report.params} if report else {}
    parts = []
    for key, value in (run.params or {}).items():
        if value in (None, "", []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"{labels.get(key, key)}: {shown}")
    return "; ".join(parts)


def _type_or_none(key: str):
    try:
        return reports.report_type(key)
    except ValidationFailed:
        return None


class RunDetailView(ShopPageMixin, View):
    """A run: its progress (polled while it runs), then its chart and table (``?page=`` pages the kept rows)
    and, for members who may export, its downloads."""

    required_action = VIEW

    def get(self, request, shop, pk):
        run = runs.report_run_get(actor=self.actor, run_id=pk)
        report = _type_or_none(run.report_type)
        result = runs.report_run_result(actor=self.actor, run=run)
        page = drawn = None
        if result is not None:
            page = Paginator(result.rows, ROWS_PAGE).get_page(request.GET.get("page"))
            drawn = _chart(run, report, result)
        return render(request, "analytics/report_run.html", {
            "run": run, "report": report, "params_text": _params_text(run, report), "result": result,
            "page": page, "chart": drawn, "may_export": can(self.actor, EXPORT), "querystring": "",
        })  # fmt: skip


def _chart(run: ReportRun, report, result: runs.RunResult):
    if result.chart is None or not result.rows:
        return None
    keys = [column.key for column in result.columns]
    x = keys.index(result.chart.x)
    series = [{"label": result.columns[keys.index(key)].label, "values": [row[keys.index(key)] for row in result.rows]}
              for key in result.chart.series]  # fmt: skip
    return chart(id=f"run-{run.pk}-chart", title=str(report.label) if report else run.report_type,
                 labels=[row[x] for row in result.rows], series=series, kind=result.chart.kind,
                 label_heading=str(result.columns[x].label))  # fmt: skip


class RunListView(ShopPageMixin, View):
    """The run history: ``?type=``, ``?status=`` (a bad one is a message, the list unfiltered), ``?page=``."""

    required_action = VIEW

    def get(self, request, shop):
        filters = {key: request.GET.get(key) for key in ("type", "status") if request.GET.get(key)}
        qs = runs.report_run_list(actor=self.actor, filters=filters)  # a bad filter: ShopPageMixin's message
        page = Paginator(qs, RUNS_PAGE).get_page(request.GET.get("page"))
        rows = []
        for run in page:
            report = _type_or_none(run.report_type)
            rows.append({"run": run, "label": report.label if report else run.report_type,
                         "params": _params_text(run, report)})  # fmt: skip
        return render(request, "analytics/report_runs.html", {
            "rows": rows, "page": page, "filters": filters, "types": reports.available_for(self.actor),
            "statuses": ReportRun.Status.choices, "querystring": urlencode(filters),
            "busy": any(not row["run"].is_finished for row in rows),
        })  # fmt: skip


class RunDownloadView(ShopPageMixin, View):
    """``?file_format=csv|xlsx``: the run's report rendered for the member now (``analytics.export``)."""

    required_action = EXPORT

    def get(self, request, shop, pk):
        back = reverse("analytics:report_run", kwargs={"shop": self.shop.pk, "pk": pk})
        try:
            download = runs.report_run_download(actor=self.actor, run_id=pk,
                                                file_format=request.GET.get("file_format"))  # fmt: skip
        except ServiceError as exc:
            return _refusal(request, exc, back)
        return files.response(download.result, file_format=download.file_format,
                              filename_stem=download.filename_stem, title=download.title)  # fmt: skip
