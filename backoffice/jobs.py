"""Long work that runs in the background for a member (imports, exports, reports): one shape for all.

A job row is created by the request (``pending``), claimed by exactly one worker (``running``), and
ends ``done`` or ``failed`` with a message; the UI polls it. ``job_claim`` is the only way a worker
starts one, so a redelivered task or a second worker never runs it twice, and a job whose worker died
is picked up again once it has been silent for ``stale_after``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy.models import ShopOwnedModel


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BackgroundJob(ShopOwnedModel):
    Status = JobStatus

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    message = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        default_manager_name = "unscoped"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def job_claim(model: type[BackgroundJob], *, shop_id: int, job_id: int, stale_after: timedelta):
    """Start the job for this worker and return it, or None when it is finished or another worker has it."""
    now = timezone.now()
    mine = model.unscoped.filter(pk=job_id, shop_id=shop_id)
    claimed = mine.filter(status=JobStatus.PENDING).update(status=JobStatus.RUNNING, started_at=now) or (
        mine.filter(status=JobStatus.RUNNING, started_at__lt=now - stale_after).update(started_at=now)
    )
    return mine.select_related("shop", "created_by").get() if claimed else None
