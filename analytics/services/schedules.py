"""Report schedules: create, edit, pause and resume them (``analytics.manage_schedules``), and send them.

**How schedules are triggered: one beat task, not a beat entry per schedule.** ``analytics.tasks.schedules_due``
runs every few minutes, finds the shops with an active schedule whose ``next_run_at`` has passed (one indexed
query) and fans out one task per shop, which sends that shop's due schedules (``schedules_run_due``). We chose
this over django-celery-beat ``PeriodicTask`` rows (one per schedule) because:

- the schedule stays a tenant row (``shop``, scoped managers, audit, the isolation sweep) and nothing of it is
  copied into beat's global, unscoped tables, where a crontab row would have to be kept in step with every
  create, edit, pause, resume, member removal and change of the shop's time zone (a missed sync sends at the wrong
  hour, or after a pause);
- the time-zone arithmetic lives in one place (``next_slot``, below): a slot is a local time of the shop
  converted to an aware UTC instant for each occurrence, so 08:00 stays 08:00 in Berlin across DST, which a beat
  crontab (in one zone for all shops) cannot express per shop;
- exactly-once is a property of our own rows, not of beat: the task may run late, twice at once, or be
  redelivered, and each still yields one ``ScheduleRun`` per (schedule, period), below.
The cost is a latency of up to the scan interval (5 minutes) after the chosen time, which a daily report can bear.

**Exactly-once.** Sending a schedule starts by claiming it in one short transaction: the schedule row is locked
with ``select_for_update(skip_locked=True)`` (a second scan running at the same moment skips it rather than waits),
its ``next_run_at`` is moved past now, and the run of the period is inserted; the UNIQUE (schedule, period)
constraint refuses a second run of a period whatever path leads there (a redelivered task after the claim sees
the schedule not due; a schedule edited back onto a period already sent finds its run). Each recipient's delivery
row is unique per (run, membership) and is written in the same transaction as their notification, whose email
leaves on commit: a recipient gets a period's report at most once, never twice.

**Per-recipient rendering.** Every recipient is loaded as they are at the moment of sending
(``backoffice.authz.load_actor``): a deactivated member gets nothing (skipped, ``deactivated``); one without
``analytics.view`` or the type's actions is skipped with the reason; the others get the report rendered by
``backoffice.reports.render`` with their own actions (columns) and scopes (rows), written by ``analytics.files``,
as an in-app notification linking to the run's download (rendered again for them at download time) and as an
email with the file attached. A failure is recorded on the delivery and the run, and the schedule's owner is told.
"""

from __future__ import annotations

import calendar
import io
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import services as accounts_services
from analytics import files
from analytics.models import ReportSchedule, ScheduleDelivery, ScheduleRun
from analytics.services.runs import Download, json_value, parse_file_format
from backoffice import reports
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can, load_actor, require, restrict, system_actor
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backoffice.parsing import parse_id, parse_ids, parse_int
from backoffice.tenancy.zones import shop_zone

logger = logging.getLogger(__name__)

MANAGE, VIEW = "analytics.manage_schedules", "analytics.view"
PERIOD_KEYS = ("date_from", "date_to")
MAX_RECIPIENTS = 50
DEFAULT_TIME = time(8, 0)
# A run still ``running`` after this long was left by a killed worker: it is closed as failed (never resent).
STALE_RUN = timedelta(hours=1)
Frequency = ReportSchedule.Frequency


def _fail(field: str, message: str):
    raise ValidationFailed(message, fields={field: [message]})


def _membership_model():
    # accounts.Membership, reached through the relation (analytics never imports accounts.models).
    return ReportSchedule._meta.get_field("recipients").related_model


# ---------------------------------------------------------------------------------------------------------------
# time: slots and periods in the shop's zone


