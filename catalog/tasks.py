"""Celery tasks: ids in, a service call, nothing else. Each is safe to run twice."""

from celery import shared_task

from catalog import services, transfer


@shared_task(name="catalog.tasks.scan_low_stock")
def scan_low_stock() -> int:
    """Periodic (beat): queue a low-stock scan for every shop that has SKUs."""
    from catalog.models import SKU

    shop_ids = sorted(set(SKU.unscoped.values_list("shop_id", flat=True).distinct()))
    for shop_id in shop_ids:
        scan_low_stock_for_shop.delay(shop_id)
    return len(shop_ids)


@shared_task(name="catalog.tasks.scan_low_stock_for_shop")
def scan_low_stock_for_shop(shop_id: int) -> dict:
    return services.low_stock_scan(shop_id=shop_id)


@shared_task(name="catalog.tasks.run_import")
def run_import(shop_id: int, job_id: int) -> str:
    return transfer.import_job_run(shop_id=shop_id, job_id=job_id)
