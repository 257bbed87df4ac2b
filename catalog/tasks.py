"""Celery tasks: ids in, a service call as the system actor, nothing else. Each is safe to run twice.

Services queue these by name (``backoffice.jobs.enqueue("catalog.tasks...")``) and never import
this module, so there is no services <-> tasks import cycle."""

from celery import shared_task

from backoffice.authz import SystemActor, system_actor, tenant_model
from backoffice.jobs import fan_out
from catalog import selectors, services


def _system(shop_id: int) -> SystemActor:
    return system_actor(tenant_model().objects.get(pk=shop_id))


@shared_task(name="catalog.tasks.scan_low_stock")
def scan_low_stock() -> int:
    """Periodic (beat): queue a low-stock scan for every shop that has SKUs."""
    return fan_out("catalog.tasks.scan_low_stock_for_shop", selectors.shop_ids_with_skus())


@shared_task(name="catalog.tasks.scan_low_stock_for_shop")
def scan_low_stock_for_shop(shop_id: int) -> dict:
    return services.low_stock_scan(actor=_system(shop_id))


@shared_task(name="catalog.tasks.run_import")
def run_import(shop_id: int, job_id: int) -> str:
    return services.import_job_run(actor=_system(shop_id), job_id=job_id)


@shared_task(name="catalog.tasks.build_export")
def build_export(shop_id: int, job_id: int) -> int:
    """Build a catalog export file; returns the number of rows written."""
    return services.export_build(actor=_system(shop_id), job_id=job_id).processed_rows
