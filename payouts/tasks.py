"""Celery tasks of the payouts app: ids in, one service call as the shop's system actor, nothing else. Each is
safe to run twice (every posting is keyed)."""

import logging

from celery import shared_task

from backoffice.authz import system_actor, tenant_model
from backoffice.jobs import fan_out
from payouts import services
from payouts.services.integrity import ledger_drift_notify

log = logging.getLogger(__name__)


@shared_task(name="payouts.tasks.settle")
def settle() -> int:
    """Periodic (beat, hourly): queue the settlement of every shop."""
    return fan_out("payouts.tasks.settle_for_shop", tenant_model().objects.values_list("pk", flat=True))


@shared_task(name="payouts.tasks.settle_for_shop")
def settle_for_shop(*, shop_id: int) -> dict:
    """Charge the shop's new ad spend, then move its matured sales from pending to available."""
    actor = system_actor(tenant_model().objects.get(pk=shop_id))
    return {"ad_spend": services.ad_spend_sync(actor=actor), "settled": services.settle_matured(actor=actor)}


@shared_task(name="payouts.tasks.verify")
def verify() -> int:
    """Periodic (beat, nightly): check every balance against its entries and every transaction's sum; each drift
    is logged as an error and the platform's payout staff get one email listing them. Returns how many problems."""
    drifts = services.ledger_verify()
    for drift in drifts:
        log.error("payouts ledger drift: %s", drift)
    if drifts and not ledger_drift_notify(drifts):
        log.error("payouts ledger drift: no active payout staff with an email address to tell")
    return len(drifts)


@shared_task(name="payouts.tasks.build_statement")
def build_statement(*, shop_id: int, job_id: int) -> int:
    """Build a statement file in the background (``payouts.services.statement_export_build``); returns its rows."""
    actor = system_actor(tenant_model().objects.get(pk=shop_id))
    return services.statement_export_build(actor=actor, job_id=job_id).processed_rows
