"""Bulk import and export of products+SKUs and of stock levels, in CSV and XLSX.

Imports and exports are background jobs (``backoffice.jobs``): the request creates the job row, a
Celery task (queued by name on commit) runs it as the member who started it. An import is a job row
(status, progress, row-level errors). Each row is
applied in its own transaction through the catalog services (so each change is audited and
checked like a hand edit): a valid row applies whole, an invalid row changes nothing and is
reported. Rows are keyed by SKU code, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from itertools import islice

from django.core.files.base import ContentFile
from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.audit import audit_record
from backoffice.authz import Actor, can, load_actor, require, restrict, system_actor
from backoffice.errors import ServiceError, ValidationFailed
from backoffice.jobs import enqueue, job_claim, job_fields, retry_transient
from backoffice.parsing import parse_id, parse_ids, parse_int
from backoffice.tabular import write_file
from backoffice.tenancy.refs import ref_in_shop
from catalog import selectors
from catalog.models import SKU, Category, ExportJob, ImportJob, Product, Stock, Warehouse
from catalog.services.products import (
    THRESHOLD_MAX,
    clean_sku_data,
    product_create,
    product_update,
    sku_create,
    sku_update,
)
from catalog.services.stock import STOCK_LEVEL_MAX, stock_set_level
from catalog.services.taxonomy import check_category_offered

logger = logging.getLogger(__name__)

IMPORT_ACTIONS = {ImportJob.Kind.PRODUCTS: "catalog.edit", ImportJob.Kind.STOCK: "catalog.manage_stock"}
MAX_UPLOAD = 20 * 1024 * 1024
MAX_ROWS = 100_000
CHUNK = 500
PROGRESS_EVERY = 200

PRODUCT_COLUMNS = ["product_ref", "title", "description", "brand", "category", "product_attributes", "sku",
                   "barcode", "price", "old_price", "cost", "weight", "length", "width", "height",
                   "low_stock_threshold", "attributes"]  # fmt: skip
PRODUCT_REQUIRED = {"sku", "title", "price"}
STOCK_COLUMNS = ["sku", "warehouse", "on_hand"]
STOCK_REQUIRED = {"sku", "warehouse", "on_hand"}
SKU_COLUMNS = ("barcode", "price", "old_price", "cost", "weight", "length", "width", "height", "low_stock_threshold",
               "attributes")  # fmt: skip


# --------------------------------------------------------------------------------------------- reading


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(Decimal(repr(value)).normalize()) if value == value else ""
    return str(value).strip()


@contextmanager
def open_table(fileobj, name: str):
    """``(header, rows)`` of a CSV or XLSX file, streamed: ``rows`` yields one row (every cell a stripped
    string, blank rows skipped) as it is read, so a large file is never held in memory. A file that is
    not readable (not UTF-8, broken XLSX, a cell past the CSV field limit) is a 400 on ``file``."""
    fileobj.seek(0)
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(fileobj, read_only=True, data_only=True)
            it = wb.worksheets[0].iter_rows(values_only=True)
            header = [_cell(v).lower() for v in next(it, ())]
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise ValidationFailed(_("This is not a readable XLSX file."), fields={"file": [str(exc)[:200]]})

        def xlsx_rows() -> Iterator[list[str]]:
            try:
                for r in it:
                    if any(v not in (None, "") for v in r):
                        yield [_cell(v) for v in r]
            except Exception as exc:
                raise ValidationFailed(_("This is not a readable XLSX file."), fields={"file": [str(exc)[:200]]})

        try:
            yield header, xlsx_rows()
        finally:
            wb.close()
        return
    raw = _raw_stream(fileobj)
    encoding, delimiter = sniff_csv(raw)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    not_utf8 = ValidationFailed(_("Save the CSV file as UTF-8."), fields={"file": [_("Not UTF-8.")]})
    unreadable = _unreadable_csv()
    try:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
        except UnicodeDecodeError:
            raise not_utf8 if encoding.startswith("utf-8") else unreadable
        except csv.Error:
            raise unreadable

        def csv_rows() -> Iterator[list[str]]:
            try:
                for r in reader:
                    if any(c.strip() for c in r):
                        yield [c.strip() for c in r]
            except UnicodeDecodeError:
                raise not_utf8 if encoding.startswith("utf-8") else unreadable
            except csv.Error:
                raise unreadable

        yield header, csv_rows()
    finally:
        text.detach()  # leave the caller's file open (it closes it)


# What Excel writes when it saves a table as CSV: UTF-8 with a byte-order mark ("CSV UTF-8"), the
# system's ANSI code page (Windows-1251 in a Russian Windows), UTF-16 with a BOM ("Unicode text", tabs);
# the separator is the locale's list separator (a semicolon wherever the decimal mark is a comma).
ENCODINGS = {
    "utf-8": gettext_lazy("UTF-8"),
    "utf-8-sig": gettext_lazy("UTF-8 with BOM"),
    "cp1251": gettext_lazy("Windows-1251"),
    "utf-16": gettext_lazy("UTF-16"),
}
DELIMITERS = {",": gettext_lazy("commas"), ";": gettext_lazy("semicolons"), "\t": gettext_lazy("tabs")}
_SNIFF_CHUNK = 1024 * 1024
_HEADER_MAX = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _raw_stream(fileobj):
    raw = fileobj
    while not isinstance(raw, io.IOBase) and hasattr(raw, "file"):
        raw = raw.file  # Django's File (and a temporary upload) wraps the real stream
    return raw


def _unreadable_csv() -> ValidationFailed:
    return ValidationFailed(_("This is not a readable CSV file."), fields={"file": [_("Not a CSV file.")]})


def _valid_utf8(raw) -> bool:
    """Whether the whole stream decodes as UTF-8, read a chunk at a time (never all in memory). A NUL
    byte is no text in any encoding a spreadsheet writes without a BOM: a binary file, refused."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    while chunk := raw.read(_SNIFF_CHUNK):
        if b"\x00" in chunk:
            raise _unreadable_csv()
        if valid:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                valid = False  # keep reading: a NUL further on still makes it binary
    if valid:
        try:
            decoder.decode(b"", final=True)  # a sequence cut off at the end
        except UnicodeDecodeError:
            valid = False
    return valid


