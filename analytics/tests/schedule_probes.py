"""Probe rows for report schedules (see analytics/tests/probes.py): the API under ``report-schedules/`` and the
pages under ``analytics/schedules/``. The world holds an active schedule (edited and paused by the probes), a
paused one (resumed), and a run sent to every member of the shop (its history is listed; its download is every
recipient's own, so each role with ``analytics.view`` gets its file)."""

from __future__ import annotations

from django.utils import timezone

from analytics.models import ReportSchedule, ScheduleDelivery, ScheduleRun
from analytics.services import schedules
from tests.fixtures import owner_actor
from tests.shop_routes import Probe, count_of, fields_of

MANAGE, VIEW = "analytics.manage_schedules", "analytics.view"
API, UI = "api:analytics_api:", "analytics:"


def extend_world(world) -> None:
    """An active and a paused schedule of the sales report, and one run of the active one delivered to every
    member (``schedule_active``, ``schedule_paused``, ``schedule_run``)."""
    owner = owner_actor(world.shop)
    members = [m.pk for m in world.members.values()]
    data = {"type": "sales", "params": {"group_by": "day"}, "frequency": "weekly", "recipients": members}
    active = schedules.schedule_create(actor=owner, data=data)
    paused = schedules.schedule_create(actor=owner, data={**data, "frequency": "daily"})
    schedules.schedule_pause(actor=owner, schedule=paused)
    run = ScheduleRun.objects.for_shop(world.shop).create(
        shop=world.shop, schedule=active, period="2026-11-16..2026-11-22", slot_at=timezone.now(),
        status=ScheduleRun.Status.DONE, finished_at=timezone.now(),
    )  # fmt: skip
    ScheduleDelivery.objects.for_shop(world.shop).bulk_create([
        ScheduleDelivery(shop=world.shop, run=run, membership=m, status=ScheduleDelivery.Status.SENT,
                         file_name="sales.xlsx", file_size=1)
        for m in world.members.values()
    ])  # fmt: skip
    world.objects.update(schedule_active=active, schedule_paused=paused, schedule_run=run)


def snapshot(shop) -> dict:
    """Every schedule's settings and recipients, and the runs and deliveries."""
    rows = ReportSchedule.objects.for_shop(shop).order_by("pk")
    return {
        "schedules": [
            (s.pk, s.report_type, s.params, s.frequency, s.weekday, s.day_of_month, s.time_of_day, s.file_format,
             s.is_active, sorted(s.recipients.values_list("pk", flat=True)))
            for s in rows
        ],
        "schedule_runs": list(ScheduleRun.objects.for_shop(shop).order_by("pk").values_list("pk", "status")),
        "schedule_deliveries": ScheduleDelivery.objects.for_shop(shop).count(),
    }  # fmt: skip


def _active(w):
    return w.objects["schedule_active"]


def _paused(w):
    return w.objects["schedule_paused"]


def _pk(pick):
    return lambda w: {"pk": pick(w).pk}


def _new(w) -> dict:
    return {"type": "sales", "params": {"group_by": "week"}, "frequency": "monthly", "day_of_month": 3,
            "time": "07:15", "recipients": [w.members["viewer"].pk]}  # fmt: skip


def _new_form(w) -> dict:
    return {"type": "sales", "frequency": "weekly", "weekday": "2", "time": "06:45", "file_format": "csv",
            "group_by": "day", "recipients": [str(w.members["finance"].pk)]}  # fmt: skip


def _edit_form(w) -> dict:
    return {"frequency": "daily", "time": "21:05", "file_format": "xlsx", "group_by": "month",
            "recipients": [str(w.members["admin"].pk)]}  # fmt: skip


_settings = fields_of(ReportSchedule, _active, "frequency", "time_of_day", "params", "file_format")


def _recipients(w) -> list:
    return sorted(_active(w).recipients.values_list("pk", flat=True))


def _settings_and_recipients(w):
    return _settings(w), _recipients(w)


PROBES: list[Probe] = [
    # REST API
    Probe(API + "report-schedules-list", "get", MANAGE, 200),
    Probe(API + "report-schedules-list", "post", MANAGE, 201, body=_new, effect=count_of(ReportSchedule),
          refs=("recipients.0",)),
    Probe(API + "report-schedules-detail", "get", MANAGE, 200, kwargs=_pk(_active)),
    Probe(API + "report-schedules-detail", "patch", MANAGE, 200, kwargs=_pk(_active),
          body=lambda w: {"frequency": "monthly", "time": "10:10"}, effect=_settings),
    Probe(API + "report-schedules-detail", "put", MANAGE, 200, kwargs=_pk(_active),
          body=lambda w: {"type": "sales", "params": {"group_by": "month"}, "frequency": "daily", "time": "05:00",
                          "recipients": [w.members["operator"].pk]},
          effect=_settings_and_recipients, refs=("recipients.0",)),
    Probe(API + "report-schedules-pause", "post", MANAGE, 200, kwargs=_pk(_active),
          effect=fields_of(ReportSchedule, _active, "is_active", "next_run_at")),
    Probe(API + "report-schedules-resume", "post", MANAGE, 200, kwargs=_pk(_paused),
          effect=fields_of(ReportSchedule, _paused, "is_active", "next_run_at")),
    Probe(API + "report-schedules-runs", "get", MANAGE, 200, kwargs=_pk(_active)),
    # Pages
    Probe(UI + "schedules", "get", MANAGE, 200, api=False),
    Probe(UI + "schedule_create", "get", MANAGE, 200, api=False),
    Probe(UI + "schedule_create", "post", MANAGE, 302, api=False, body=_new_form, effect=count_of(ReportSchedule),
          refs=("recipients.0",)),
    Probe(UI + "schedule_detail", "get", MANAGE, 200, api=False, kwargs=_pk(_active)),
    Probe(UI + "schedule_edit", "get", MANAGE, 200, api=False, kwargs=_pk(_active)),
    Probe(UI + "schedule_edit", "post", MANAGE, 302, api=False, kwargs=_pk(_active), body=_edit_form,
          effect=_settings_and_recipients, refs=("recipients.0",)),
    Probe(UI + "schedule_pause", "get", MANAGE, 200, api=False, kwargs=_pk(_active)),
    Probe(UI + "schedule_pause", "post", MANAGE, 302, api=False, kwargs=_pk(_active),
          effect=fields_of(ReportSchedule, _active, "is_active")),
    Probe(UI + "schedule_resume", "get", MANAGE, 200, api=False, kwargs=_pk(_paused)),
    Probe(UI + "schedule_resume", "post", MANAGE, 302, api=False, kwargs=_pk(_paused),
          effect=fields_of(ReportSchedule, _paused, "is_active")),
    Probe(UI + "schedule_run_download", "get", VIEW, 200, api=False,
          kwargs=lambda w: {"pk": w.objects["schedule_run"].pk}),
]  # fmt: skip
