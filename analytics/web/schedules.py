"""The report schedule pages (``shops/<shop>/analytics/schedules/…``, ``analytics.manage_schedules``): the list, the
create and edit form (the report and its parameters, the frequency and local time, recipients picked from the
shop's active members), pause and resume (each asks for confirmation), a schedule's page with its run history and
each recipient's delivery; and the download a ``report_ready`` notification links to (``analytics.view``: the run's
report rendered for the member it was sent to, at download time)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from analytics import files
from analytics.models import ReportSchedule
from analytics.services import schedules
from analytics.web.reports import params_form, raw_params
from backoffice import reports
from backoffice.errors import ServiceError, ValidationFailed
from backoffice.forms import apply_service_error
from backoffice.web import ShopPageMixin

MANAGE, VIEW = "analytics.manage_schedules", "analytics.view"
LIST_PAGE = RUNS_PAGE = 20


def _without_period(report: reports.ReportType) -> reports.ReportType:
    """The type as a schedule offers it: its period follows the frequency, so no date fields."""
    return dataclasses.replace(report, params=[p for p in report.params if p.key not in schedules.PERIOD_KEYS])


def _weekdays() -> list[tuple[str, str]]:
    monday = date(2024, 1, 1)  # a Monday
    return [(str(i), date_format(monday + timedelta(days=i), "l")) for i in range(7)]


class ScheduleForm(forms.Form):
    """The schedule's own fields plus the report's parameters (their names are the parameters' keys, so the
    registry's errors land on them). Fields only collect text: the service validates and names the field."""

    frequency = forms.ChoiceField(label=gettext_lazy("Frequency"), choices=ReportSchedule.Frequency.choices)
    time = forms.CharField(label=gettext_lazy("Time (shop's time zone)"), initial="08:00",
                           widget=forms.TimeInput(attrs={"type": "time"}))  # fmt: skip
    weekday = forms.ChoiceField(label=gettext_lazy("Day of the week (weekly)"), required=False)
    day_of_month = forms.IntegerField(label=gettext_lazy("Day of the month (monthly)"), min_value=1, max_value=31,
                                      initial=1, required=False)  # fmt: skip
    file_format = forms.ChoiceField(label=gettext_lazy("File"), choices=ReportSchedule.FileFormat.choices)
    recipients = forms.MultipleChoiceField(label=gettext_lazy("Recipients"), widget=forms.CheckboxSelectMultiple,
                                           required=False)  # fmt: skip

    def __init__(self, *args, report: reports.ReportType, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["weekday"].choices = _weekdays()
        self.fields["recipients"].choices = [(str(m.pk), m.user.get_full_name() or m.user.username) for m in members]
        self.report = _without_period(report)
        for key, field in params_form(self.report).fields.items():
            self.fields[key] = field

    def payload(self) -> dict:
        """What the service takes; the service checks it (``cleaned_data`` is not needed: errors come from it)."""
        data = self.data
        return {
            "type": self.report.key, "params": raw_params(self.report, self), "frequency": data.get("frequency"),
            "time": data.get("time"), "weekday": data.get("weekday"), "day_of_month": data.get("day_of_month"),
            "file_format": data.get("file_format"), "recipients": data.getlist("recipients"),
        }  # fmt: skip


def _initial(schedule: ReportSchedule) -> dict:
    initial = {
        "frequency": schedule.frequency, "time": schedule.time_of_day.strftime("%H:%M"),
        "weekday": str(schedule.weekday), "day_of_month": schedule.day_of_month, "file_format": schedule.file_format,
        "recipients": [str(m.pk) for m in schedule.recipients.all()],
    }  # fmt: skip
    for key, value in (schedule.params or {}).items():
        initial[key] = ", ".join(map(str, value)) if isinstance(value, list) else value
    return initial


def _type_or_none(key: str):
    try:
        return reports.report_type(key)
    except ValidationFailed:
        return None


class ScheduleListView(ShopPageMixin, View):
    required_action = MANAGE

    def get(self, request, shop):
        page = Paginator(schedules.schedule_list(actor=self.actor), LIST_PAGE).get_page(request.GET.get("page"))
        labels = {r.key: r.label for r in reports.report_types()}
        rows = [{"schedule": s, "label": labels.get(s.report_type, s.report_type)} for s in page]
        return render(request, "analytics/schedules.html", {"rows": rows, "page": page, "querystring": ""})


class _FormView(ShopPageMixin, View):
    required_action = MANAGE

    def _page(self, request, form, schedule=None, status=200):
        return render(request, "analytics/schedule_form.html", {
            "form": form, "schedule": schedule, "report": form.report if form else None,
            "types": reports.available_for(self.actor),
        }, status=status)  # fmt: skip

    def _form(self, report, data=None, initial=None):
        return ScheduleForm(data, initial=initial, report=report, members=schedules.recipient_choices(actor=self.actor))


class ScheduleCreateView(_FormView):
    """GET ``?type=``: the form for that report type; POST: create, then the schedule's page."""

    one_time_post = True

    def refusal_back_url(self) -> str:
        return reverse("analytics:schedules", kwargs={"shop": self.shop.pk})

    def _chosen(self, key):
        available = reports.available_for(self.actor)
        if not key:
            return available[0] if available else None
        report = reports.report_type(key)  # unknown: a 400 naming "type" (the kernel's refusal page)
        return report if reports.may_run(self.actor, report) else None

    def get(self, request, shop):
        report = self._chosen(request.GET.get("type"))
        if report is None:
            return self._page(request, None)
        me = self.actor.membership
        return self._page(request, self._form(report, initial={"recipients": [str(me.pk)] if me else []}))

    def post(self, request, shop):
        report = self._chosen(request.POST.get("type") or "-")
        if report is None:
            raise ServiceError(_("You may not run this report."))
        form = self._form(report, request.POST)
        try:
            schedule = schedules.schedule_create(actor=self.actor, data=form.payload())
        except ValidationFailed as exc:
            apply_service_error(form, exc)
            return self._page(request, form, status=400)
        messages.success(request, _("The schedule was created."))
        return redirect("analytics:schedule_detail", shop=self.shop.pk, pk=schedule.pk)


class ScheduleEditView(_FormView):
    def get(self, request, shop, pk):
        schedule = schedules.schedule_get(actor=self.actor, schedule_id=pk)
        report = reports.report_type(schedule.report_type)
        return self._page(request, self._form(report, initial=_initial(schedule)), schedule)

    def post(self, request, shop, pk):
        schedule = schedules.schedule_get(actor=self.actor, schedule_id=pk)
        report = reports.report_type(schedule.report_type)
        form = self._form(report, request.POST)
        data = form.payload()
        data.pop("type")  # the type of a schedule stays; a new report is a new schedule
        try:
            schedules.schedule_update(actor=self.actor, schedule=schedule, data=data)
        except ValidationFailed as exc:
            apply_service_error(form, exc)
            return self._page(request, form, schedule, status=400)
        messages.success(request, _("The schedule was saved."))
        return redirect("analytics:schedule_detail", shop=self.shop.pk, pk=schedule.pk)


class ScheduleDetailView(ShopPageMixin, View):
    """The schedule and its run history (``?page=``), each run with every recipient's delivery."""

    required_action = MANAGE

    def get(self, request, shop, pk):
        schedule = schedules.schedule_get(actor=self.actor, schedule_id=pk)
        page = Paginator(schedules.schedule_runs(actor=self.actor, schedule=schedule), RUNS_PAGE).get_page(
            request.GET.get("page")
        )
        report = _type_or_none(schedule.report_type)
        return render(request, "analytics/schedule_detail.html", {
            "schedule": schedule, "label": report.label if report else schedule.report_type, "page": page,
            "weekday": dict(_weekdays()).get(str(schedule.weekday)), "querystring": "",
            "reasons": _reasons(page),
        })  # fmt: skip


def _reason_text(reason: str) -> str:
    if reason == "deactivated":
        return _("Deactivated")
    if reason.startswith("lost "):
        return _("Lost %(action)s") % {"action": reason[5:]}
    if reason.startswith("lacks "):
        return _("Lacks %(action)s") % {"action": reason[6:]}
    return reason


def _reasons(page) -> dict[int, str]:
    return {d.pk: _reason_text(d.reason) for run in page for d in run.deliveries.all() if d.reason}


class ScheduleToggleView(ShopPageMixin, View):
    """GET: confirm; POST: pause (or resume) the schedule, then its page."""

    required_action = MANAGE
    op = "pause"

    def get(self, request, shop, pk):
        schedule = schedules.schedule_get(actor=self.actor, schedule_id=pk)
        return render(request, "analytics/schedule_confirm.html", {"schedule": schedule, "op": self.op})

    def post(self, request, shop, pk):
        schedule = schedules.schedule_get(actor=self.actor, schedule_id=pk)
        if self.op == "pause":
            schedules.schedule_pause(actor=self.actor, schedule=schedule)  # a refusal: the kernel's 4xx page
            messages.success(request, _("The schedule was paused."))
        else:
            schedules.schedule_resume(actor=self.actor, schedule=schedule)
            messages.success(request, _("The schedule was resumed."))
        return redirect("analytics:schedule_detail", shop=self.shop.pk, pk=schedule.pk)


class ScheduleRunDownloadView(ShopPageMixin, View):
    """A scheduled report for a member it was sent to (``?file_format=csv|xlsx``; the schedule's by default),
    rendered for them now."""

    required_action = VIEW

    def get(self, request, shop, pk):
        download = schedules.schedule_run_download(actor=self.actor, run_id=pk,
                                                   file_format=request.GET.get("file_format"))  # fmt: skip
        return files.response(download.result, file_format=download.file_format,
                              filename_stem=download.filename_stem, title=download.title)  # fmt: skip
