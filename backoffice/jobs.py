"""Long work that runs in the background for a member (imports, exports, reports): one shape for all.

A job row is created by the request (``pending``), claimed by exactly one worker (``running``), and
ends ``done`` or ``failed`` with a message; the UI polls it. ``job_claim`` is the only way a worker
starts one, so a redelivered task or a second worker never runs it twice, and a job whose worker died
is picked up again once it has been silent for ``stale_after``.

Where a queued task runs: on the Celery broker when one is configured (``make worker``). With no broker
(the embedded default, ``BACKGROUND_THREADS`` > 0) it runs on a small pool of threads in the web
process itself, so the request that queued it returns at once and the page polls the job as it would
with a worker; running it eagerly inside the request would block the browser for the whole import.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, close_old_connections, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy.models import ShopOwnedModel

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
    when Celery runs tasks eagerly, of the task itself) is logged instead of raised, so one shop's
    failing scan does not stop the others'. With ``BACKGROUND_THREADS`` the task goes to the in-process
    pool instead (see the module docstring); its failure is logged there."""
    from celery import current_app

    module = task_name.rsplit(".", 1)[0]

    def send() -> None:
        importlib.import_module(module)
        task = current_app.tasks[task_name]
        if getattr(settings, "BACKGROUND_THREADS", 0):
            _executor().submit(_run_in_thread, task, kwargs)
        else:
            task.apply_async(kwargs=kwargs)

    transaction.on_commit(send, robust=robust)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_unfinished = [0]  # tasks queued on or running in this process's pool (under _pool_lock)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.BACKGROUND_THREADS, thread_name_prefix="background-job")
            # Stopping the process (Ctrl-C) waits for the pool's jobs, which then end done or failed
            # instead of staying "running"; say so, or the wait looks like a hang. (Runs before the pool's
            # own exit hook, which does the waiting: these hooks run last registered, first.)
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                register(_announce_wait)
        _unfinished[0] += 1
        return _pool


def _announce_wait() -> None:
    if _unfinished[0]:
        logger.warning("Waiting for %s background job(s) to finish; press Ctrl-C again to abandon them.",
                       _unfinished[0])  # fmt: skip


def _forget_pool() -> None:
    # A forked process (a server that preloads the app, then forks workers) has none of the parent's
    # threads: it starts a pool of its own on its first job.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()
    _unfinished[0] = 0


os.register_at_fork(after_in_child=_forget_pool)


def _run_in_thread(task, kwargs: dict) -> None:
    """Run one queued task on a pool thread, as a worker would: its own database connection (closed
    after, so a long-lived thread never holds a stale one), its failure logged, never raised into the
    pool. The task itself ends its job ``done`` or ``failed``."""
    close_old_connections()
    try:
        task.apply(kwargs=kwargs, throw=True)
    except Exception:
        logger.exception("background task %s%r failed", task.name, kwargs)
    finally:
        connections.close_all()
        with _pool_lock:
            _unfinished[0] -= 1


def fan_out(task_name: str, shop_ids) -> int:
    """A periodic scan's first half: queue ``task_name(shop_id=...)`` once per shop (sorted, distinct),
    so each shop's scan runs, fails and retries on its own. Returns how many were queued."""
    ids = sorted(set(shop_ids))
    for shop_id in ids:
        enqueue(task_name, robust=True, shop_id=shop_id)
    return len(ids)


def job_claim(model: type[BackgroundJob], *, shop_id: int, job_id: int, stale_after: timedelta):
    """Start the job for this worker and return it, or None when it is finished or another worker has it.
    A transient database error is retried (a job whose claim failed would stay pending for good)."""

    def claim():
        now = timezone.now()
        mine = model.unscoped.filter(pk=job_id, shop_id=shop_id)
        claimed = mine.filter(status=JobStatus.PENDING).update(status=JobStatus.RUNNING, started_at=now) or (
            mine.filter(status=JobStatus.RUNNING, started_at__lt=now - stale_after).update(started_at=now)
        )
        return mine.select_related("shop", "created_by").get() if claimed else None

    return retry_transient(claim, what=f"claim of {model.__name__} {job_id}")


def retry_transient(fn: Callable[[], T], /, *, what: str, attempts: int = 6, pause: float = 0.2,
                    before_retry: Callable[[], object] | None = None) -> T:  # fmt: skip
    """``fn()``, tried again when it fails for a transient reason: Django's ``OperationalError`` (SQLite's
    "database is locked" once its busy timeout is up, a PostgreSQL deadlock or serialization failure).
    ``fn`` must be one transaction (or one statement), so that a failed try changed nothing; the pause
    doubles after each try; ``before_retry`` reloads whatever the caller cached from the rolled-back try.
    After ``attempts`` tries the error is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts:
                raise
            logger.info("%s: %s; retrying (attempt %s)", what, str(exc).splitlines()[0][:150], attempt + 1)
            time.sleep(pause * 2 ** (attempt - 1))
            if before_retry is not None:
                before_retry()
    raise AssertionError("unreachable")
