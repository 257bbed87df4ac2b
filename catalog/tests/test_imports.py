"""Bulk import (CSV and XLSX, products+SKUs and stock): valid rows apply, invalid rows are reported,
nothing is half-applied within a row, and importing the same file again changes nothing."""

import csv
import io

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from accounts import services as accounts
from backoffice.authz import load_actor, system_actor
from backoffice.errors import Forbidden
from catalog import services
from catalog.models import SKU, ImportJob, Product, Stock, StockMovement
from catalog.services.transfer import CHUNK
from catalog.tests.factories import first_sku, make_import_job, make_product, make_warehouse
from tests.fixtures import api_client_for, make_member, make_platform_user, web_client_for

pytestmark = pytest.mark.django_db


def csv_file(rows: list[list], name: str = "products.csv") -> SimpleUploadedFile:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return SimpleUploadedFile(name, buf.getvalue().encode(), content_type="text/csv")


def xlsx_file(rows: list[list], name: str = "products.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue())


def run(api, shop, upload, kind="products", capture=None) -> dict:
    with capture(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/imports/", {"kind": kind, "file": upload}, format="multipart")
    assert r.status_code == 201, r.content
    return api.get(f"/api/v1/shops/{shop.pk}/imports/{r.json()['id']}/").json()


def export(api, shop, fmt: str, capture) -> bytes:
    """Start a products export, let the worker build it (eagerly, on commit), download the file."""
    with capture(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/products/export/", {"format": fmt}, format="json")
    assert r.status_code == 201, r.content
    job = api.get(r.json()["url"]).json()
    assert job["status"] == "done", job
    download = api.get(job["download_url"])
    assert download.status_code == 200
    return b"".join(download.streaming_content)


HEADER = ["product_ref", "title", "brand", "category", "sku", "price", "old_price", "barcode", "attributes"]


@pytest.fixture
def setup(shop):
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    services.category_create(actor=owner, name="Cases", parent=phones)
    existing = make_product(owner, title="Existing", category=phones)
    return owner, existing


def test_mixed_rows_apply_valid_report_invalid_and_reimport_is_a_no_op(shop, setup, django_capture_on_commit_callbacks):
    owner, existing = setup
    ex_sku = first_sku(existing)
    rows = [
        HEADER,
        ["X1", "Phone X", "Acme", "Phones", "PX-BLK", "990.00", "1200", "4600000000017", '{"color": "black"}'],  # new
        ["X1", "Phone X", "Acme", "Phones", "PX-WHT", "990.00", "", "", '{"color": "white"}'],  # same product
        ["", "Case", "", "phones/cases", "CASE-1", "5", "", "", ""],  # nested category path
        ["", "Broken", "", "", "BAD-1", "-3", "", "", ""],  # negative price
        ["", "No such", "", "Nowhere", "BAD-2", "3", "", "", ""],  # unknown category
        ["", "", "", "", "BAD-3", "3", "", "", ""],  # no title
        ["", "Bad attrs", "", "", "BAD-4", "3", "", "", "[1,2]"],  # attributes not an object
        ["", "", "", "", "", "3", "", "", ""],  # no SKU code
        # An existing SKU: a valid new title but an invalid price → nothing of the row applies.
        ["", "Renamed", "", "Phones", ex_sku.code, "abc", "", "", ""],
    ]
    api = api_client_for(shop.owner)
    job = run(api, shop, csv_file(rows), capture=django_capture_on_commit_callbacks)
    assert job["status"] == "done" and job["progress"] == 100
    assert (job["total_rows"], job["created_rows"], job["updated_rows"], job["error_rows"]) == (9, 3, 0, 6)
    px = Product.objects.for_shop(shop).get(ref="X1")
    assert sorted(px.skus.values_list("code", flat=True)) == ["PX-BLK", "PX-WHT"]
    assert SKU.objects.for_shop(shop).get(code="PX-BLK").attributes == {"color": "black"}
    assert SKU.objects.for_shop(shop).get(code="CASE-1").product.category.name == "Cases"
    assert not SKU.objects.for_shop(shop).filter(code__startswith="BAD").exists()
    existing.refresh_from_db()
    assert existing.title == "Existing" and first_sku(existing).price == ex_sku.price

    report = api.get(job["report_url"])
    assert report.status_code == 200
    lines = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    by_row = {int(line["row"]): line for line in lines}
    assert set(by_row) == {5, 6, 7, 8, 9, 10}
    assert by_row[5]["column"] == "price" and by_row[6]["column"] == "category" and by_row[7]["column"] == "title"
    assert by_row[8]["column"] == "attributes" and by_row[9]["column"] == "sku" and by_row[10]["sku"] == ex_sku.code

    # The same file again: nothing is created or changed, only reported again.
    AuditEntry = apps.get_model(settings.AUDIT_ENTRY_MODEL)  # noqa: N806
    audit_before = AuditEntry.objects.for_shop(shop).exclude(action__startswith="import.").count()
    snapshot = list(SKU.objects.for_shop(shop).order_by("id").values())
    again = run(api, shop, csv_file(rows), capture=django_capture_on_commit_callbacks)
    assert (again["created_rows"], again["updated_rows"], again["unchanged_rows"], again["error_rows"]) == (0, 0, 3, 6)
    assert list(SKU.objects.for_shop(shop).order_by("id").values()) == snapshot
    assert AuditEntry.objects.for_shop(shop).exclude(action__startswith="import.").count() == audit_before

    # A changed price updates in place and keeps an approved product approved; a title change does not.
    mod = make_platform_user()
    services.product_approve(
        actor=system_actor(shop, user=mod), product=services.product_submit(actor=owner, product=px)
    )
    rows[1][5] = "899.00"
    job = run(api, shop, csv_file(rows[:3]), capture=django_capture_on_commit_callbacks)
    assert (job["updated_rows"], job["unchanged_rows"]) == (1, 1)
    px.refresh_from_db()
    assert px.status == "approved" and SKU.objects.for_shop(shop).get(code="PX-BLK").price == 899
    rows[1][1] = rows[2][1] = "Phone X2"
    run(api, shop, csv_file(rows[:3]), capture=django_capture_on_commit_callbacks)
    px.refresh_from_db()
    assert px.title == "Phone X2" and px.status == "pending_review"


def test_xlsx_import_and_export_round_trip(shop, setup, django_capture_on_commit_callbacks):
    api = api_client_for(shop.owner)
    rows = [["sku", "title", "price", "cost", "weight"], ["XL-1", "Sheet item", 19.99, 7.5, 0.25],
            ["XL-2", "Sheet item 2", "oops", None, None]]  # fmt: skip
    job = run(api, shop, xlsx_file(rows), capture=django_capture_on_commit_callbacks)
    assert (job["created_rows"], job["error_rows"]) == (1, 1)
    sku = SKU.objects.for_shop(shop).get(code="XL-1")
    assert (str(sku.price), str(sku.cost), str(sku.weight)) == ("19.99", "7.50", "0.250")
    # Export everything as XLSX and import it back: nothing changes.
    content = export(api, shop, "xlsx", capture=django_capture_on_commit_callbacks)
    job = run(api, shop, SimpleUploadedFile("export.xlsx", content), capture=django_capture_on_commit_callbacks)
    assert (job["created_rows"], job["updated_rows"], job["error_rows"]) == (0, 0, 0)
    assert job["unchanged_rows"] == SKU.objects.for_shop(shop).count()
    content = export(api, shop, "csv", capture=django_capture_on_commit_callbacks)
    job = run(api, shop, SimpleUploadedFile("export.csv", content), capture=django_capture_on_commit_callbacks)
    assert (job["created_rows"], job["updated_rows"], job["error_rows"]) == (0, 0, 0)


def test_stock_import(shop, setup, django_capture_on_commit_callbacks):
    owner, existing = setup
    sku = first_sku(existing)
    wh = make_warehouse(owner, code="main")
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=10, reason="receipt")
    services.stock_reserve(actor=owner, lines=[{"sku": sku, "quantity": 4, "warehouse": wh}])
    other = first_sku(make_product(owner))
    api = api_client_for(shop.owner)
    rows = [["sku", "warehouse", "on_hand"], [sku.code, "main", "7"], [other.code, "main", "3"],
            ["nope", "main", "1"], [sku.code, "nowhere", "1"], [other.code, "main", "-1"], [other.code, "main", "2.5"]]  # fmt: skip
    job = run(api, shop, csv_file(rows, "stock.csv"), kind="stock", capture=django_capture_on_commit_callbacks)
    assert (job["updated_rows"], job["error_rows"]) == (2, 4)
    levels = dict(Stock.objects.for_shop(shop).values_list("sku__code", "on_hand"))
    assert levels == {sku.code: 7, other.code: 3}
    # Below what is reserved: refused for that row only.
    job = run(api, shop, csv_file([rows[0], [sku.code, "main", "3"], [other.code, "main", "3"]], "s.csv"), kind="stock",
              capture=django_capture_on_commit_callbacks)  # fmt: skip
    assert (job["updated_rows"], job["unchanged_rows"], job["error_rows"]) == (0, 1, 1)
    assert Stock.objects.for_shop(shop).get(sku=sku).on_hand == 7
    # The same SKU twice in one file: the last row wins, each row judged against the level before it.
    job = run(api, shop, csv_file([rows[0], [other.code, "main", "9"], [other.code, "main", "3"]], "t.csv"),
              kind="stock", capture=django_capture_on_commit_callbacks)  # fmt: skip
    assert (job["updated_rows"], job["error_rows"]) == (2, 0)
    assert Stock.objects.for_shop(shop).get(sku=other).on_hand == 3


def test_upload_is_checked_before_queueing(shop, setup):
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/imports/"
    r = api.post(url, {"kind": "products", "file": csv_file([["sku", "title"], ["A", "B"]])}, format="multipart")
    assert r.status_code == 400 and "price" in r.json()["error"]["message"]
    r = api.post(url, {"kind": "products", "file": SimpleUploadedFile("x.txt", b"a,b")}, format="multipart")
    assert r.status_code == 400
    r = api.post(url, {"kind": "products", "file": SimpleUploadedFile("x.xlsx", b"not a zip")}, format="multipart")
    assert r.status_code == 400
    r = api.post(url, {"kind": "bogus", "file": csv_file([["a"]])}, format="multipart")
    assert r.status_code == 400
    # Stock imports need catalog.manage_stock; product imports catalog.edit.
    support = api_client_for(make_member(shop, "support").user)
    r = support.post(url, {"kind": "stock", "file": csv_file([["sku", "warehouse", "on_hand"]])}, format="multipart")
    assert r.status_code == 403
    assert not ImportJob.objects.for_shop(shop).exists()


def test_scoped_member_imports_only_within_scope(shop, setup, django_capture_on_commit_callbacks):
    owner, existing = setup
    garden = services.category_create(actor=owner, name="Garden")
    member = make_member(shop, "operator", scopes={"category": [garden.pk]})
    api = api_client_for(member.user)
    rows = [["sku", "title", "price", "category"], ["G-1", "Rake", "10", "Garden"],
            [first_sku(existing).code, "Hijack", "1", "Garden"], ["G-2", "Phone", "1", "Phones"]]  # fmt: skip
    job = run(api, shop, csv_file(rows), capture=django_capture_on_commit_callbacks)
    assert (job["created_rows"], job["error_rows"]) == (1, 2)
    existing.refresh_from_db()
    assert existing.title == "Existing" and not SKU.objects.for_shop(shop).filter(code="G-2").exists()
    # The owner's jobs are not listed for a scoped member.
    owner_api = api_client_for(shop.owner)
    run(owner_api, shop, csv_file(rows[:2]), capture=django_capture_on_commit_callbacks)
    assert len(api.get(f"/api/v1/shops/{shop.pk}/imports/").json()["results"]) == 1
    assert len(owner_api.get(f"/api/v1/shops/{shop.pk}/imports/").json()["results"]) == 2


def test_finished_job_is_not_run_twice(shop, setup, django_capture_on_commit_callbacks):
    api = api_client_for(shop.owner)
    job = run(api, shop, csv_file([["sku", "title", "price"], ["R-1", "Once", "1"]]),
              capture=django_capture_on_commit_callbacks)  # fmt: skip
    assert services.import_job_run(actor=system_actor(shop), job_id=job["id"]) == "done"
    assert ImportJob.objects.for_shop(shop).get(pk=job["id"]).created_rows == 1


def test_a_file_of_several_chunks_with_every_tenth_row_invalid(shop, setup, django_capture_on_commit_callbacks):
    """1,200 rows (three chunks of ``CHUNK``), every 10th invalid: each row counted once, every bad row
    reported with its number, the good ones created. Throughput is bench/bench_import.py's job (10,000 rows)."""
    owner, _existing = setup
    total = 2 * CHUNK + 200
    rows = [["product_ref", "sku", "title", "price", "barcode", "category"]]
    for i in range(total):
        price = "oops" if i % 10 == 9 else f"{100 + i % 50}.00"
        rows.append([f"T{i // 2}", f"TEN-{i:05d}", f"Ten thousand {i // 2}", price, f"{i:013d}", "Phones"])
    upload = csv_file(rows)
    job = ImportJob.objects.for_shop(shop).create(
        shop=shop, kind="products", file_name="ten.csv", created_by=shop.owner
    )
    job.file.save("ten.csv", upload)
    assert services.import_job_run(actor=system_actor(shop), job_id=job.pk) == "done"
    job.refresh_from_db()
    bad = total // 10
    assert (job.total_rows, job.processed_rows, job.created_rows, job.error_rows) == (total, total, total - bad, bad)
    assert {e["row"] for e in job.errors} == {i + 2 for i in range(total) if i % 10 == 9}  # 1-based, after the header
    assert SKU.objects.for_shop(shop).filter(code__startswith="TEN-").count() == total - bad


def test_an_import_runs_as_its_starter_and_fails_when_they_lost_access(shop, setup, django_capture_on_commit_callbacks):
    """The worker runs an import with the permissions its starter holds now: one who may no longer
    import gets a failed job with the reason, and nothing of the file is applied."""
    member = make_member(shop, "operator")
    upload = csv_file([["sku", "title", "price"], ["LOST-1", "Late", "1"]])
    job = services.import_job_create(actor=load_actor(member.user, shop), kind="products", upload=upload)
    accounts.staff_deactivate(actor=load_actor(shop.owner, shop), membership=member)
    assert services.import_job_run(actor=system_actor(shop), job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert "may no longer import" in job.message and not SKU.objects.for_shop(shop).filter(code="LOST-1").exists()


def test_import_permission_is_checked_by_the_service(shop, setup):
    support = load_actor(make_member(shop, "support").user, shop)
    with pytest.raises(Forbidden):
        services.import_job_create(actor=support, kind="products", upload=csv_file([["sku", "title", "price"]]))
    operator = load_actor(make_member(shop, "operator").user, shop)
    job = services.import_job_create(actor=operator, kind="stock", upload=csv_file([["sku", "warehouse", "on_hand"]]))
    assert job.created_by == operator.user and job.scope == {}


# --------------------------------------------------------------------------------------------- who sees which job


@pytest.fixture
def warehouses_and_jobs(shop, setup):
    """The owner's import (not limited: may hold rows of any warehouse), a member limited to warehouse A
    and their own import, and a member limited to A only whose scope lies within a member of A+B."""
    owner, _existing = setup
    a, b = make_warehouse(owner, code="a"), make_warehouse(owner, code="b")
    wide = make_member(shop, "operator", scopes={"warehouse": [a.pk, b.pk]})
    narrow = make_member(shop, "operator", scopes={"warehouse": [a.pk]})
    jobs = {
        "owner": make_import_job(owner, sku="OWNER"),
        "wide": make_import_job(load_actor(wide.user, shop), sku="WIDE"),
        "narrow": make_import_job(load_actor(narrow.user, shop), sku="NARROW"),
    }
    return wide, narrow, jobs


def test_a_warehouse_limited_member_sees_only_imports_within_their_scope_api(shop, warehouses_and_jobs):
    wide, narrow, jobs = warehouses_and_jobs
    url = f"/api/v1/shops/{shop.pk}/imports/"
    for member, visible in ((narrow, {"narrow"}), (wide, {"wide", "narrow"})):
        api = api_client_for(member.user)
        listed = {j["id"] for j in api.get(url).json()["results"]}
        assert listed == {jobs[k].pk for k in visible}, member
        for key, job in jobs.items():
            expected = 200 if key in visible else 404
            assert api.get(f"{url}{job.pk}/").status_code == expected, (member, key)
            report = api.get(f"{url}{job.pk}/report/")
            assert report.status_code == expected, (member, key)
            if expected == 200:
                assert job.errors[0]["sku"] in b"".join(report.streaming_content).decode("utf-8-sig")
    # The owner (not limited) sees them all.
    owner_api = api_client_for(shop.owner)
    assert {j["id"] for j in owner_api.get(url).json()["results"]} == {j.pk for j in jobs.values()}


def test_a_warehouse_limited_member_sees_only_imports_within_their_scope_pages(shop, warehouses_and_jobs):
    wide, narrow, jobs = warehouses_and_jobs
    base = f"/shops/{shop.pk}/catalog/imports/"
    web = web_client_for(narrow.user, reauth=False)
    page = web.get(base).content.decode()
    assert f"{base}{jobs['narrow'].pk}/" in page
    assert f"{base}{jobs['owner'].pk}/" not in page and f"{base}{jobs['wide'].pk}/" not in page
    assert web.get(f"{base}{jobs['owner'].pk}/").status_code == 404
    assert web.get(f"{base}{jobs['owner'].pk}/report/").status_code == 404
    assert web.get(f"{base}{jobs['wide'].pk}/report/").status_code == 404
    report = web.get(f"{base}{jobs['narrow'].pk}/report/")
    assert report.status_code == 200 and "NARROW" in b"".join(report.streaming_content).decode("utf-8-sig")
    wide_web = web_client_for(wide.user, reauth=False)
    assert wide_web.get(f"{base}{jobs['narrow'].pk}/report/").status_code == 200  # within their scope
    assert wide_web.get(f"{base}{jobs['owner'].pk}/report/").status_code == 404


def test_stock_round_trip_as_xlsx(shop, setup, django_capture_on_commit_callbacks):
    """Stock exported as XLSX opens in openpyxl with one row per SKU and warehouse; the same sheet with a
    level changed, imported back, changes that level (and only that one)."""
    owner, existing = setup
    sku, kettle = first_sku(existing), first_sku(make_product(owner, title="Kettle"))
    main, back = make_warehouse(owner, code="main"), make_warehouse(owner, code="back")
    services.stock_adjust(actor=owner, sku=sku, warehouse=main, delta=7, reason="receipt")
    services.stock_adjust(actor=owner, sku=kettle, warehouse=back, delta=2, reason="receipt")
    services.stock_reserve(actor=owner, lines=[{"sku": kettle, "quantity": 1, "warehouse": back}])
    api = api_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/stock/export/", {"format": "xlsx"}, format="json")
    assert r.status_code == 201, r.content
    job = api.get(r.json()["url"]).json()
    assert (job["status"], job["format"]) == ("done", "xlsx"), job
    content = b"".join(api.get(job["download_url"]).streaming_content)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["sku", "warehouse", "on_hand", "reserved", "available", "title"]
    assert sorted(rows[1:]) == sorted(
        [[sku.code, "main", 7, 0, 7, "Existing"], [kettle.code, "back", 2, 1, 1, "Kettle"]]
    )
    moved = StockMovement.objects.for_shop(shop).count()
    [row] = [r for r in rows[1:] if r[0] == sku.code]
    row[2] = 11
    job = run(api, shop, xlsx_file(rows, "stock.xlsx"), kind="stock", capture=django_capture_on_commit_callbacks)
    assert (job["status"], job["updated_rows"], job["unchanged_rows"], job["error_rows"]) == ("done", 1, 1, 0)
    levels = {(s.sku_id, s.warehouse_id): (s.on_hand, s.reserved) for s in Stock.objects.for_shop(shop)}
    assert levels == {(sku.pk, main.pk): (11, 0), (kettle.pk, back.pk): (2, 1)}
    assert StockMovement.objects.for_shop(shop).count() == moved + 1
