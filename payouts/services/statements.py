"""Statement exports built in the background (``StatementJob``): a month, a payout or a reconciliation period
whose file is too big to stream in the request (``payouts.statements.STREAM_MAX_ROWS``), or any the member asks
to have prepared. The request creates the job (``statement_export_create``), a worker builds the file
(``statement_export_build``, the ``payouts.tasks.build_statement`` task) with the rows the member who asked may
read, recording progress every ``PROGRESS_EVERY`` rows for the page that polls it.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.audit import audit_record
from backoffice.authz import Actor, can, load_actor, require, system_actor
from backoffice.errors import NotFound, ValidationFailed
from backoffice.jobs import enqueue, job_claim, job_fields
from backoffice.tabular import csv_lines, write_file
from payouts import statements
from payouts.models import StatementJob

logger = logging.getLogger(__name__)
VIEW = "payouts.view"
STALE_AFTER = timedelta(minutes=30)
PROGRESS_EVERY = 1000
# A CSV is written to a temporary file through a buffer of this size, then handed to the storage in chunks: the
# memory it takes does not grow with the rows (a month of a busy shop is tens of MiB).
CSV_BUFFER = 256 * 1024


def _params(actor: Actor, kind: str, params: Any) -> dict:
    """The job's parameters, checked now (a bad one is a 400 naming it, not a failed job later)."""
    params = params or {}
    if kind == StatementJob.Kind.MONTH:
        month = statements.parse_month(params.get("month"))
        return {"month": month.strftime("%Y-%m")}
    if kind == StatementJob.Kind.PAYOUT:
        try:
            statement = statements.payout_statement(shop=actor.shop, actor=actor, withdrawal=params.get("withdrawal"))
        except NotFound:
            message = _("No paid withdrawal with this id.")
            raise ValidationFailed(message, fields={"withdrawal": [message]}) from None
        return {"withdrawal": statement.payout.withdrawal}
    if kind == StatementJob.Kind.RECONCILIATION:
        statements.reconciliation(shop=actor.shop, actor=actor, date_from=params.get("from"), date_to=params.get("to"))
        return {"from": str(params.get("from") or "").strip(), "to": str(params.get("to") or "").strip()}
    message = _("Choose one of: %(v)s") % {"v": ", ".join(StatementJob.Kind.values)}
    raise ValidationFailed(message, fields={"kind": [message]})


def statement_export_create(*, actor: Actor, kind: str, fmt: str, params: Any = None) -> StatementJob:
    """Queue a statement file (``kind`` month / payout / reconciliation, ``fmt`` csv / xlsx) for the member."""
    require(actor, VIEW)
    fmt = statements.parse_format(fmt)
    kept = _params(actor, kind, params)
    with transaction.atomic():
        job = StatementJob(**job_fields(actor), kind=kind, fmt=fmt, params=kept)
        job.save()
        audit_record(shop=actor.shop, actor=actor, action="statement_export.created", target=job,
                     changes={"kind": [None, kind], "format": [None, fmt], "params": [None, kept]})  # fmt: skip
        enqueue("payouts.tasks.build_statement", shop_id=actor.shop.pk, job_id=job.pk)
    return job


def _counted(job: StatementJob, rows: Iterator[list]) -> Iterator[list]:
    for n, row in enumerate(rows, start=1):
        if n % PROGRESS_EVERY == 0:
            StatementJob.objects.for_shop(job.shop_id).filter(pk=job.pk).update(processed_rows=n)
        yield row


def _save_csv(job: StatementJob, name: str, header: Sequence[str], rows: Iterator[list]) -> int:
    """Write the CSV (``backoffice.tabular.csv_lines``: the same cells and escaping as every download) to a
    temporary file, then save it to the job's file field; returns the data rows written."""
    # Buffered: the rows reach the disk in blocks of the buffer's size; memory does not grow with the rows.
    with tempfile.TemporaryFile(buffering=CSV_BUFFER) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        lines = -1  # the header is not a row
        for line in csv_lines(header, rows):
            text.write(line)
            lines += 1
        text.flush()
        text.detach()  # the binary file stays open for the storage to read
        raw.seek(0)
        job.file.save(name, File(raw, name=name), save=False)
    return lines


def statement_export_build(*, actor: Actor, job_id: int) -> StatementJob:
    """Build a queued statement's file (the worker passes ``system_actor(shop)``) with what the member who asked
    may read now; a member who lost ``payouts.view`` fails the job with the reason. Idempotent: a finished job is
    left alone."""
    require(actor, VIEW)
    shop = actor.shop
    job = job_claim(StatementJob, shop_id=shop.pk, job_id=job_id, stale_after=STALE_AFTER)
    if job is None:  # finished, or another worker is on it
        return StatementJob.objects.for_shop(shop).get(pk=job_id)
    member = load_actor(job.created_by, shop)
    if member is None or not can(member, VIEW):
        job.status, job.message = StatementJob.Status.FAILED, _("The member who asked may no longer see payouts.")
        auditor: Actor = system_actor(shop, user=job.created_by)
    else:
        auditor = member
        try:
            statement = statements.statement_for(shop=shop, actor=member, kind=job.kind, params=job.params)
            # Transactions are fewer than entries: the entry count bounds the rows (the bar reaches 100 at the end).
            total = statement.count()
            StatementJob.objects.for_shop(shop).filter(pk=job.pk).update(total_rows=total)
            header, rows = statements.table(statement)
            name = f"{statement.filename_stem}.{job.fmt}"
            if job.fmt == StatementJob.Format.CSV:
                count = _save_csv(job, name, header, _counted(job, rows))
            else:  # openpyxl's write-only mode keeps rows in its own temporary file; the zip is built at the end
                content, count = write_file(job.fmt, header, _counted(job, rows), sheet=job.kind)
                job.file.save(name, ContentFile(content), save=False)
            job.total_rows, job.processed_rows, job.status = max(total, count), count, StatementJob.Status.DONE
        except Exception as exc:  # any failure ends the job "failed" with the reason, never "running"
            logger.exception("payouts statement %s of shop %s failed", job.pk, shop.pk)
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            job.status = StatementJob.Status.FAILED
            job.message = (_("The statement failed: %(reason)s") % {"reason": reason})[:255]
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["file", "total_rows", "processed_rows", "status", "message", "finished_at"])
        audit_record(shop=shop, actor=auditor, action="statement_export.finished", target=job,
                     changes={"status": [StatementJob.Status.RUNNING, job.status], "rows": [0, job.processed_rows]})  # fmt: skip
    return job
