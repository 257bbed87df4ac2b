"""Report schedules: a report sent daily, weekly or monthly at a local time of the shop to chosen members, each
rendered with the recipient's own permissions and scopes at the moment it is sent (``analytics.services.schedules``).

- ``ReportSchedule``: the report type and its parameters WITHOUT the period (the period follows the frequency: the
  previous day, the previous Monday..Sunday, the previous calendar month, in the shop's zone), when it runs, the
  recipients (active memberships of the shop), the member who created it (``owner``: told about failures),
  active or paused, and ``next_run_at``: the next slot as an aware UTC instant, computed from the shop's zone.
- ``ScheduleRun``: one per (schedule, period); the unique constraint is what makes a run exactly-once — two scans
  at once, a redelivered task or a schedule edited back onto a period it already sent cannot send it again.
- ``ScheduleDelivery``: one per (run, recipient): sent (with the file's name and size), skipped (``reason``:
  ``deactivated``, ``lost analytics.view``, ``lacks orders.view``) or failed (the error).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy.models import ShopOwnedModel

__all__: list[str] = ["ReportSchedule", "ScheduleDelivery", "ScheduleRun"]


class ReportSchedule(ShopOwnedModel):
    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class FileFormat(models.TextChoices):
        XLSX = "xlsx", "XLSX"
        CSV = "csv", "CSV"

    report_type = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)  # cleaned, JSON-safe, never date_from/date_to
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    weekday = models.PositiveSmallIntegerField(default=0)  # weekly: 0 = Monday .. 6 = Sunday
    day_of_month = models.PositiveSmallIntegerField(default=1)  # monthly: 1..31 (past the month's end: its last day)
    time_of_day = models.TimeField()  # local time in the shop's zone
    file_format = models.CharField(max_length=4, choices=FileFormat.choices, default=FileFormat.XLSX)
    recipients = models.ManyToManyField("accounts.Membership", related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)  # None while paused
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        indexes = [
            models.Index(fields=["shop", "-id"], name="analytics_schedule_list"),
            # The due scan: active schedules by their next slot, across shops.
            models.Index(fields=["next_run_at"], name="analytics_schedule_due", condition=models.Q(is_active=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="schedule_weekday_range"),
            models.CheckConstraint(
                condition=models.Q(day_of_month__gte=1, day_of_month__lte=31), name="schedule_day_of_month_range"
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.report_type} {self.frequency} schedule {self.pk}"


class ScheduleRun(ShopOwnedModel):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    period = models.CharField(max_length=32)  # "2026-11-23..2026-11-29" (the shop's days, inclusive)
    slot_at = models.DateTimeField()  # the slot this run is for
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [models.UniqueConstraint(fields=["schedule", "period"], name="schedule_run_once_per_period")]
        indexes = [models.Index(fields=["shop", "schedule", "-id"], name="analytics_schedule_runs")]

    def __str__(self) -> str:
        return f"run of schedule {self.schedule_id} for {self.period} ({self.status})"

    @property
    def date_from(self) -> str:
        return self.period.split("..")[0]

    @property
    def date_to(self) -> str:
        return self.period.split("..")[-1]


class ScheduleDelivery(ShopOwnedModel):
    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(ScheduleRun, on_delete=models.CASCADE, related_name="deliveries")
    membership = models.ForeignKey("accounts.Membership", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(max_length=120, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [models.UniqueConstraint(fields=["run", "membership"], name="schedule_delivery_once")]

    def __str__(self) -> str:
        return f"delivery of run {self.run_id} to {self.membership_id}: {self.status}"
