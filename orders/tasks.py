from celery import shared_task

from orders import services


@shared_task(name="orders.tasks.build_export")
def build_export(shop_id: int, job_id: int) -> int:
    """Build an order export file; returns the number of rows written."""
    return services.export_build(shop_id=shop_id, job_id=job_id).rows
