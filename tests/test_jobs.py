"""The kernel's background-job claim (backoffice.jobs): one worker per job, finished jobs left alone,
a job whose worker died picked up again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backoffice.jobs import JobStatus, job_claim
from orders.models import ExportJob
from tests.fixtures import make_shop

STALE = timedelta(minutes=30)


def _job(shop, **fields) -> ExportJob:
    return ExportJob.objects.for_shop(shop).create(shop=shop, fmt="csv", created_by=shop.owner, **fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status,started_ago,claimed",
    [
        (JobStatus.PENDING, None, True),
        (JobStatus.RUNNING, timedelta(minutes=1), False),  # another worker is on it
        (JobStatus.RUNNING, timedelta(hours=1), True),  # its worker went silent: take it over
        (JobStatus.DONE, timedelta(hours=1), False),
        (JobStatus.FAILED, timedelta(hours=1), False),
    ],
)
def test_claim_by_state(shop, status, started_ago, claimed):
    started = timezone.now() - started_ago if started_ago else None
    job = _job(shop, status=status, started_at=started)
    got = job_claim(ExportJob, shop_id=shop.pk, job_id=job.pk, stale_after=STALE)
    assert (got is not None) == claimed
    if claimed:
        assert got.status == JobStatus.RUNNING and got.started_at > timezone.now() - timedelta(minutes=1)
        assert got.created_by == shop.owner  # loaded for the worker


@pytest.mark.django_db
def test_a_job_of_another_shop_is_not_claimed(shop, other_shop):
    job = _job(other_shop)
    assert job_claim(ExportJob, shop_id=shop.pk, job_id=job.pk, stale_after=STALE) is None
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_racing_workers_claim_a_job_once():
    shop = make_shop()
    job = _job(shop)
    barrier, wins = threading.Barrier(6), []

    def worker():
        try:
            barrier.wait()
            if job_claim(ExportJob, shop_id=shop.pk, job_id=job.pk, stale_after=STALE) is not None:
                wins.append(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


@pytest.mark.django_db
def test_fan_out_isolates_each_shop_s_scan(caplog, django_capture_on_commit_callbacks):
    """One shop's failing scan is logged; the scans of the other shops still run (eager, no broker)."""
    from backoffice.jobs import fan_out
    from tests.scopeapp import tasks

    tasks.SEEN.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_out("tests.scopeapp.tasks.flaky_scan_for_shop", [3, 1, 2, 3]) == 3
    assert tasks.SEEN == [1, 3]
    assert "this shop's data is broken" in caplog.text
