"""The one writer for every CSV and XLSX the product hands out (exports, error reports, the audit log).

Cells a spreadsheet would run as a formula (text starting ``=``, ``+``, ``-``, ``@``, or a tab or
carriage return before one) are prefixed with ``'`` so that a product title or a buyer's address
like ``=HYPERLINK(...)`` stays text (OWASP "CSV injection"). Characters XLSX cannot hold (ASCII
control characters) are dropped. Numbers, money and dates are written as values, never escaped.

``stream_csv`` yields a response's body row by row; ``write_file`` builds a file for a background job
(exports), holding at most one row in memory for CSV and using openpyxl's write-only mode for XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """The value as a cell: text that could run as a formula is escaped, illegal characters dropped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, (int, float, Decimal, datetime, date)):
        return value
    text = _ILLEGAL.sub("", str(value))
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_cell(value: Any) -> Any:
    cell = safe_cell(value)
    if isinstance(cell, datetime):
        if timezone.is_aware(cell):
            cell = timezone.localtime(cell)  # the shop's zone: pages, API and tasks activate it
        return cell.isoformat(sep=" ", timespec="seconds")
    return cell


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def stream_csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A streamed CSV download (UTF-8 with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_file(
    fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "data"
) -> tuple[bytes, int]:
    """The whole file in ``fmt`` (csv or xlsx) and how many data rows it holds."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    if fmt == "csv":
        out = io.StringIO()
        for line in csv_lines(header, rows):
            out.write(line)
            count += 1
        return out.getvalue().encode("utf-8"), count - 1
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.freeze_panes = "A2"  # the header stays in view while scrolling
    bold = Font(bold=True)
    head = []
    for h in header:
        cell = WriteOnlyCell(worksheet, value=safe_cell(h))
        cell.font = bold
        head.append(cell)
    worksheet.append(head)
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, v, WriteOnlyCell) for v in row])
        count += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), count


# Number formats of typed cells: a spreadsheet sums, sorts and filters them as numbers and dates (text
# that looks like a number does none of that), and shows them as the page does.
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
INTEGER_FORMAT = "0"


def decimal_format(value: Decimal) -> str:
    """The number format showing a decimal's own places: money (2 places) as ``#,##0.00``, a weight in
    kg (3) as ``#,##0.000``, a whole amount as ``#,##0``."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "#,##0" + ("." + "0" * places if places else "")


def _xlsx_value(value: Any) -> tuple[Any, str | None]:
    """(the cell's value, its number format or None)."""
    cell = safe_cell(value)
    if isinstance(cell, datetime):
        if cell.tzinfo is not None:
            # XLSX has no time zones: the wall-clock time in the active zone (the shop's), without it.
            cell = timezone.localtime(cell).replace(tzinfo=None)
        return cell, DATETIME_FORMAT
    if isinstance(cell, date):
        return cell, DATE_FORMAT
    if isinstance(cell, Decimal):
        if not cell.is_finite():
            return str(cell), None  # NaN/Infinity: no number a spreadsheet holds
        return cell, decimal_format(cell)
    if isinstance(cell, int):
        return cell, INTEGER_FORMAT
    return cell, None


def _xlsx_cell(worksheet, value: Any, cell_class) -> Any:
    cell, number_format = _xlsx_value(value)
    if number_format is None:
        return cell
    typed = cell_class(worksheet, value=cell)
    typed.number_format = number_format
    return typed