def _runs_on(schedule: ReportSchedule, day: date) -> bool:
    if schedule.frequency == Frequency.WEEKLY:
        return day.weekday() == schedule.weekday
    if schedule.frequency == Frequency.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(schedule.day_of_month, last)
    return True


def next_slot(schedule: ReportSchedule, zone, *, after: datetime) -> datetime:
    """The first slot strictly after ``after``: the schedule's local time on its next day in ``zone``, as an aware
    UTC instant. Computed per occurrence, so the wall-clock time holds across DST; a time that does not exist that
    day (skipped by the spring change) is read with the offset before the change (02:30 → 03:30), one that occurs
    twice (autumn) is its first occurrence."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _step in range(64):  # a monthly schedule recurs within 31 days
        if _runs_on(schedule, day):
            slot = datetime.combine(day, schedule.time_of_day, tzinfo=zone).astimezone(UTC)
            if slot > after:
                return slot
        day += timedelta(days=1)
    raise AssertionError("no slot within 64 days")  # pragma: no cover - _runs_on matches within a month


def period_for(frequency: str, slot_day: date) -> tuple[date, date]:
    """The complete period a run on the shop's day ``slot_day`` reports on: the previous day, the previous
    Monday..Sunday, or the previous calendar month."""
    if frequency == Frequency.WEEKLY:
        monday = slot_day - timedelta(days=slot_day.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if frequency == Frequency.MONTHLY:
        last = slot_day.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    day = slot_day - timedelta(days=1)
    return day, day


def period_key(start: date, end: date) -> str:
    return f"{start.isoformat()}..{end.isoformat()}"


# ---------------------------------------------------------------------------------------------------------------
# validation


def _parse_time(value: Any) -> time:
    text = str(value or "").strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        _fail("time", _("Use a time of day, HH:MM."))
    if parsed.tzinfo is not None:
        _fail("time", _("Use a time of day, HH:MM."))
    return parsed.replace(second=0, microsecond=0)


def _clean_params(report: reports.ReportType, raw: Any) -> dict[str, Any]:
    """The type's parameters without the period (it follows the frequency), validated as the registry validates
    a run's (each error names its field), stored JSON-safe."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        _fail("params", _("Expected an object of report parameters."))
    for key in PERIOD_KEYS:
        if raw.get(key) not in (None, ""):
            _fail(key, _("A schedule reports on the period before each run (the previous day, week or month); "
                         "leave the dates out."))  # fmt: skip
    declared = {param.key for param in report.params}
    today = timezone.localdate()
    period = {key: today for key in PERIOD_KEYS if key in declared}
    cleaned = reports.clean_params(report, {**{k: v for k, v in raw.items() if k not in PERIOD_KEYS}, **period})
    return {key: json_value(value) for key, value in cleaned.items() if key not in PERIOD_KEYS}


def _recipients(actor: Actor, value: Any) -> list:
    if not isinstance(value, list | tuple) or not value:
        _fail("recipients", _("Choose at least one member of the shop."))
    ids = parse_ids(list(value), "recipients", limit=MAX_RECIPIENTS)
    found = list(_membership_model().objects.for_shop(actor.shop).filter(pk__in=ids, is_active=True).order_by("pk"))
    missing = sorted(set(ids) - {m.pk for m in found})
    if missing:
        _fail("recipients", _("Not an active member of this shop: %(ids)s.") % {"ids": ", ".join(map(str, missing))})
    return found


