"""Celery tasks of the analytics app: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from analytics.services import runs
from backoffice.authz import system_actor, tenant_model


# Celery's limits stop a build stuck in one query (prefork workers): the soft one raises SoftTimeLimitExceeded in
# the task, which ends the run failed with the reason; the hard one kills the process (the next run created in
# the shop fails the run it left behind). The service also checks the soft limit between rows, which holds in
# the embedded thread pool and eager mode too, where Celery enforces no limit.
@shared_task(name="analytics.tasks.report_run", soft_time_limit=settings.ANALYTICS_REPORT_SOFT_TIME_LIMIT,
             time_limit=settings.ANALYTICS_REPORT_TIME_LIMIT)  # fmt: skip
def report_run(*, shop_id: int, job_id: int) -> str:
    """Run a queued report (``analytics.services.runs.report_run_execute``); returns its final status."""
    actor = system_actor(tenant_model().objects.get(pk=shop_id))
    return runs.report_run_execute(actor=actor, run_id=job_id).status


@shared_task(name="analytics.tasks.schedules_due")
def schedules_due() -> int:
    """Periodic (beat): queue the sending of due report schedules, one task per shop that has some (why one beat
    task rather than a beat entry per schedule: ``analytics.services.schedules``)."""
    from analytics.services import schedules
    from backoffice.jobs import fan_out

    return fan_out("analytics.tasks.schedules_run_for_shop", schedules.due_shop_ids())


@shared_task(name="analytics.tasks.schedules_run_for_shop")
def schedules_run_for_shop(*, shop_id: int) -> int:
    """Send the shop's due schedules; safe to run twice at once or to be redelivered (one run per period)."""
    from analytics.services import schedules

    actor = system_actor(tenant_model().objects.get(pk=shop_id))
    return len(schedules.schedules_run_due(actor=actor))