def _delimiter(line: str) -> str:
    """The separator of a header line: the one of comma, semicolon and tab it holds most often outside
    quotes (column names hold none of them); comma on a tie or a single column."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ",", d == ";"))
    return best if counts[best] else ","


def sniff_csv(fileobj) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV file, by a fixed rule rather than a guess: a byte-order mark names
    the encoding (UTF-8 or UTF-16); else a file that is valid UTF-8 throughout is UTF-8, and any other is
    Windows-1251 (what a Russian Excel writes). The delimiter is counted on the header line. A binary
    file (NUL bytes, control characters in the header, bytes Windows-1251 has no letter for) is a 400
    on ``file``. The stream is left at its start."""
    raw = _raw_stream(fileobj)
    raw.seek(0)
    head = raw.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        raw.seek(0)
        encoding = "utf-8" if _valid_utf8(raw) else "cp1251"
    raw.seek(0)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        line = text.readline(_HEADER_MAX)
    except UnicodeError:
        raise _unreadable_csv() from None
    finally:
        text.detach()
        raw.seek(0)
    if _CONTROL.search(line.lstrip("\ufeff")):
        raise _unreadable_csv()
    return encoding, _delimiter(line)


def csv_format_label(encoding: str, delimiter: str) -> str:
    """How a CSV file was read, e.g. "Windows-1251, separated by semicolons" ("" for a spreadsheet)."""
    if not encoding:
        return ""
    return _("%(encoding)s, separated by %(delimiter)s") % {
        "encoding": ENCODINGS.get(encoding, encoding),
        "delimiter": DELIMITERS.get(delimiter, delimiter),
    }