def _choice(value: Any, choices, field: str) -> str:
    text = str(value or "").strip()
    allowed = [str(v) for v, _label in choices]
    if text not in allowed:
        _fail(field, _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
    return text


def _state(schedule: ReportSchedule, recipient_ids: Iterable[int]) -> dict[str, Any]:
    return {
        "type": schedule.report_type, "params": schedule.params, "frequency": schedule.frequency,
        "weekday": schedule.weekday, "day_of_month": schedule.day_of_month,
        "time": schedule.time_of_day.strftime("%H:%M"), "file_format": schedule.file_format,
        "recipients": sorted(recipient_ids), "active": schedule.is_active,
    }  # fmt: skip


def _apply(actor: Actor, schedule: ReportSchedule, data: Mapping[str, Any], *, creating: bool) -> list | None:
    """Validate ``data`` onto ``schedule`` (keys left out keep their value, unless creating); returns the new
    recipients, or None when unchanged. Every error names its field; nothing is saved here."""
    if creating or "type" in data:
        report = reports.report_type(data.get("type"))
        if not reports.may_run(actor, report):
            raise Forbidden(_("You may not run this report."))
        schedule.report_type = report.key
    else:
        report = reports.report_type(schedule.report_type)
    if creating or "params" in data or "type" in data:
        schedule.params = _clean_params(report, data.get("params", {} if "type" in data else schedule.params))
    if creating or "frequency" in data:
        schedule.frequency = _choice(data.get("frequency"), Frequency.choices, "frequency")
    if data.get("weekday") not in (None, ""):
        schedule.weekday = parse_int(data["weekday"], "weekday", minimum=0, maximum=6)
    if data.get("day_of_month") not in (None, ""):
        schedule.day_of_month = parse_int(data["day_of_month"], "day_of_month", minimum=1, maximum=31)
    if data.get("time") not in (None, ""):
        schedule.time_of_day = _parse_time(data["time"])
    elif creating:
        schedule.time_of_day = DEFAULT_TIME
    if data.get("file_format") not in (None, ""):
        schedule.file_format = _choice(data["file_format"], ReportSchedule.FileFormat.choices, "file_format")
    if creating or "recipients" in data:
        return _recipients(actor, data.get("recipients"))
    return None


# ---------------------------------------------------------------------------------------------------------------
# reads


def schedule_list(*, actor: Actor) -> QuerySet[ReportSchedule]:
    qs = ReportSchedule.objects.for_shop(actor.shop).select_related("owner").prefetch_related("recipients__user")
    return restrict(qs, actor, MANAGE).order_by("-id")


def schedule_get(*, actor: Actor, schedule_id: Any) -> ReportSchedule:
    require(actor, MANAGE)
    try:
        pk = parse_id(schedule_id, "id")
    except ValidationFailed:
        pk = None
    found = schedule_list(actor=actor).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(_("No such schedule."))
    return found


def schedule_runs(*, actor: Actor, schedule: ReportSchedule) -> QuerySet[ScheduleRun]:
    """The schedule's runs, newest first, with their deliveries and recipients."""
    require(actor, MANAGE, schedule)
    return (
        ScheduleRun.objects.for_shop(actor.shop).filter(schedule=schedule)
        .prefetch_related("deliveries__membership__user").order_by("-id")
    )  # fmt: skip


def recipient_choices(*, actor: Actor) -> QuerySet:
    """The active members a schedule may be sent to."""
    require(actor, MANAGE)
    return _membership_model().objects.for_shop(actor.shop).filter(is_active=True).select_related("user").order_by("pk")


def due_shop_ids(*, now: datetime | None = None) -> list[int]:
    """Platform read for the beat task: the shops with an active schedule whose slot has come."""
    now = now or timezone.now()
    return sorted(
        set(ReportSchedule.unscoped.filter(is_active=True, next_run_at__lte=now).values_list("shop_id", flat=True))
    )


# ---------------------------------------------------------------------------------------------------------------
# writes


def schedule_create(*, actor: Actor, data: Mapping[str, Any]) -> ReportSchedule:
    """A new active schedule (``data``: ``type``, ``params``, ``frequency``, ``recipients`` (membership ids),
    optional ``time`` (HH:MM, the shop's zone; 08:00), ``weekday`` (0 = Monday), ``day_of_month``,
    ``file_format``). The actor becomes its owner."""
    require(actor, MANAGE)
    if actor.user is None:
        raise Forbidden(_("A schedule is created by a member."))
    shop = actor.shop
    schedule = ReportSchedule(shop=shop, owner=actor.user, params={})
    recipients = _apply(actor, schedule, data, creating=True)
    schedule.next_run_at = next_slot(schedule, shop_zone(shop), after=timezone.now())
    with transaction.atomic():
        schedule.save()
        schedule.recipients.set(recipients)
        audit_record(shop=shop, actor=actor, action="report_schedule.created", target=schedule,
                     changes=diff({}, _state(schedule, [m.pk for m in recipients])))  # fmt: skip
    return schedule


def _locked(actor: Actor, schedule: ReportSchedule) -> ReportSchedule:
    require(actor, MANAGE, schedule)
    return ReportSchedule.objects.for_shop(actor.shop).select_for_update().get(pk=schedule.pk)


def schedule_update(*, actor: Actor, schedule: ReportSchedule, data: Mapping[str, Any]) -> ReportSchedule:
    """Change what ``data`` names (the keys of ``schedule_create``); the next slot is recomputed."""
    with transaction.atomic():
        schedule = _locked(actor, schedule)
        before = _state(schedule, schedule.recipients.values_list("pk", flat=True))
        recipients = _apply(actor, schedule, data, creating=False)
        if schedule.is_active:
            schedule.next_run_at = next_slot(schedule, shop_zone(actor.shop), after=timezone.now())
        schedule.save()
        if recipients is not None:
            schedule.recipients.set(recipients)
        after = _state(schedule, schedule.recipients.values_list("pk", flat=True))
        changes = diff(before, after)
        if changes:
            audit_record(shop=actor.shop, actor=actor, action="report_schedule.updated", target=schedule,
                         changes=changes)  # fmt: skip
    return schedule


def schedule_pause(*, actor: Actor, schedule: ReportSchedule) -> ReportSchedule:
    with transaction.atomic():
        schedule = _locked(actor, schedule)
        if not schedule.is_active:
            raise Conflict(_("This schedule is already paused."), code="already_paused")
        schedule.is_active, schedule.next_run_at = False, None
        schedule.save(update_fields=["is_active", "next_run_at"])
        audit_record(shop=actor.shop, actor=actor, action="report_schedule.paused", target=schedule,
                     changes={"active": [True, False]})  # fmt: skip
    return schedule


def schedule_resume(*, actor: Actor, schedule: ReportSchedule) -> ReportSchedule:
    """Active again from the next slot on (the periods missed while paused are not sent)."""
    with transaction.atomic():
        schedule = _locked(actor, schedule)
        if schedule.is_active:
            raise Conflict(_("This schedule is not paused."), code="not_paused")
        schedule.is_active = True
        schedule.next_run_at = next_slot(schedule, shop_zone(actor.shop), after=timezone.now())
        schedule.save(update_fields=["is_active", "next_run_at"])
        audit_record(shop=actor.shop, actor=actor, action="report_schedule.resumed", target=schedule,
                     changes={"active": [False, True]})  # fmt: skip
    return schedule


# ---------------------------------------------------------------------------------------------------------------
# sending


def _claim(shop, schedule_id: int, now: datetime) -> ScheduleRun | None:
    """Take the schedule's due slot for this worker: the run of its period, or None when another worker holds the
    schedule, it is not due any more, or its period was already run."""
    zone = shop_zone(shop)
    with transaction.atomic():
        schedule = (
            ReportSchedule.objects.for_shop(shop).select_for_update(skip_locked=True)
            .filter(pk=schedule_id, is_active=True, next_run_at__lte=now).first()
        )  # fmt: skip
        if schedule is None:
            return None
        # The latest slot that has come (after an outage the most recent period is sent, not a backlog).
        slot = schedule.next_run_at
        while (following := next_slot(schedule, zone, after=slot)) <= now:
            slot = following
        schedule.next_run_at = next_slot(schedule, zone, after=now)
        schedule.save(update_fields=["next_run_at"])
        start, end = period_for(schedule.frequency, slot.astimezone(zone).date())
        try:
            with transaction.atomic():
                return ScheduleRun.objects.for_shop(shop).create(
                    shop=shop, schedule=schedule, period=period_key(start, end), slot_at=slot
                )
        except IntegrityError:  # this period was run already: never twice
            return None


def _skip_reason(recipient: Actor | None, report: reports.ReportType) -> str | None:
    if recipient is None:
        return "deactivated"
    if not can(recipient, VIEW):
        return f"lost {VIEW}"
    missing = [action for action in report.actions if not can(recipient, action)]
    return f"lacks {missing[0]}" if missing else None


def _render_file(recipient: Actor, report: reports.ReportType, params: dict, file_format: str) -> tuple[bytes, int]:
    result = reports.render(recipient, report, params)
    out = io.BytesIO()
    if file_format == "csv":
        rows = files.write_csv(result, out)
    else:
        rows = files.write_xlsx(result, out, title=str(report.label))
    return out.getvalue(), rows


def _report_params(report: reports.ReportType, schedule: ReportSchedule, run: ScheduleRun) -> dict[str, Any]:
    declared = {param.key for param in report.params}
    period = {"date_from": run.date_from, "date_to": run.date_to}
    return reports.clean_params(report, {**schedule.params, **{k: v for k, v in period.items() if k in declared}})


def _deliver(run: ScheduleRun, schedule: ReportSchedule, report: reports.ReportType, params: dict,
             membership) -> ScheduleDelivery:  # fmt: skip
    shop = run.shop
    recipient = load_actor(membership.user, shop) if membership.is_active else None
    reason = _skip_reason(recipient, report)
    delivery = ScheduleDelivery(shop=shop, run=run, membership=membership, status=ScheduleDelivery.Status.SKIPPED,
                                reason=reason or "")  # fmt: skip
    notice = None
    if reason is None:
        try:
            content, rows = _render_file(recipient, report, params, schedule.file_format)
        except Exception as exc:  # recorded on the run; the owner is told
            logger.exception("scheduled report %s for membership %s failed", schedule.pk, membership.pk)
            delivery.status, delivery.reason = ScheduleDelivery.Status.FAILED, str(exc)[:200] or type(exc).__name__
        else:
            name = f"{report.key}-{run.date_from}-{run.date_to}.{schedule.file_format}"
            delivery.status, delivery.file_name, delivery.file_size, delivery.rows = (
                ScheduleDelivery.Status.SENT, name, len(content), rows)  # fmt: skip
            words = {"report": report.label, "period": run.period.replace("..", " – ")}
            notice = accounts_services.Notice(
                recipient=membership.user, kind="report_ready", title=_("Scheduled report: %(report)s, %(period)s") % words,
                body=_("Your %(report)s report for %(period)s is attached.") % words,
                url=reverse("analytics:schedule_run_download", kwargs={"shop": shop.pk, "pk": run.pk}),
                attachments=((name, content, files.content_type(schedule.file_format)),),
            )  # fmt: skip
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:  # delivered to them already: never twice
            return ScheduleDelivery.objects.for_shop(shop).get(run=run, membership=membership)
        if notice is not None:
            accounts_services.notifications_send(actor=system_actor(shop), notices=[notice])
    return delivery


def _tell_owner(run: ScheduleRun, schedule: ReportSchedule, message: str) -> None:
    owner = load_actor(schedule.owner, run.shop)
    if owner is None:  # no longer a member: nobody to tell but the run history
        return
    notice = accounts_services.Notice(
        recipient=schedule.owner, kind="report_ready",
        title=_("A scheduled report failed (%(period)s)") % {"period": run.period.replace("..", " – ")}, body=message,
        url=reverse("analytics:schedule_detail", kwargs={"shop": run.shop_id, "pk": schedule.pk}),
    )  # fmt: skip
    accounts_services.notifications_send(actor=system_actor(run.shop), notices=[notice])


def _send(run: ScheduleRun) -> ScheduleRun:
    schedule = run.schedule
    failures: list[str] = []
    try:
        report = reports.report_type(schedule.report_type)
        params = _report_params(report, schedule, run)
    except ValidationFailed as exc:
        report, failures = None, [exc.message]
    if report is not None:
        for membership in schedule.recipients.select_related("user").order_by("pk"):
            delivery = _deliver(run, schedule, report, params, membership)
            if delivery.status == ScheduleDelivery.Status.FAILED:
                failures.append(f"{membership.user}: {delivery.reason}")
    run.status = ScheduleRun.Status.FAILED if failures else ScheduleRun.Status.DONE
    run.message = "; ".join(failures)[:2000]
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save(update_fields=["status", "message", "finished_at"])
        if failures:
            _tell_owner(run, schedule, run.message)
    return run


def _close_stale(shop, now: datetime) -> None:
    ScheduleRun.objects.for_shop(shop).filter(status=ScheduleRun.Status.RUNNING, started_at__lt=now - STALE_RUN).update(
        status=ScheduleRun.Status.FAILED, finished_at=now, message=_("The run was interrupted; it is not sent again.")
    )


def schedules_run_due(*, actor: Actor, now: datetime | None = None) -> list[ScheduleRun]:
    """Send the shop's due schedules (the system actor: the beat task's per-shop half). Safe to run twice at once
    or again: a schedule's period is claimed once (see the module docstring). Returns the runs this call made."""
    if not actor.is_system:
        raise Forbidden(_("Only the system sends scheduled reports."))
    shop = actor.shop
    now = now or timezone.now()
    _close_stale(shop, now)
    due = ReportSchedule.objects.for_shop(shop).filter(is_active=True, next_run_at__lte=now).order_by("next_run_at")
    done = []
    with timezone.override(shop_zone(shop)), translation.override(shop.language):
        for schedule_id in list(due.values_list("pk", flat=True)):
            run = _claim(shop, schedule_id, now)
            if run is not None:
                done.append(_send(run))
    return done


def schedule_run_download(*, actor: Actor, run_id: Any, file_format: Any = None) -> Download:
    """A run's report for a member it was sent to, rendered again for them now (their columns and rows at this
    moment; a member who has since lost ``analytics.view`` or the type's actions is refused)."""
    require(actor, VIEW)
    try:
        pk = parse_id(run_id, "id")
    except ValidationFailed:
        raise NotFound(_("No such report.")) from None
    run = ScheduleRun.objects.for_shop(actor.shop).select_related("schedule").filter(pk=pk).first()
    sent = run is not None and actor.membership is not None and ScheduleDelivery.objects.for_shop(actor.shop).filter(
        run=run, membership_id=actor.membership.pk, status=ScheduleDelivery.Status.SENT
    ).exists()  # fmt: skip
    if not sent:
        raise NotFound(_("No such report."))
    schedule = run.schedule
    file_format = parse_file_format(file_format) if file_format not in (None, "") else schedule.file_format
    report = reports.report_type(schedule.report_type)
    if not reports.may_run(actor, report):
        raise Forbidden(_("You may not run this report."))
    result = reports.render(actor, report, _report_params(report, schedule, run))
    return Download(result=result, file_format=file_format, title=str(report.label),
                    filename_stem=f"{report.key}-{run.date_from}-{run.date_to}")  # fmt: skip


__all__ = [
    "due_shop_ids",
    "next_slot",
    "period_for",
    "recipient_choices",
    "schedule_create",
    "schedule_get",
    "schedule_list",
    "schedule_pause",
    "schedule_resume",
    "schedule_run_download",
    "schedule_runs",
    "schedule_update",
    "schedules_run_due",
]
