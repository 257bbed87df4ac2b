"""Celery tasks: ids in, a service call as the system, nothing else. Each is safe to run twice."""

from celery import shared_task
from django.utils import timezone

from backoffice.authz import system_actor, tenant_model
from backoffice.jobs import fan_out
from orders import services
from orders.models import Order


def _system(shop_id: int):
    return system_actor(tenant_model().objects.get(pk=shop_id))


@shared_task(name="orders.tasks.build_export")
def build_export(*, shop_id: int, job_id: int) -> int:
    """Build an order export file; returns the number of rows written."""
    return services.export_build(actor=_system(shop_id), job_id=job_id).rows


@shared_task(name="orders.tasks.scan_overdue")
def scan_overdue() -> int:
    """Periodic (beat): queue an overdue scan for every shop with open orders past their ship-by time."""
    shop_ids = (
        Order.unscoped.filter(state__in=Order.OPEN_STATES, ship_by__lt=timezone.now(), overdue_notified_at__isnull=True)
        .order_by()
        .values_list("shop_id", flat=True)
        .distinct()
    )
    return fan_out("orders.tasks.scan_overdue_for_shop", shop_ids)


@shared_task(name="orders.tasks.scan_overdue_for_shop")
def scan_overdue_for_shop(*, shop_id: int) -> dict:
    return services.overdue_scan(actor=_system(shop_id))
