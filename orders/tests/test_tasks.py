"""The export job, built by a real Celery worker over Redis (not eager)."""

import pytest

from backoffice.authz import load_actor, system_actor
from backoffice.celery import app
from orders import services
from orders.models import ExportJob, Order
from orders.tasks import build_export
from orders.tests.factories import order_in
from tests.fixtures import make_member, make_shop, wait_until


@pytest.mark.worker
def test_worker_builds_the_export(celery_worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shop = make_shop()
    order_in(shop, Order.State.AWAITING_PACKAGING)
    order_in(shop, Order.State.DELIVERED)
    actor = load_actor(make_member(shop, "finance").user, shop)
    job = services.export_create(actor=actor, fmt="xlsx", filters={"state": "delivered"})
    wait_until(lambda: ExportJob.objects.for_shop(shop).get(pk=job.pk).status in ("done", "failed"))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows == 1 and not job.contact_visible
    # A redelivery leaves a finished job alone.
    assert build_export.delay(shop_id=shop.pk, job_id=job.pk).get(timeout=30) == 1
    assert build_export.name in app.tasks


def _late(*orders) -> None:
    from datetime import timedelta

    from django.utils import timezone

    for order in orders:
        Order.objects.for_shop(order.shop_id).filter(pk=order.pk).update(ship_by=timezone.now() - timedelta(hours=2))


@pytest.mark.worker
def test_worker_reports_overdue_orders_once_to_those_who_process_them(celery_worker):
    from django.core import mail

    from accounts.models import Notification
    from orders.models import OrderEvent
    from orders.tasks import scan_overdue
    from orders.tests.factories import make_sku

    shop = make_shop()
    north_sku, north = make_sku(shop, stock=10)
    south_sku, _south = make_sku(shop, stock=10)
    late_north = order_in(shop, Order.State.AWAITING_PACKAGING, sku=north_sku)
    late_south = order_in(shop, Order.State.AWAITING_DELIVER, sku=south_sku)
    on_time = order_in(shop, Order.State.AWAITING_PACKAGING, sku=north_sku)
    shipped = order_in(shop, Order.State.DELIVERING, sku=north_sku)  # past its ship-by, but no longer open
    _late(late_north, late_south, shipped)
    north_operator = make_member(shop, "operator", scopes={"warehouse": [north.pk]})
    viewer = make_member(shop, "viewer")

    assert scan_overdue.delay().get(timeout=30) == 1  # one shop queued
    # The worker's scan has finished when both notices and both timeline events are written.
    wait_until(lambda: Notification.objects.for_shop(shop).filter(kind="overdue_orders").count() == 2
               and OrderEvent.objects.for_shop(shop).filter(kind="overdue").count() == 2)  # fmt: skip
    notes = {n.recipient_id: n for n in Notification.objects.for_shop(shop).filter(kind="overdue_orders")}
    assert set(notes) == {shop.owner_id, north_operator.user_id}  # not the viewer: they don't process orders
    assert notes[shop.owner_id].title == "2 orders are past their ship-by time"
    assert notes[north_operator.user_id].body == late_north.number  # only the orders in their warehouse
    assert notes[shop.owner_id].url == f"/shops/{shop.pk}/orders/?overdue=1"
    assert viewer.user_id not in notes
    timeline = OrderEvent.objects.for_shop(shop).filter(kind="overdue")
    assert sorted(timeline.values_list("order_id", flat=True)) == sorted([late_north.pk, late_south.pk])
    assert {m.to[0] for m in mail.outbox} >= {shop.owner.email, north_operator.user.email}
    # Once: the next tick finds nothing new; the on-time order is reported when it, too, is late.
    assert services.overdue_scan(actor=system_actor(shop)) == {"overdue": 0, "notified": 0}
    _late(on_time)
    assert services.overdue_scan(actor=system_actor(shop)) == {"overdue": 1, "notified": 2}


def test_overdue_event_shows_on_the_timeline(shop):
    from tests.fixtures import web_client_for

    order = order_in(shop, Order.State.AWAITING_PACKAGING)
    _late(order)
    services.overdue_scan(actor=system_actor(shop))
    html = web_client_for(shop.owner, reauth=False).get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
    assert 'data-kind="overdue"' in html and "Past its ship-by time" in html


def test_notices_written_by_a_worker_are_in_the_shops_language(shop):
    from accounts.models import Notification
    from accounts.services import staff_expiry_notify
    from tests.fixtures import make_member

    shop.language = "ru"
    shop.save(update_fields=["language"])
    order = order_in(shop, Order.State.AWAITING_PACKAGING)
    _late(order)
    services.overdue_scan(actor=system_actor(shop))
    title = Notification.objects.for_shop(shop).get(kind="overdue_orders", recipient=shop.owner).title
    assert title == "1 заказ не отгружен в срок"

    from datetime import timedelta

    from django.utils import timezone

    make_member(shop, "viewer", expires_at=timezone.now() + timedelta(hours=3))
    staff_expiry_notify(actor=system_actor(shop))
    told = Notification.objects.for_shop(shop).get(kind="member_expiring", recipient=shop.owner).title
    assert "Доступ сотрудника" in told
