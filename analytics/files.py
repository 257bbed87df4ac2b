"""Report files: a ``ReportResult`` (``backoffice.reports``) as CSV or XLSX, written while its rows are produced.

Used by the download of a report run and by scheduled reports (each recipient's file). The cells go through the
kernel's rules (``backoffice.tabular``: text that could run as a formula is escaped, characters XLSX cannot hold
are dropped, numbers and dates stay typed). Neither writer holds the rows: CSV is written line by line; XLSX uses
openpyxl's write-only mode, which spools the sheet to a temporary file, so memory does not grow with the rows.

The XLSX carries a native chart (openpyxl.chart, a line or bar chart referencing the data cells) when the result
has one, so the spreadsheet redraws it when the figures are edited; it covers the first ``CHART_MAX_POINTS`` rows
(a chart of 100,000 bars is unreadable and slow to open).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.http import FileResponse
from django.utils import timezone

from backoffice.reports import ReportResult
from backoffice.tabular import (
    CONTENT_TYPES,
    DATE_FORMAT,
    DATETIME_FORMAT,
    INTEGER_FORMAT,
    csv_lines,
    decimal_format,
    safe_cell,
    stream_csv,
)

FORMATS = ("csv", "xlsx")
CHART_MAX_POINTS = 1000
# The XLSX is spooled to a temporary file past this size (memory below it, disk above).
SPOOL_BYTES = 8 * 1024 * 1024


def header(result: ReportResult) -> list[str]:
    """The column labels, in the active language."""
    return [str(column.label) for column in result.columns]


def csv_chunks(result: ReportResult) -> Iterator[str]:
    """The CSV's lines (UTF-8 BOM first), one per row, produced as the rows are."""
    return csv_lines(header(result), result.rows)


def write_csv(result: ReportResult, out: IO[bytes]) -> int:
    """Write the result as CSV to the binary file ``out``; returns the data rows written."""
    lines = -1  # the header is not a row
    for line in csv_chunks(result):
        out.write(line.encode("utf-8"))
        lines += 1
    return lines


def _typed(value: Any) -> tuple[Any, str | None]:
    """(the cell's value, its number format or None): the kernel's rules (``backoffice.tabular``)."""
    cell = safe_cell(value)
    if isinstance(cell, datetime):
        if cell.tzinfo is not None:  # XLSX has no zones: the wall-clock time in the active (shop's) zone
            cell = timezone.localtime(cell).replace(tzinfo=None)
        return cell, DATETIME_FORMAT
    if isinstance(cell, date):
        return cell, DATE_FORMAT
    if isinstance(cell, Decimal):
        return (cell, decimal_format(cell)) if cell.is_finite() else (str(cell), None)
    if isinstance(cell, int):
        return cell, INTEGER_FORMAT
    return cell, None


def write_xlsx(result: ReportResult, out: IO[bytes], *, chart: bool = True, title: str = "",
               sheet: str = "report") -> int:  # fmt: skip
    """Write the result as XLSX to the binary file ``out`` (a native chart when the result has one and ``chart``
    is true); returns the data rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31] or "report")
    worksheet.freeze_panes = "A2"  # the header stays in view while scrolling
    bold = Font(bold=True)
    head = []
    for label in header(result):
        cell = WriteOnlyCell(worksheet, value=safe_cell(label))
        cell.font = bold
        head.append(cell)
    worksheet.append(head)
    # One styled cell per (column, number format), its value replaced row after row: openpyxl writes a row's
    # cells as it is appended, and building and styling a new cell per value was most of the writing time.
    styled: dict[tuple[int, str], Any] = {}

    def typed(column: int, value: Any) -> Any:
        value, number_format = _typed(value)
        if number_format is None:
            return value
        cell = styled.get((column, number_format))
        if cell is None:
            cell = styled[(column, number_format)] = WriteOnlyCell(worksheet)
            cell.number_format = number_format
        cell.value = value
        return cell

    count = 0
    for row in result.rows:
        worksheet.append([typed(column, value) for column, value in enumerate(row)])
        count += 1
    if chart and result.chart is not None and count:
        _add_chart(worksheet, result, count, title)
    workbook.save(out)
    return count


def _add_chart(worksheet, result: ReportResult, count: int, title: str) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    keys = [column.key for column in result.columns]
    if result.chart.x not in keys:
        return
    series = [keys.index(key) + 1 for key in result.chart.series if key in keys]
    if not series:
        return
    last = 1 + min(count, CHART_MAX_POINTS)
    drawing = BarChart() if result.chart.kind == "bar" else LineChart()
    drawing.title = title or None
    drawing.height, drawing.width = 9, 18
    for col in series:
        drawing.add_data(Reference(worksheet, min_col=col, min_row=1, max_row=last), titles_from_data=True)
    x = keys.index(result.chart.x) + 1
    drawing.set_categories(Reference(worksheet, min_col=x, min_row=2, max_row=last))
    # openpyxl 3.1 marks both axes deleted unless told otherwise: Excel would draw the chart without them.
    drawing.x_axis.delete = drawing.y_axis.delete = False
    if result.columns[x - 1].kind == "date":
        drawing.x_axis.number_format = DATE_FORMAT
    # To the right of the table, level with its header.
    from openpyxl.utils import get_column_letter

    worksheet.add_chart(drawing, f"{get_column_letter(len(keys) + 2)}2")


def content_type(file_format: str) -> str:
    return CONTENT_TYPES[file_format]


def response(result: ReportResult, *, file_format: str, filename_stem: str, title: str = "") -> Any:
    """A download of the result: CSV streamed as its rows are produced; XLSX written to a spooled temporary
    file (memory up to ``SPOOL_BYTES``, then disk) and streamed from it."""
    name = f"{filename_stem}.{file_format}"
    if file_format == "csv":
        return stream_csv(name, header(result), result.rows)
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
    write_xlsx(result, spool, title=title)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=name, content_type=CONTENT_TYPES["xlsx"])


def xlsx_bytes(result: ReportResult, *, title: str = "") -> bytes:
    """The whole XLSX in memory (a notification's attachment, tests)."""
    out = io.BytesIO()
    write_xlsx(result, out, title=title)
    return out.getvalue()


__all__ = ["FORMATS", "content_type", "csv_chunks", "header", "response", "write_csv", "write_xlsx", "xlsx_bytes"]
