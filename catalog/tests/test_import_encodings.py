"""CSV imports read what Excel writes: UTF-8 with or without a BOM, Windows-1251 (a Russian Excel), UTF-16
("Unicode text"), separated by commas, semicolons or tabs; the import page says how a file was read, and a
binary file is a clear 400 on ``file``, never a 500."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.authz import system_actor
from backoffice.errors import ValidationFailed
from catalog import services
from catalog.models import ImportJob, Product
from catalog.services.transfer import sniff_csv
from tests.fixtures import api_client_for, web_client_for

pytestmark = pytest.mark.django_db

ROWS = [
    ["sku", "title", "price", "category"],
    ["CASE-1", "Чехол для телефона", "199.90", "Аксессуары"],
    # A title holding both separators and a quote: the writer quotes it, the reader must not split it.
    ["GLASS-2", 'Защитное стекло "Про"; 9H, ёлка', "99.00", "Аксессуары/Стекло"],
    ["CABLE-3", "Кабель USB-C, 1 м", "149.50", ""],
]
EXPECTED = {
    "CASE-1": ("Чехол для телефона", "199.90", "Аксессуары"),
    "GLASS-2": ('Защитное стекло "Про"; 9H, ёлка', "99.00", "Стекло"),
    "CABLE-3": ("Кабель USB-C, 1 м", "149.50", None),
}
# (encoding written, separator, what the page says)
VARIANTS = [
    ("utf-8", ",", "UTF-8, separated by commas"),
    ("utf-8", ";", "UTF-8, separated by semicolons"),
    ("utf-8-sig", ",", "UTF-8 with BOM, separated by commas"),
    ("utf-8-sig", ";", "UTF-8 with BOM, separated by semicolons"),
    ("cp1251", ";", "Windows-1251, separated by semicolons"),
    ("cp1251", ",", "Windows-1251, separated by commas"),
    ("utf-16", "\t", "UTF-16, separated by tabs"),
]


def encoded(rows: list[list[str]], encoding: str, delimiter: str, name: str = "catalog.csv") -> SimpleUploadedFile:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)  # Excel ends lines with CRLF
    return SimpleUploadedFile(name, buf.getvalue().encode(encoding), content_type="text/csv")


@pytest.fixture
def categories(owner):
    accessories = services.category_create(actor=owner, name="Аксессуары")
    services.category_create(actor=owner, name="Стекло", parent=accessories)


def imported(shop) -> dict:
    return {
        sku.code: (sku.product.title, str(sku.price), sku.product.category.name if sku.product.category else None)
        for product in Product.objects.for_shop(shop).prefetch_related("skus").select_related("category")
        for sku in product.skus.all()
    }


@pytest.mark.parametrize(("encoding", "delimiter", "label"), VARIANTS, ids=[f"{e}{d!r}" for e, d, _l in VARIANTS])
def test_the_same_catalog_in_every_excel_encoding_imports_identically(shop, owner, categories, encoding, delimiter,
                                                                       label):  # fmt: skip
    job = services.import_job_create(actor=owner, kind="products", upload=encoded(ROWS, encoding, delimiter))
    assert (job.total_rows, job.file_encoding, job.file_delimiter) == (3, encoding, delimiter)
    assert services.import_job_run(actor=system_actor(shop), job_id=job.pk) == ImportJob.Status.DONE
    job.refresh_from_db()
    assert (job.created_rows, job.error_rows) == (3, 0), job.errors
    assert imported(shop) == EXPECTED  # Cyrillic intact, quoted separators kept inside the title


def test_the_import_page_says_how_the_file_was_read(shop, categories):
    web = web_client_for(shop.owner)
    r = web.post(f"/shops/{shop.pk}/catalog/imports/", {"kind": "products", "file": encoded(ROWS, "cp1251", ";")})
    assert r.status_code == 302, r.content
    page = web.get(r["Location"])
    assert page.status_code == 200
    assert (
        'id="import-format"' in page.content.decode()
        and "Windows-1251, separated by semicolons" in page.content.decode()
    )
    api = api_client_for(shop.owner)
    listed = api.get(f"/api/v1/shops/{shop.pk}/imports/").json()["results"][0]
    assert (listed["file_encoding"], listed["file_delimiter"]) == ("cp1251", ";")


def test_an_xlsx_import_shows_no_csv_format(shop, owner):
    from openpyxl import Workbook

    wb = Workbook()
    for row in ROWS[:2]:
        wb.active.append(row[:3])
    buf = io.BytesIO()
    wb.save(buf)
    job = services.import_job_create(actor=owner, kind="products", upload=SimpleUploadedFile("c.xlsx", buf.getvalue()))
    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/catalog/imports/{job.pk}/")
    assert (job.file_encoding, job.file_delimiter) == ("", "")
    assert page.status_code == 200 and 'id="import-format"' not in page.content.decode()


def test_detection_is_a_fixed_rule():
    # Valid UTF-8 throughout is UTF-8, even when Windows-1251 would also decode it; a single invalid byte
    # anywhere (here far past the header) makes the whole file Windows-1251.
    ascii_head = b"sku;title;price\r\n" + b"A-1;Plain;1\r\n" * 100_000
    assert sniff_csv(io.BytesIO(ascii_head)) == ("utf-8", ";")
    assert sniff_csv(io.BytesIO(ascii_head + "Б-2;Чай;2\r\n".encode("cp1251"))) == ("cp1251", ";")
    # A single column, or a tie: a comma. Separators inside a quoted header name do not count.
    assert sniff_csv(io.BytesIO(b"sku\r\nA\r\n")) == ("utf-8", ",")
    assert sniff_csv(io.BytesIO(b'"a;b;c",title\r\n')) == ("utf-8", ",")
    assert sniff_csv(io.BytesIO(b"sku\ttitle\tprice\r\n")) == ("utf-8", "\t")


GARBAGE = [
    pytest.param(bytes(range(256)) * 40, id="every-byte"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200), id="png-renamed"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), id="xlsx-renamed"),
    pytest.param(b"sku,title,price\r\nA,\x98\x98,1\r\n", id="not-windows-1251-either"),
    pytest.param(b"\x01\x02\x03sku,title,price\r\n", id="control-characters"),
]


@pytest.mark.parametrize("content", GARBAGE)
def test_a_binary_file_is_a_clear_400_on_file(shop, owner, content):
    with pytest.raises(ValidationFailed) as exc:
        services.import_job_create(actor=owner, kind="products", upload=SimpleUploadedFile("x.csv", content))
    assert "file" in exc.value.fields
    api = api_client_for(shop.owner)
    r = api.post(f"/api/v1/shops/{shop.pk}/imports/", {"kind": "products", "file": SimpleUploadedFile("x.csv", content)},
                 format="multipart")  # fmt: skip
    assert r.status_code == 400 and "file" in r.json()["error"]["fields"], r.content
    web = web_client_for(shop.owner)
    page = web.post(
        f"/shops/{shop.pk}/catalog/imports/", {"kind": "products", "file": SimpleUploadedFile("x.csv", content)}
    )
    assert page.status_code == 400 and "Not a CSV file." in page.content.decode()
    assert not ImportJob.objects.for_shop(shop).exists()