def read_table(fileobj, name: str, *, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a small table in memory (tests, tools); at most ``limit`` rows are read."""
    with open_table(fileobj, name) as (header, rows):
        return header, list(islice(rows, limit))


def count_rows(rows: Iterator, *, limit: int) -> int:
    """How many rows there are, reading them one at a time and stopping at the first past ``limit``."""
    total = 0
    for _row in rows:
        total += 1
        if total > limit:
            raise ValidationFailed(
                _("At most %(n)s rows per file.") % {"n": limit}, fields={"file": [_("Too many rows.")]}
            )
    return total


def _check_header(kind: str, header: list[str]) -> None:
    required = PRODUCT_REQUIRED if kind == ImportJob.Kind.PRODUCTS else STOCK_REQUIRED
    missing = sorted(required - set(header))
    if missing:
        raise ValidationFailed(
            _("The file lacks the columns: %(c)s") % {"c": ", ".join(missing)},
            fields={"file": [_("Missing columns: %(c)s") % {"c": ", ".join(missing)}]},
        )


# --------------------------------------------------------------------------------------------- imports


def import_job_create(*, actor: Actor, kind: str, upload) -> ImportJob:
    """Accept a file (CSV or XLSX with the needed columns) and queue its import. Importing products
    needs ``catalog.edit``, stock levels ``catalog.manage_stock``; the job records the starter's scope."""
    if kind not in IMPORT_ACTIONS:
        raise ValidationFailed(_("Unknown import kind."), fields={"kind": [_("products or stock")]})
    require(actor, IMPORT_ACTIONS[kind])
    shop = actor.shop
    name = os.path.basename(getattr(upload, "name", "") or "upload")
    if not name.lower().endswith((".csv", ".xlsx")):
        raise ValidationFailed(_("Upload a .csv or .xlsx file."), fields={"file": [_("Upload a .csv or .xlsx file.")]})
    if upload.size > MAX_UPLOAD:
        raise ValidationFailed(_("The file is larger than 20 MB."), fields={"file": [_("Too large.")]})
    # How a CSV file is read (the import detail page says so); a spreadsheet needs no guess.
    encoding, delimiter = ("", "") if name.lower().endswith(".xlsx") else sniff_csv(upload)
    with open_table(upload, name) as (header, rows):
        _check_header(kind, header)
        total = count_rows(rows, limit=MAX_ROWS)
    upload.seek(0)
    with transaction.atomic():
        job = ImportJob(**job_fields(actor), kind=kind, file_name=name[:255], total_rows=total,
                        file_encoding=encoding, file_delimiter=delimiter)  # fmt: skip
        job.file.save(name, upload, save=False)
        job.save()
        audit_record(shop=shop, actor=actor, action="import.created", target=job,
                     changes={"kind": [None, kind], "file": [None, name], "rows": [None, total]})  # fmt: skip
        enqueue("catalog.tasks.run_import", shop_id=shop.pk, job_id=job.pk)
    return job


STALE_AFTER = timedelta(minutes=30)


def import_job_run(*, actor: Actor, job_id: int) -> str:
    """Run a queued import (the worker passes ``system_actor(shop)``) as the member who started it,
    with their permissions and scope as of now: a member who lost access fails the job with the reason.

    Idempotent: a finished job is left alone; a redelivered one resumes safely because every row is
    keyed by SKU code. Returns the job's final status."""
    require(actor, "catalog.view")
    shop = actor.shop
    job = job_claim(ImportJob, shop_id=shop.pk, job_id=job_id, stale_after=STALE_AFTER)
    if job is None:
        return ImportJob.objects.for_shop(shop).get(pk=job_id).status
    require(actor, IMPORT_ACTIONS[job.kind], job)
    member = load_actor(job.created_by, shop)
    if member is None or not can(member, IMPORT_ACTIONS[job.kind]):
        return _finish(job, system_actor(shop, user=job.created_by), status=ImportJob.Status.FAILED,
                       message=_("The member who started this import may no longer import."))  # fmt: skip
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    errors: list[dict] = []
    error_rows = processed = 0
    try:
        with job.file.open("rb") as fh, open_table(fh, job.file_name) as (header, rows):
            _check_header(job.kind, header)
            runner = _ProductRows(member, header) if job.kind == ImportJob.Kind.PRODUCTS else _StockRows(member, header)
            rows = islice(rows, MAX_ROWS)  # the limit holds even for a file changed after it was accepted
            while chunk := list(islice(rows, CHUNK)):
                runner.prefetch(chunk)
                for values in chunk:
                    number = processed + 2  # the header is row 1
                    record = dict(zip(header, values, strict=False))
                    try:
                        outcome = _apply_row(runner, record, chunk, number=number, job_id=job.pk)
                        counts[outcome] += 1
                    except ServiceError as exc:
                        error_rows += 1
                        fields = exc.fields or {"": [exc.message]}
                        for field, messages in fields.items():
                            for message in messages:
                                errors.append({"row": number, "sku": record.get("sku", ""),
                                               "field": runner.column(field), "message": str(message)})  # fmt: skip
                        runner.forget(record)
                    except OperationalError:
                        raise  # transient, and already retried: not this row's fault (the job stops below)
                    except DatabaseError as exc:
                        error_rows += 1
                        errors.append({"row": number, "sku": record.get("sku", ""), "field": "",
                                       "message": _("Conflicting change: %(e)s") % {"e": str(exc).splitlines()[0][:150]}})  # fmt: skip
                        runner.forget(record)
                    processed += 1
                    if processed % PROGRESS_EVERY == 0:
                        try:
                            ImportJob.objects.for_shop(shop).filter(pk=job.pk).update(
                                processed_rows=processed, created_rows=counts["created"],
                                updated_rows=counts["updated"], unchanged_rows=counts["unchanged"], error_rows=error_rows,
                            )  # fmt: skip
                        except OperationalError:  # progress is only shown: the next update catches up
                            logger.info("import %s: progress not recorded (database busy)", job.pk)
    except (ValidationFailed, OSError) as exc:
        return _finish(job, member, status=ImportJob.Status.FAILED, message=str(getattr(exc, "message", exc))[:255])
    except OperationalError:
        # The database stayed unavailable through every retry of a row: stop here rather than report rows
        # that were never tried as errors. Rows already applied stay (a second run leaves them unchanged).
        logger.exception("import %s of shop %s stopped at row %s", job.pk, shop.pk, processed + 2)
        _record_counts(job, processed, counts, error_rows, errors)
        message = _("The database stayed busy, so the import stopped at row %(row)s. Run it again: the rows "
                    "already imported are kept.") % {"row": processed + 2}  # fmt: skip
        return retry_transient(lambda: _finish(job, member, status=ImportJob.Status.FAILED, message=message[:255]),
                               what=f"import {job.pk} finish")  # fmt: skip
    _record_counts(job, processed, counts, error_rows, errors)
    # Every row is in: a busy database must not leave the job "running" now.
    return retry_transient(lambda: _finish(job, member, status=ImportJob.Status.DONE, message=""),
                           what=f"import {job.pk} finish")  # fmt: skip


def _apply_row(runner, record: dict, chunk: list[list[str]], *, number: int, job_id: int) -> str:
    """Apply one row in its own transaction. A transient database error (the database is locked, a
    deadlock) rolled the whole row back: the row is tried again, after the runner reloads what it cached
    from the rolled-back try, and is never reported as a row error. If the error outlasts every try it
    is raised (the job stops)."""

    def apply() -> str:
        with transaction.atomic():
            return runner.apply(record)

    return retry_transient(
        apply, what=f"import {job_id} row {number}", before_retry=lambda: runner.reset(chunk, record)
    )


def _record_counts(job: ImportJob, processed: int, counts: dict, error_rows: int, errors: list[dict]) -> None:
    job.total_rows = max(job.total_rows, processed)
    job.processed_rows = processed
    job.created_rows, job.updated_rows, job.unchanged_rows = counts["created"], counts["updated"], counts["unchanged"]
    job.error_rows = error_rows
    job.errors = errors


def _finish(job: ImportJob, actor: Actor, *, status: str, message: str) -> str:
    with transaction.atomic():
        job.status = status
        job.message = message
        job.finished_at = timezone.now()
        job.save()
        audit_record(shop=job.shop, actor=actor, action="import.finished", target=job,
                     changes={"status": [ImportJob.Status.RUNNING, status],
                              "created": [None, job.created_rows], "updated": [None, job.updated_rows],
                              "unchanged": [None, job.unchanged_rows], "errors": [None, job.error_rows]})  # fmt: skip
    return status


# --------------------------------------------------------------------------------------------- row appliers


class _ProductRows:
    """Applies one products+SKUs row: create the SKU (and its product), update what differs, or nothing."""

    def __init__(self, actor: Actor, header: list[str]):
        self.actor = actor
        self.shop = actor.shop
        self.header = set(header)
        self.header_list = header
        self.may_cost = can(actor, "catalog.view_cost")
        self.categories = _category_paths(self.shop)
        self.skus: dict[str, SKU] = {}
        self.products_by_ref: dict[str, Product] = {}
        self.created: set[str] = set()

    @staticmethod
    def column(field: str) -> str:
        field = field.split(".")[-1]
        return {"code": "sku", "category": "category", "ref": "product_ref"}.get(field, field)

    def prefetch(self, chunk: list[list[str]]) -> None:
        codes = set()
        refs = set()
        for values in chunk:
            record = dict(zip(self.header_list, values, strict=False))
            codes.add(record.get("sku", ""))
            if record.get("product_ref"):
                refs.add(record["product_ref"])
        self.skus = {
            s.code: s for s in SKU.objects.for_shop(self.shop).filter(code__in=codes).select_related("product")
        }
        ids = {int(r[3:]) for r in refs if r.startswith("id:") and r[3:].isdigit()}
        plain = {r for r in refs if not r.startswith("id:")}
        self.products_by_ref = {p.ref: p for p in Product.objects.for_shop(self.shop).filter(ref__in=plain)}
        self.products_by_ref.update({f"id:{p.pk}": p for p in Product.objects.for_shop(self.shop).filter(pk__in=ids)})

    def reset(self, chunk: list[list[str]], record: dict) -> None:
        """Before a row is retried: its rolled-back transaction may have left rows in our caches."""
        self.prefetch(chunk)
        self.created.discard(record.get("sku", ""))

    def forget(self, record: dict) -> None:
        # A failed row may have half-updated our in-memory copies; reload them on next use.
        code = record.get("sku", "")
        if code in self.skus:
            self.skus[code] = SKU.objects.for_shop(self.shop).select_related("product").get(pk=self.skus[code].pk)

    def _product_fields(self, record: dict) -> dict:
        out = {}
        for key in ("title", "description", "brand"):
            if key in self.header:
                out[key] = record.get(key, "")
        if "category" in self.header:
            path = record.get("category", "")
            if path:
                category = self.categories.get(path.strip("/ ").lower())
                if category is None:
                    raise ValidationFailed(
                        _("Unknown category."), fields={"category": [_("Unknown category: %(c)s") % {"c": path}]}
                    )
                out["category"] = category
            else:
                out["category"] = None
        if "product_attributes" in self.header:
            out["attributes"] = _json_object(record.get("product_attributes", ""), "product_attributes")
        return out

    def _sku_fields(self, record: dict) -> dict:
        raw = {}
        for key in SKU_COLUMNS:
            if key not in self.header:
                continue
            value = record.get(key, "")
            if key == "attributes":
                raw[key] = _json_object(value, "attributes")
            elif key == "low_stock_threshold":
                if value == "":
                    raw[key] = None
                else:
                    raw[key] = _whole(value, key, maximum=THRESHOLD_MAX)
            elif key == "cost" and not self.may_cost:
                if value != "":
                    raise ValidationFailed(_("You may not set cost prices."), fields={"cost": [_("Not allowed.")]})
            else:
                raw[key] = value if value != "" else None
        if raw.get("price") is None and "price" in raw:
            raise ValidationFailed(_("Price is required."), fields={"price": [_("This field is required.")]})
        return clean_sku_data(raw, "", partial=True)

    def apply(self, record: dict) -> str:
        code = record.get("sku", "")
        if not code:
            raise ValidationFailed(_("SKU code is required."), fields={"sku": [_("This field is required.")]})
        product_fields = self._product_fields(record)
        if "title" in product_fields and not product_fields["title"]:
            raise ValidationFailed(_("Title is required."), fields={"title": [_("This field is required.")]})
        sku_fields = self._sku_fields(record)
        sku = self.skus.get(code)
        if sku is None and code in self.created:  # the same code twice in one file
            sku = self.skus[code] = SKU.objects.for_shop(self.shop).select_related("product").get(code=code)
        if sku is not None:
            if not can(self.actor, "catalog.edit", sku):
                raise ValidationFailed(_("This SKU is outside your scope."), fields={"sku": [_("Outside your scope.")]})
            _check_category_offered(product_fields, sku.product.category_id)
            return self._update(sku, product_fields, sku_fields)
        ref = record.get("product_ref", "")
        product = self.products_by_ref.get(ref) if ref else None
        _check_category_offered(product_fields, product.category_id if product is not None else None)
        if product is not None:
            if not can(self.actor, "catalog.edit", product):
                raise ValidationFailed(_("This product is outside your scope."),
                                       fields={"product_ref": [_("Outside your scope.")]})  # fmt: skip
            changed = _differs(product, product_fields)
            if changed:
                product = product_update(actor=self.actor, product=product, **changed)
            sku_create(actor=self.actor, product=product, code=code, **sku_fields)
        else:
            product = product_create(
                actor=self.actor, title=product_fields.get("title", ""), description=product_fields.get("description", ""),
                brand=product_fields.get("brand", ""), category=product_fields.get("category"),
                attributes=product_fields.get("attributes") or {}, skus=[{"code": code, **sku_fields}],
                ref="" if ref.startswith("id:") else ref,
            )  # fmt: skip
            if ref and not ref.startswith("id:"):
                self.products_by_ref[ref] = product
        self.created.add(code)
        return "created"

    def _update(self, sku: SKU, product_fields: dict, sku_fields: dict) -> str:
        product_changes = _differs(sku.product, product_fields)
        sku_changes = _differs(sku, sku_fields)
        if not product_changes and not sku_changes:
            return "unchanged"
        if product_changes:
            sku.product = product_update(actor=self.actor, product=sku.product, **product_changes)
        if sku_changes:
            product = sku.product
            sku = sku_update(actor=self.actor, sku=sku, **sku_changes)
            product.refresh_from_db(fields=["status", "submitted_at"])
            sku.product = product
        self.skus[sku.code] = sku
        return "updated"


class _StockRows:
    """Applies one stock row: set the counted on-hand level of a SKU in a warehouse."""

    def __init__(self, actor: Actor, header: list[str]):
        self.actor = actor
        self.shop = actor.shop
        self.header = header
        self.warehouses = {w.code: w for w in Warehouse.objects.for_shop(self.shop)}
        self.skus: dict[str, SKU] = {}
        self.levels: dict[tuple[int, int], int] = {}

    @staticmethod
    def column(field: str) -> str:
        return field

    def prefetch(self, chunk: list[list[str]]) -> None:
        i = self.header.index("sku")
        codes = {values[i] for values in chunk if len(values) > i}
        self.skus = {
            s.code: s for s in SKU.objects.for_shop(self.shop).filter(code__in=codes).select_related("product")
        }
        # Current levels: a row that already matches is a no-op (as of this read) and takes no lock.
        rows = Stock.objects.for_shop(self.shop).filter(sku__code__in=codes)
        self.levels = {(sku, wh): n for sku, wh, n in rows.values_list("sku_id", "warehouse_id", "on_hand")}

    def forget(self, record: dict) -> None:
        pass

    def reset(self, chunk: list[list[str]], record: dict) -> None:
        """Before a row is retried: the levels cached may include one its rolled-back transaction set."""
        self.prefetch(chunk)

    def apply(self, record: dict) -> str:
        sku = self.skus.get(record.get("sku", ""))
        if sku is None or not can(self.actor, "catalog.manage_stock", sku):
            raise ValidationFailed(
                _("Unknown SKU."), fields={"sku": [_("Unknown SKU: %(c)s") % {"c": record.get("sku", "")}]}
            )
        if not record.get("warehouse") and record.get("on_hand", "") in ("", "0"):
            # A SKU without stock as the stock export lists it (no warehouse, 0): nothing to set.
            return "unchanged"
        warehouse = self.warehouses.get(record.get("warehouse", ""))
        if warehouse is None or not can(self.actor, "catalog.manage_stock", warehouse):
            raise ValidationFailed(_("Unknown warehouse."), fields={"warehouse": [_("Unknown warehouse.")]})
        level = _whole(record.get("on_hand", ""), "on_hand", maximum=STOCK_LEVEL_MAX)
        if self.levels.get((sku.pk, warehouse.pk)) == level:
            return "unchanged"  # a closed warehouse's export re-imports unchanged
        if not warehouse.is_active:
            message = _("This warehouse is closed.")
            raise ValidationFailed(message, fields={"warehouse": [message]})
        movement = stock_set_level(actor=self.actor, sku=sku, warehouse=warehouse, on_hand=level,
                                            note=_("Stock import"), reference="import")  # fmt: skip
        self.levels[(sku.pk, warehouse.pk)] = level
        return "unchanged" if movement is None else "updated"


_WHOLE_WITH_ZEROS = re.compile(r"^([0-9]+)\.0*$")


def _check_category_offered(product_fields: dict, current_id: int | None) -> None:
    # A product already in an inactive category keeps it, so an export of it re-imports unchanged.
    check_category_offered(product_fields.get("category"), current_id=current_id)


def _whole(value: str, field: str, *, maximum: int) -> int:
    """A whole number from a cell, 0..maximum: ASCII digits, "12.0" (a spreadsheet's number) allowed;
    "1e999999999", "²" or a 20-digit number is a row error, not an attempt to build a huge integer."""
    text = str(value).strip()
    if match := _WHOLE_WITH_ZEROS.match(text):
        text = match.group(1)
    return parse_int(text, field, minimum=0, maximum=maximum)


def _json_object(value: str, field: str) -> dict:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        raise ValidationFailed(_("Give a JSON object."), fields={field: [_("Not valid JSON.")]})
    if not isinstance(data, dict):
        raise ValidationFailed(_("Give a JSON object."), fields={field: [_("Not a JSON object.")]})
    return data


def _differs(obj, fields: dict) -> dict:
    out = {}
    for key, value in fields.items():
        current = getattr(obj, key)
        same = current == (Decimal(value) if isinstance(current, Decimal) and value is not None else value)
        if not same:
            out[key] = value
    return out


def _category_paths(shop) -> dict[str, Category]:
    """'parent/child' (lower case) → category, for every category of the shop."""
    cats = {c.pk: c for c in Category.objects.for_shop(shop)}
    return {category_path(c, cats).lower(): c for c in cats.values()}


def category_path(category: Category, cats: dict[int, Category]) -> str:
    parts = []
    node = category
    seen = set()
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        parts.append(node.name)
        node = cats.get(node.parent_id)
    return "/".join(reversed(parts))


# --------------------------------------------------------------------------------------------- exports

EXPORT_FILTER_KEYS = {
    ExportJob.Kind.PRODUCTS: ("status", "category", "warehouse", "low_stock", "search", "ids"),
    ExportJob.Kind.STOCK: ("sku", "warehouse", "product", "low_stock", "search"),
}
EXPORT_STALE_AFTER = timedelta(minutes=30)
EXPORT_PROGRESS_EVERY = 500
STOCK_EXPORT_COLUMNS = ["sku", "warehouse", "on_hand", "reserved", "available", "title"]


EXPORT_ID_FILTERS = ("category", "warehouse", "product")


def _export_filters(kind: str, filters) -> dict:
    """The filters an export keeps (those its list understands), as JSON: ids as a list of numbers.
    An id filter that is not an id is a 400 naming it now, not a failed job later."""
    kept: dict = {}
    for key in EXPORT_FILTER_KEYS[kind]:
        if key == "ids":
            raw = filters.getlist("ids") if hasattr(filters, "getlist") else filters.get("ids")
            if isinstance(raw, (list, tuple)) and len(raw) == 1 and isinstance(raw[0], str):
                raw = raw[0]  # ids=1,2,3
            if ids := sorted(parse_ids(raw, "ids")):
                kept["ids"] = ids
            continue
        value = filters.get(key)
        if value in (None, ""):
            continue
        if key in EXPORT_ID_FILTERS:
            kept[key] = str(parse_id(value, key))
        else:
            kept[key] = str(value).replace("\x00", "")[:200]
    return kept


EXPORT_REF_MODELS = {"category": Category, "warehouse": Warehouse, "product": Product}


def _check_export_refs(actor: Actor, kept: dict) -> None:
    """An id filter names an object of the actor's shop that they may see: another shop's (or one out of
    their scope) is a 400 naming the filter, as anywhere else in a body, not an export of nothing."""
    for key, model in EXPORT_REF_MODELS.items():
        if key in kept:
            ref_in_shop(model, actor=actor, value=kept[key], field=key, action="catalog.view")
    if ids := kept.get("ids"):
        visible = restrict(Product.objects.for_shop(actor.shop), actor, "catalog.view").filter(pk__in=ids).count()
        if visible != len(ids):
            message = _("Unknown %(name)s.") % {"name": Product._meta.verbose_name}
            raise ValidationFailed(message, fields={"ids": [message]})


def export_create(*, actor: Actor, kind: str, fmt: str, filters=None) -> ExportJob:
    """Queue an export of the products (one row per SKU, in the import format) or of the stock levels
    matching ``filters``, as CSV or XLSX. The worker builds it with the starter's scope; cost prices
    appear only if the starter may see them, and then only such members may download the file."""
    require(actor, "catalog.view")
    if kind not in EXPORT_FILTER_KEYS:
        raise ValidationFailed(_("Unknown export kind."), fields={"kind": [_("products or stock")]})
    if fmt not in ExportJob.Format.values:
        raise ValidationFailed(_("Choose CSV or XLSX."), fields={"format": [_("csv or xlsx")]})
    kept = _export_filters(kind, filters or {})
    _check_export_refs(actor, kept)
    with_cost = kind == ExportJob.Kind.PRODUCTS and can(actor, "catalog.view_cost")
    with transaction.atomic():
        job = ExportJob(**job_fields(actor), kind=kind, fmt=fmt, filters=kept, with_cost=with_cost)
        job.save()
        audit_record(shop=actor.shop, actor=actor, action="catalog_export.created", target=job,
                     changes={"kind": [None, kind], "format": [None, fmt], "filters": [None, kept]})  # fmt: skip
        enqueue("catalog.tasks.build_export", shop_id=actor.shop.pk, job_id=job.pk)
    return job


def export_build(*, actor: Actor, job_id: int) -> ExportJob:
    """Build a queued export's file (the worker passes ``system_actor(shop)``) with the scope of the
    member who asked, as of now; a member who lost access fails the job with the reason. Idempotent:
    a finished job is left alone."""
    require(actor, "catalog.view")
    shop = actor.shop
    job = job_claim(ExportJob, shop_id=shop.pk, job_id=job_id, stale_after=EXPORT_STALE_AFTER)
    if job is None:  # finished, or another worker is on it
        return ExportJob.objects.for_shop(shop).get(pk=job_id)
    require(actor, "catalog.view", job)
    member = load_actor(job.created_by, shop)
    if member is None or not can(member, "catalog.view"):
        job.status, job.message = (
            ExportJob.Status.FAILED,
            _("The member who asked for this export may no longer see the catalog."),
        )
        auditor: Actor = system_actor(shop, user=job.created_by)
    else:
        auditor = member
        try:
            header, rows, total = _export_table(job, member)
            ExportJob.objects.for_shop(shop).filter(pk=job.pk).update(total_rows=total)
            content, count = write_file(job.fmt, header, _counted(job, rows), sheet=job.kind)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            job.file.save(f"{job.kind}-{shop.pk}-{stamp}.{job.fmt}", ContentFile(content), save=False)
            job.total_rows, job.processed_rows, job.status = total, count, ExportJob.Status.DONE
        except Exception as exc:  # any failure ends the job "failed" with the reason, never "running"
            logger.exception("catalog export %s of shop %s failed", job.pk, shop.pk)
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            job.status = ExportJob.Status.FAILED
            job.message = (_("The export failed: %(reason)s") % {"reason": reason})[:255]
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["file", "total_rows", "processed_rows", "status", "message", "finished_at"])
        audit_record(shop=shop, actor=auditor, action="catalog_export.finished", target=job,
                     changes={"status": [ExportJob.Status.RUNNING, job.status], "rows": [0, job.processed_rows]})  # fmt: skip
    return job


