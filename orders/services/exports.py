"""Order exports (CSV, XLSX): a background job per export, built by a worker with the masking and the
scope of the member who asked (``backoffice.jobs``: one visibility rule for every job)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can, load_actor, require
from backoffice.errors import ServiceError, ValidationFailed
from backoffice.jobs import enqueue, job_claim, job_fields
from backoffice.tabular import FORMATS, write_file
from orders import selectors
from orders.models import ExportJob

logger = logging.getLogger(__name__)

EXPORT_FILTER_KEYS = ("state", "date_from", "date_to", "delivery_method", "overdue", "due", "warehouse", "search")
EXPORT_STALE_AFTER = timedelta(minutes=30)
HEADER = ["number", "external_id", "created_at", "state", "delivery_method", "ship_by", "overdue", "buyer_name",
          "buyer_phone", "buyer_address", "lines", "total", "refunded", "currency", "carrier", "tracking_number"]  # fmt: skip


def export_create(*, actor: Actor, fmt: str, filters: dict | None = None) -> ExportJob:
    """Queue an order export (CSV or XLSX); the worker builds it with the creator's masking and scope."""
    require(actor, "orders.export")
    if fmt not in FORMATS:
        raise ValidationFailed(_("Choose CSV or XLSX."), fields={"format": [_("Choose csv or xlsx.")]})
    shop = actor.shop
    keep = {k: str(v) for k, v in (filters or {}).items() if k in EXPORT_FILTER_KEYS and v not in (None, "")}
    # The filters are checked now, as the list checks them (a bad id or date is a 400 on its field), not
    # found wrong by the worker later. Building the queryset runs no query.
    selectors.order_list(shop=shop, actor=actor, filters=keep, prefetch=False)
    with transaction.atomic():
        job = ExportJob.objects.for_shop(shop).create(
            **job_fields(actor), fmt=fmt, filters=keep, contact_visible=can(actor, "orders.view_buyer_contact")
        )
        audit_record(shop=shop, actor=actor, action="order_export.created", target=job,
                     changes=diff({}, {"format": fmt, "filters": keep}))  # fmt: skip
        enqueue("orders.tasks.build_export", shop_id=shop.pk, job_id=job.pk)
    return job


def _when(value, fmt: str):
    """A time for the file: XLSX gets the datetime itself (the writer makes it a date-time cell in the shop's
    zone, which a spreadsheet sorts and filters as a date); CSV keeps its text, minutes in the shop's zone."""
    return value if fmt == "xlsx" else timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _rows(*, member: Actor, filters: dict, contact_visible: bool, fmt: str = "csv") -> Iterator[list[Any]]:
    visible = contact_visible and selectors.may_see_contact(actor=member)
    orders = selectors.order_list(shop=member.shop, actor=member, filters=filters).order_by("-id")
    for order in orders.iterator(chunk_size=2000):
        buyer = selectors.buyer_of(order=order, visible=visible)
        lines = "; ".join(f"{line.sku_code} x{line.quantity} @ {line.unit_price}" for line in order.lines.all())
        yield [order.number, order.external_id, _when(order.created_at, fmt), order.state, order.delivery_method,
               _when(order.ship_by, fmt), order.is_overdue, buyer["name"], buyer["phone"], buyer["address"], lines,
               order.total, order.refunded_total, order.currency, order.carrier, order.tracking_number]  # fmt: skip


def export_build(*, actor: Actor, job_id: int) -> ExportJob:
    """Build the export file (the worker, as the system; idempotent: a finished job is left alone). The
    rows are those the member who asked may still see, masked as when they asked."""
    require(actor, "orders.export")
    shop = actor.shop
    job = job_claim(ExportJob, shop_id=shop.pk, job_id=job_id, stale_after=EXPORT_STALE_AFTER)
    if job is None:  # finished, or another worker is on it
        return ExportJob.objects.for_shop(shop).get(pk=job_id)
    try:
        # Everything after the claim is inside the try: a job this worker holds ends done or failed, never
        # left ``running`` (reading the member's access can fail too, say with the cache unreachable).
        member = load_actor(job.created_by, shop)
        with transaction.atomic():
            job = ExportJob.objects.for_shop(shop).select_for_update().get(pk=job_id)
            if member is None or not can(member, "orders.export"):
                job.status, job.message = ExportJob.Status.FAILED, _("The member may no longer export orders.")
            else:
                content, rows = write_file(job.fmt, HEADER, _rows(member=member, filters=job.filters, fmt=job.fmt,
                                                                  contact_visible=job.contact_visible), sheet="orders")  # fmt: skip
                stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
                job.file.save(f"orders-{shop.pk}-{stamp}.{job.fmt}", ContentFile(content), save=False)
                job.rows, job.status = rows, ExportJob.Status.DONE
            return _finish(actor=actor, job=job)
    except ServiceError as exc:  # a filter that no longer holds (say, a warehouse since deleted)
        reason = _("The export could not be built: %(reason)s") % {"reason": exc.message}
    except Exception:
        # Never left ``running``: the job ends failed with a reason the member can read; the details go to
        # the log (they may name internals).
        logger.exception("order export %s of shop %s failed", job_id, shop.pk)
        reason = _("The export could not be built because of an internal error. Try again, or ask support.")
    with transaction.atomic():
        job = ExportJob.objects.for_shop(shop).select_for_update().get(pk=job_id)
        job.status, job.message, job.rows = ExportJob.Status.FAILED, reason[:255], 0
        return _finish(actor=actor, job=job)


def _finish(*, actor: Actor, job: ExportJob) -> ExportJob:
    """Record the end of a build (done or failed), in the caller's transaction, with its audit entry."""
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "rows", "status", "message", "finished_at"])
    audit_record(shop=actor.shop, actor=actor, action="order_export.finished", target=job,
                 changes={"status": [ExportJob.Status.RUNNING, job.status], "rows": [0, job.rows]})  # fmt: skip
    return job
