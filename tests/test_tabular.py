"""The one CSV/XLSX writer: formulas escaped, illegal characters dropped, values kept as values."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from backoffice.tabular import safe_cell, stream_csv, write_file

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_cells_become_text(text):
    assert safe_cell(text) == "'" + text.replace("\x00", "")


def test_plain_values_are_untouched():
    when = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert [safe_cell(v) for v in ("Phone", 3, Decimal("-1.50"), when, None, True, False)] == [
        "Phone", 3, Decimal("-1.50"), when, "", "yes", ""
    ]  # fmt: skip


def test_csv_file_escapes_and_strips():
    data, rows = write_file("csv", ["name", "total"], [["=cmd|' /C calc'!A0", Decimal("5.00")], ["Esc\x1bape\x07", 2]])
    assert rows == 2
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed == [["name", "total"], ["'=cmd|' /C calc'!A0", "5.00"], ["Escape", "2"]]


def test_xlsx_file_holds_control_characters_and_formulas_as_text():
    when = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with timezone.override(ZoneInfo("Asia/Shanghai")):  # a file shows the active (the shop's) zone's wall clock
        data, rows = write_file("xlsx", ["name", "when", "n"], [["Bell\x07 \x1bname", when, 7], ["=1+1", when, 8]])
    assert rows == 2
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == ["Bell name", datetime(2026, 11, 30, 16, 0), 7]
    assert values[2][0] == "'=1+1" and sheet.cell(3, 1).data_type == "s"


def test_streamed_csv_is_a_download():
    response = stream_csv("audit.csv", ["action"], iter([["@evil"], ["ok"]]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Disposition"] == 'attachment; filename="audit.csv"'
    assert body.splitlines() == ["action", "'@evil", "ok"]
