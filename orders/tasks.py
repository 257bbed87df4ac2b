from celery import shared_task

from orders import services


@shared_task(name="orders.tasks.build_export")
def build_export(shop_id: int, job_id: int) -> int:
    """Build an order export file; returns the number of rows written."""
    return services.export_build(shop_id=shop_id, job_id=job_id).rows


@shared_task(name="orders.tasks.scan_overdue")
def scan_overdue() -> int:
    """Periodic (beat): queue an overdue scan for every shop with open orders past their ship-by time."""
    from django.utils import timezone

    from orders.models import Order

    shop_ids = sorted(
        set(
            Order.unscoped.filter(
                state__in=Order.OPEN_STATES, ship_by__lt=timezone.now(), overdue_notified_at__isnull=True
            ).values_list("shop_id", flat=True)
        )
    )
    for shop_id in shop_ids:
        scan_overdue_for_shop.delay(shop_id)
    return len(shop_ids)


@shared_task(name="orders.tasks.scan_overdue_for_shop")
def scan_overdue_for_shop(shop_id: int) -> dict:
    return services.overdue_scan(shop_id=shop_id)
