"""Long work that runs in the background for a member (imports, exports, reports): one shape for all.

A job row is created by the request (``pending``), claimed by exactly one worker (``running``), and
ends ``done`` or ``failed`` with a message; the UI polls it. ``job_claim`` is the only way a worker
starts one, so a redelivered task or a second worker never runs it twice, and a job whose worker died
is picked up again once it has been silent for ``stale_after``.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy.models import ShopOwnedModel


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BackgroundJob(ShopOwnedModel):
    """Visibility follows one kernel rule (``backoffice.authz.job_visible_q``): a member limited by
    scope sees the jobs they started and those whose recorded ``scope`` lies within theirs. Create
    jobs with :func:`job_fields` so the scope is recorded."""

    Status = JobStatus
    job_scope_field = "scope"

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    message = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The starter's per-object scopes when it was created ({"warehouse": [ids]}; {} = not limited).
    scope = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        default_manager_name = "unscoped"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def job_fields(actor) -> dict:
    """The fields every new job takes from the member who starts it."""
    from backoffice.authz import job_scope_of

    return {"shop": actor.shop, "created_by": actor.user, "scope": job_scope_of(actor)}


def enqueue(task_name: str, /, *, robust: bool = False, **kwargs) -> None:
    """Run the Celery task registered as ``task_name`` (``"<app>.tasks.<name>"``) with these keyword
    arguments (ids, never instances) once the current transaction commits.

    Services enqueue by name so that ``services`` never imports ``tasks`` (which imports ``services``);
    the task module is imported here, at send time, to register it. ``robust``: a failure to send (or,
    with no broker, of the task itself, which then runs in-process) is logged instead of raised, so one
    shop's failing scan does not stop the others'."""
    from celery import current_app

    module = task_name.rsplit(".", 1)[0]

    def send() -> None:
        importlib.import_module(module)
        current_app.tasks[task_name].apply_async(kwargs=kwargs)

    transaction.on_commit(send, robust=robust)


def fan_out(task_name: str, shop_ids) -> int:
    """A periodic scan's first half: queue ``task_name(shop_id=...)`` once per shop (sorted, distinct),
    so each shop's scan runs, fails and retries on its own. Returns how many were queued."""
    ids = sorted(set(shop_ids))
    for shop_id in ids:
        enqueue(task_name, robust=True, shop_id=shop_id)
    return len(ids)


def job_claim(model: type[BackgroundJob], *, shop_id: int, job_id: int, stale_after: timedelta):
    """Start the job for this worker and return it, or None when it is finished or another worker has it."""
    now = timezone.now()
    mine = model.unscoped.filter(pk=job_id, shop_id=shop_id)
    claimed = mine.filter(status=JobStatus.PENDING).update(status=JobStatus.RUNNING, started_at=now) or (
        mine.filter(status=JobStatus.RUNNING, started_at__lt=now - stale_after).update(started_at=now)
    )
    return mine.select_related("shop", "created_by").get() if claimed else None