def _counted(job: ExportJob, rows: Iterator[list]) -> Iterator[list]:
    """The rows, recording progress on the job every few hundred of them (the page polls it)."""
    for n, row in enumerate(rows, start=1):
        if n % EXPORT_PROGRESS_EVERY == 0:
            ExportJob.objects.for_shop(job.shop_id).filter(pk=job.pk).update(processed_rows=n)
        yield row


def _export_table(job: ExportJob, member: Actor) -> tuple[list[str], Iterator[list], int]:
    """(header, rows, how many rows) of the export, read through the selectors with the member's scope."""
    shop = member.shop
    if job.kind == ExportJob.Kind.STOCK:
        # What the stock list shows: SKUs without stock too (0, and no warehouse unless the list had one).
        qs = selectors.stock_levels(shop=shop, actor=member, filters=job.filters)
        rows = (
            [s.code, s.wh_code or "", s.on_hand, s.reserved, s.available, s.product.title]
            for s in qs.iterator(chunk_size=2000)
        )
        return list(STOCK_EXPORT_COLUMNS), rows, qs.count()
    with_cost = job.with_cost and can(member, "catalog.view_cost")
    header = [*PRODUCT_COLUMNS, "status"]
    if not with_cost:
        header.remove("cost")
    qs = selectors.product_list(shop=shop, actor=member, filters=job.filters)
    total = selectors.sku_list(shop=shop, actor=member).filter(product__in=qs.values("pk")).count()
    return header, _product_rows(qs, with_cost=with_cost), total


def _product_rows(queryset, *, with_cost: bool) -> Iterator[list]:
    shop_id = None
    cats: dict[int, Category] = {}
    for product in queryset.order_by("id").iterator(chunk_size=500):
        if shop_id is None:
            shop_id = product.shop_id
            cats = {c.pk: c for c in Category.objects.for_shop(shop_id)}
        category = category_path(cats[product.category_id], cats) if product.category_id in cats else ""
        for sku in product.skus.all():
            row = [product.ref or f"id:{product.pk}", product.title, product.description, product.brand, category,
                   json.dumps(product.attributes, ensure_ascii=False) if product.attributes else "", sku.code,
                   sku.barcode, sku.price, sku.old_price, sku.cost, sku.weight, sku.length, sku.width, sku.height,
                   sku.low_stock_threshold, json.dumps(sku.attributes, ensure_ascii=False) if sku.attributes else "",
                   product.status]  # fmt: skip
            if not with_cost:
                del row[10]
            yield row
