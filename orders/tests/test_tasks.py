"""The export job, built by a real Celery worker over Redis (not eager)."""

import time

import pytest

from backoffice.authz import load_actor
from backoffice.celery import app
from orders import services
from orders.models import ExportJob, Order
from orders.tasks import build_export
from orders.tests.factories import order_in
from tests.fixtures import make_member, make_shop


@pytest.mark.worker
def test_worker_builds_the_export(celery_worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shop = make_shop()
    order_in(shop, Order.State.AWAITING_PACKAGING)
    order_in(shop, Order.State.DELIVERED)
    actor = load_actor(make_member(shop, "finance").user, shop)
    job = services.export_create(actor=actor, fmt="xlsx", filters={"state": "delivered"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            break
        time.sleep(0.2)
    assert job.status == ExportJob.Status.DONE and job.rows == 1 and not job.contact_visible
    # A redelivery leaves a finished job alone.
    assert build_export.delay(shop.pk, job.pk).get(timeout=30) == 1
    assert build_export.name in app.tasks
