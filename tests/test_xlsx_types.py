"""XLSX exports hold numbers as numbers and times as dates: money with two places, quantities as whole
numbers, date-times in the shop's zone (naive: Excel has no zones) with a date-time format. CSV stays text."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Shop
from backoffice.tabular import DATETIME_FORMAT, write_file
from catalog import services as catalog
from catalog.tests.factories import first_sku, make_product, make_warehouse
from orders.models import Order
from orders.tests.factories import intake, make_sku
from tests.fixtures import api_client_for, owner_actor

VLADIVOSTOK = "Asia/Vladivostok"  # UTC+10 all year: far from UTC, no DST


def sheet_of(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def by_header(sheet) -> list[dict]:
    rows = list(sheet.iter_rows())
    names = [c.value for c in rows[0]]
    return [dict(zip(names, row, strict=False)) for row in rows[1:]]


def test_the_writer_types_cells_by_value():
    when = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)
    row = [Decimal("1234.50"), 7, when, date(2026, 12, 1), Decimal("0.250"), "12", "=1+1", True]
    with timezone.override(ZoneInfo(VLADIVOSTOK)):
        data, count = write_file("xlsx", ["price", "qty", "at", "day", "kg", "code", "formula", "flag"], [row])
        text, _n = write_file("csv", ["price", "qty", "at"], [row[:3]])
    cells = list(sheet_of(data).iter_rows())[1]
    price, qty, at, day, kg, code, formula, flag = cells
    assert count == 1
    assert (price.data_type, price.value, price.number_format) == ("n", 1234.5, "#,##0.00")
    assert (qty.data_type, qty.value, qty.number_format) == ("n", 7, "0")
    # The wall-clock time in the active (shop's) zone, naive, with a date-time number format.
    assert at.is_date and at.value == datetime(2026, 11, 30, 18, 5) and at.number_format == DATETIME_FORMAT
    assert day.is_date and day.value == datetime(2026, 12, 1) and day.number_format == "yyyy-mm-dd"
    assert (kg.data_type, kg.value, kg.number_format) == ("n", 0.25, "#,##0.000")
    # Text stays text: a code that looks like a number, an escaped formula, a yes/no.
    assert [(c.data_type, c.value) for c in (code, formula, flag)] == [("s", "12"), ("s", "'=1+1"), ("s", "yes")]
    # CSV is text, with the same values (the time in the same zone, with its offset).
    assert list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))[1] == ["1234.50", "7", "2026-11-30 18:05:00+10:00"]


@pytest.mark.django_db
def test_catalog_product_and_stock_exports_are_typed(shop, django_capture_on_commit_callbacks):
    owner = owner_actor(shop)
    product = make_product(owner, title="Typed", price="1299.90", cost="700.00")
    sku = first_sku(product)
    catalog.sku_update(actor=owner, sku=sku, weight="0.350", low_stock_threshold=4)
    warehouse = make_warehouse(owner, code="typed")
    catalog.stock_adjust(actor=owner, sku=sku, warehouse=warehouse, delta=12, reason="receipt")
    api = api_client_for(shop.owner)

    def export(path: str) -> list[dict]:
        with django_capture_on_commit_callbacks(execute=True):
            r = api.post(f"/api/v1/shops/{shop.pk}/{path}", {"format": "xlsx"}, format="json")
        job = api.get(r.json()["url"]).json()
        assert job["status"] == "done", job
        return by_header(sheet_of(b"".join(api.get(job["download_url"]).streaming_content)))

    row = next(r for r in export("products/export/") if r["sku"].value == sku.code)
    assert (row["price"].data_type, row["price"].value, row["price"].number_format) == ("n", 1299.9, "#,##0.00")
    assert (row["cost"].data_type, row["cost"].value) == ("n", 700)
    assert (row["weight"].data_type, row["weight"].value) == ("n", 0.35)
    assert (row["low_stock_threshold"].data_type, row["low_stock_threshold"].value) == ("n", 4)
    assert row["title"].data_type == "s" and row["old_price"].value is None  # empty, not the text "None"

    stock = next(r for r in export("stock/export/") if r["sku"].value == sku.code)
    assert [(stock[k].data_type, stock[k].value) for k in ("on_hand", "reserved", "available")] == [
        ("n", 12), ("n", 0), ("n", 12)
    ]  # fmt: skip
    assert stock["on_hand"].number_format == "0" and stock["warehouse"].value == "typed"


@pytest.mark.django_db
def test_order_export_times_are_dates_in_the_shops_zone_and_money_is_numbers(shop, django_capture_on_commit_callbacks):
    Shop.objects.filter(pk=shop.pk).update(timezone=VLADIVOSTOK)
    sku, _wh = make_sku(shop, stock=5, price="1500.00")
    order = intake(shop, sku, quantity=2, unit_price="1500.00")
    placed = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)  # 07:30 the next day in Vladivostok
    Order.objects.for_shop(shop).filter(pk=order.pk).update(created_at=placed)
    order.refresh_from_db()
    api = api_client_for(shop.owner)
    files = {}
    for fmt in ("xlsx", "csv"):
        with django_capture_on_commit_callbacks(execute=True):
            r = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": fmt}, format="json")
        assert r.status_code == 201, r.content
        download = api.get(f"/api/v1/shops/{shop.pk}/order-exports/{r.json()['id']}/download/")
        assert download.status_code == 200
        files[fmt] = b"".join(download.streaming_content)
    row = by_header(sheet_of(files["xlsx"]))[0]
    assert row["created_at"].is_date and row["created_at"].value == datetime(2026, 12, 1, 7, 30)
    assert row["created_at"].number_format == DATETIME_FORMAT
    local_ship_by = order.ship_by.astimezone(ZoneInfo(VLADIVOSTOK)).replace(tzinfo=None, microsecond=0)
    assert row["ship_by"].is_date and row["ship_by"].value.replace(microsecond=0) == local_ship_by
    assert (row["total"].data_type, row["total"].value, row["total"].number_format) == ("n", 3000, "#,##0.00")
    assert (row["refunded"].data_type, row["refunded"].value) == ("n", 0)
    assert row["number"].data_type == "s" and row["state"].value == order.state
    # The CSV says the same, as the text it always had (minutes in the shop's zone).
    line = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8-sig"))))[0]
    assert (line["created_at"], line["total"]) == ("2026-12-01 07:30", "3000.00")
