"""The catalog REST API: SPEC §2 and the contract examples of §10, errors, filters, scope, cost, moderation."""

import csv
import io

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from backoffice.authz import load_actor
from catalog import services
from catalog.models import SKU, Category, ExportJob, Product, ProductImage, Stock, StockMovement, Warehouse
from catalog.tests.factories import first_sku, make_export, make_product, make_warehouse, png_upload
from tests.fixtures import (
    api_client_for,
    count_queries,
    make_member,
    make_platform_moderator,
    make_platform_user,
    make_shop,
)

pytestmark = pytest.mark.django_db


def url(shop, path: str) -> str:
    return f"/api/v1/shops/{shop.pk}/{path}"


@pytest.fixture
def api(shop):
    return api_client_for(shop.owner)


def test_contract_examples(shop, api):
    r = api.post(url(shop, "warehouses/"), {"name": "Main", "code": "main"}, format="json")
    assert r.status_code == 201, r.content
    wh = r.json()["id"]
    r = api.post(url(shop, "products/"), {"title": "Phone", "description": "Nice",
                 "skus": [{"code": "PH-1", "price": "990.00", "barcode": "4600000000017", "cost": "500.00"}]},
                 format="json")  # fmt: skip
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "draft" and body["skus"][0]["code"] == "PH-1" and body["skus"][0]["id"]
    assert body["skus"][0]["price"] == "990.00"
    r = api.post(url(shop, "stock/adjustments/"), {"sku": "PH-1", "warehouse": wh, "delta": 10, "reason": "receipt"},
                 format="json")  # fmt: skip
    assert r.status_code == 201, r.content
    r = api.get(url(shop, "stock/"), {"sku": "PH-1"})
    assert r.status_code == 200
    [row] = r.json()["results"]
    assert {k: row[k] for k in ("sku", "warehouse", "on_hand", "reserved", "available")} == {
        "sku": "PH-1", "warehouse": wh, "on_hand": 10, "reserved": 0, "available": 10}  # fmt: skip
    assert "next" in r.json()
    moves = api.get(url(shop, "stock-movements/"), {"sku": "PH-1"}).json()["results"]
    assert [(m["kind"], m["on_hand_delta"], m["actor"]) for m in moves] == [("receipt", 10, shop.owner.username)]


def test_bad_input_is_400_with_fields(shop, api):
    r = api.post(url(shop, "products/"), {"title": "", "skus": [{"code": "X", "price": "5"}]}, format="json")
    assert r.status_code == 400 and "title" in r.json()["error"]["fields"]
    # Amounts are the service's to judge (one message for the API, the pages and the imports).
    r = api.post(url(shop, "products/"), {"title": "T", "skus": [{"code": "X", "price": "-5"}]}, format="json")
    assert r.status_code == 400 and "skus.0.price" in r.json()["error"]["fields"]
    make_product(load_actor(shop.owner, shop), skus=1)
    code = first_sku(Product.objects.for_shop(shop).first()).code
    r = api.post(url(shop, "products/"), {"title": "Dup", "skus": [{"code": code, "price": "1.00"}]}, format="json")
    assert r.status_code == 400 and "skus.0.code" in r.json()["error"]["fields"]
    r = api.post(url(shop, "stock/adjustments/"), {"sku": "nope", "warehouse": 1, "delta": 0, "reason": "why"},
                 format="json")  # fmt: skip
    assert r.status_code == 400 and {"delta", "reason"} <= set(r.json()["error"]["fields"])
    r = api.post(url(shop, "stock/adjustments/"), {"sku": "nope", "warehouse": 999999, "delta": 1, "reason": "receipt"},
                 format="json")  # fmt: skip
    assert r.status_code == 400 and "sku" in r.json()["error"]["fields"]
    r = api.post(url(shop, "products/export/"), {"format": "pdf"}, format="json")
    assert r.status_code == 400 and "format" in r.json()["error"]["fields"]
    assert api.get(url(shop, "products/export/")).status_code == 405  # an export is started by POST


def test_illegal_transition_is_409(shop, api):
    product = make_product(load_actor(shop.owner, shop))
    assert api.post(url(shop, f"products/{product.pk}/submit/")).json()["status"] == "pending_review"
    r = api.post(url(shop, f"products/{product.pk}/submit/"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    r = api.post(url(shop, f"products/{product.pk}/unarchive/"))
    assert r.status_code == 409
    assert api.post(url(shop, f"products/{product.pk}/archive/")).json()["status"] == "archived"
    assert api.post(url(shop, f"products/{product.pk}/unarchive/")).json()["status"] == "draft"


def test_taking_more_than_available_is_409(shop, api):
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    r = api.post(url(shop, "stock/adjustments/"), {"sku": sku.pk, "warehouse": wh.pk, "delta": -1, "reason": "loss"},
                 format="json")  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"


def run_export(api, shop, path: str, capture, **body) -> tuple[dict, bytes]:
    """POST an export, let the worker build it (eagerly, on commit); the finished job and its file."""
    with capture(execute=True):
        r = api.post(url(shop, path), body, format="json")
    assert r.status_code == 201, r.content
    job = api.get(r.json()["url"]).json()
    assert job["status"] == "done" and job["progress"] == 100, job
    download = api.get(job["download_url"])
    assert download.status_code == 200, download.content[:300]
    return job, b"".join(download.streaming_content)


def test_cost_is_omitted_without_view_cost(shop, django_capture_on_commit_callbacks):
    owner = load_actor(shop.owner, shop)
    product = make_product(owner, cost="42.00")
    operator = api_client_for(make_member(shop, "operator").user)
    finance = api_client_for(make_member(shop, "finance").user)
    for path in (f"products/{product.pk}/", f"skus/{first_sku(product).pk}/"):
        body = operator.get(url(shop, path)).json()
        sku = body["skus"][0] if "skus" in body else body
        assert "cost" not in sku and "price" in sku
        body = finance.get(url(shop, path)).json()
        sku = body["skus"][0] if "skus" in body else body
        assert sku["cost"] == "42.00"
    r = operator.patch(url(shop, f"skus/{first_sku(product).pk}/"), {"cost": "1.00"}, format="json")
    assert r.status_code == 403
    _job, content = run_export(operator, shop, "products/export/", django_capture_on_commit_callbacks)
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert "cost" not in header and "price" in header


def test_filters_and_search(shop, api):
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases", parent=phones)
    wh = make_warehouse(owner)
    a = make_product(owner, title="Alpha phone", category=phones)
    b = make_product(owner, title="Beta case", category=cases)
    c = make_product(owner, title="Gamma", skus=2)
    services.stock_adjust(actor=owner, sku=first_sku(a), warehouse=wh, delta=100, reason="receipt")
    services.product_submit(actor=owner, product=b)

    def ids(**params):
        r = api.get(url(shop, "products/"), params)
        assert r.status_code == 200, r.content
        return {p["id"] for p in r.json()["results"]}

    assert ids(status="pending_review") == {b.pk}
    assert ids(category=phones.pk) == {a.pk, b.pk}
    assert ids(category=cases.pk) == {b.pk}
    assert ids(warehouse=wh.pk) == {a.pk}
    assert ids(low_stock="true") == {b.pk, c.pk}  # a has 100 units, the others none
    assert ids(search="gamma") == {c.pk}
    assert ids(search=first_sku(b).code) == {b.pk}
    assert ids(search=first_sku(a).barcode) == {a.pk}
    skus = api.get(url(shop, "skus/"), {"product": c.pk}).json()["results"]
    assert len(skus) == 2
    # Filtered by a warehouse, the stock list holds every SKU with its level there (0 when never stocked).
    stock = api.get(url(shop, "stock/"), {"warehouse": wh.pk}).json()["results"]
    assert sorted((s["sku"], s["warehouse"], s["on_hand"]) for s in stock) == sorted(
        [(first_sku(a).code, wh.pk, 100), (first_sku(b).code, wh.pk, 0)]
        + [(sku.code, wh.pk, 0) for sku in SKU.objects.for_shop(shop).filter(product=c)]
    )


def test_cursor_pagination(shop, api):
    owner = load_actor(shop.owner, shop)
    for _ in range(5):
        make_product(owner)
    first = api.get(url(shop, "products/"), {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = APIClient.get(api, first["next"]).json()
    assert {p["id"] for p in second["results"]}.isdisjoint({p["id"] for p in first["results"]})


def test_scoped_member_sees_and_changes_only_their_objects(shop):
    owner = load_actor(shop.owner, shop)
    mine_cat = services.category_create(actor=owner, name="Mine")
    other_cat = services.category_create(actor=owner, name="Other")
    mine_wh, other_wh = make_warehouse(owner), make_warehouse(owner)
    mine = make_product(owner, category=mine_cat)
    other = make_product(owner, category=other_cat)
    for product in (mine, other):
        for wh in (mine_wh, other_wh):
            services.stock_adjust(actor=owner, sku=first_sku(product), warehouse=wh, delta=3, reason="receipt")
    member = make_member(shop, "operator", scopes={"category": [mine_cat.pk], "warehouse": [mine_wh.pk]})
    api = api_client_for(member.user)
    assert {p["id"] for p in api.get(url(shop, "products/")).json()["results"]} == {mine.pk}
    assert {c["id"] for c in api.get(url(shop, "categories/")).json()["results"]} == {mine_cat.pk}
    assert {w["id"] for w in api.get(url(shop, "warehouses/")).json()["results"]} == {mine_wh.pk}
    stock = api.get(url(shop, "stock/")).json()["results"]
    assert [(s["sku"], s["warehouse"]) for s in stock] == [(first_sku(mine).code, mine_wh.pk)]
    assert api.get(url(shop, f"products/{other.pk}/")).status_code == 404
    assert api.patch(url(shop, f"products/{other.pk}/"), {"title": "x"}, format="json").status_code == 404
    assert api.get(url(shop, f"skus/{first_sku(other).pk}/")).status_code == 404
    r = api.post(
        url(shop, "stock/adjustments/"),
        {"sku": first_sku(mine).code, "warehouse": other_wh.pk, "delta": 1, "reason": "receipt"},
        format="json",
    )
    assert r.status_code == 400  # that warehouse does not exist for this member
    r = api.post(
        url(shop, "stock/adjustments/"),
        {"sku": first_sku(other).code, "warehouse": mine_wh.pk, "delta": 1, "reason": "receipt"},
        format="json",
    )
    assert r.status_code == 400
    r = api.post(url(shop, "products/"), {"title": "Elsewhere", "category": other_cat.pk}, format="json")
    assert r.status_code == 400
    r = api.post(url(shop, "products/"), {"title": "Mine too", "category": mine_cat.pk,
                                          "skus": [{"code": "MINE-2", "price": "1.00"}]}, format="json")  # fmt: skip
    assert r.status_code == 201, r.content
    r = api.post(url(shop, "warehouses/"), {"name": "New", "code": "new"}, format="json")
    assert r.status_code == 403


def test_other_shops_objects_are_404(shop, api):
    other = make_shop()
    foreign = make_product(load_actor(other.owner, other))
    assert api.get(url(shop, f"products/{foreign.pk}/")).status_code == 404
    assert api.post(url(shop, f"products/{foreign.pk}/submit/")).status_code == 404
    r = api.post(url(shop, "skus/"), {"product": foreign.pk, "code": "X1", "price": "1.00"}, format="json")
    assert r.status_code == 400


def test_images_upload_validate_and_order(shop, api):
    product = make_product(load_actor(shop.owner, shop))
    r1 = api.post(url(shop, f"products/{product.pk}/images/"), {"image": png_upload()}, format="multipart")
    assert r1.status_code == 201, r1.content
    assert r1.json()["width"] == 400 and r1.json()["thumbnail_url"]
    r2 = api.post(url(shop, f"products/{product.pk}/images/"), {"image": png_upload("b.jpg", fmt="JPEG")},
                  format="multipart")  # fmt: skip
    assert r2.status_code == 201
    img = ProductImage.objects.for_shop(shop).get(pk=r1.json()["id"])
    assert max(img.thumbnail.width, img.thumbnail.height) <= 320
    from django.core.files.uploadedfile import SimpleUploadedFile

    for bad in (SimpleUploadedFile("x.png", b"not an image"), png_upload(size=(20, 20)), png_upload(fmt="GIF")):
        r = api.post(url(shop, f"products/{product.pk}/images/"), {"image": bad}, format="multipart")
        assert r.status_code == 400 and "image" in r.json()["error"]["fields"], r.content
    r = api.post(url(shop, f"products/{product.pk}/images/reorder/"),
                 {"order": [r2.json()["id"], r1.json()["id"]]}, format="json")  # fmt: skip
    assert [i["id"] for i in r.json()] == [r2.json()["id"], r1.json()["id"]]
    assert [i["id"] for i in api.get(url(shop, f"products/{product.pk}/")).json()["images"]] == [
        r2.json()["id"], r1.json()["id"]]  # fmt: skip
    r = api.post(url(shop, f"products/{product.pk}/images/reorder/"), {"order": [r2.json()["id"]]}, format="json")
    assert r.status_code == 400
    assert api.delete(url(shop, f"products/{product.pk}/images/{r1.json()['id']}/")).status_code == 204
    assert ProductImage.objects.for_shop(shop).filter(product=product).count() == 1


def test_exports_are_background_jobs_in_csv_and_xlsx(shop, api, django_capture_on_commit_callbacks):
    owner = load_actor(shop.owner, shop)
    wh = make_warehouse(owner)
    product = make_product(owner, skus=2, title="=HYPERLINK(1)")
    services.stock_adjust(actor=owner, sku=first_sku(product), warehouse=wh, delta=4, reason="receipt")
    job, content = run_export(api, shop, "products/export/", django_capture_on_commit_callbacks)
    assert (job["kind"], job["format"], job["processed_rows"], job["with_cost"]) == ("products", "csv", 2, True)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[0]["cost"] == "60.00"
    assert rows[0]["title"] == "'=HYPERLINK(1)"  # a formula stays text (backoffice.tabular)
    _job, content = run_export(api, shop, "products/export/", django_capture_on_commit_callbacks, format="xlsx")
    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    assert len(list(ws.iter_rows(values_only=True))) == 3
    # Filters: from the query string (like the list; ``file_format`` as when the export was a GET), or in the body.
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(url(shop, "products/export/") + "?search=nothing-matches&file_format=xlsx", {}, format="json")
    job = api.get(r.json()["url"]).json()
    assert (job["processed_rows"], job["format"], job["filters"]) == (0, "xlsx", {"search": "nothing-matches"})
    job, content = run_export(api, shop, "stock/export/", django_capture_on_commit_callbacks,
                              filters={"warehouse": wh.pk})  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    second = SKU.objects.for_shop(shop).filter(product=product).order_by("id").last()
    assert sorted(rows, key=lambda r: r["sku"]) == sorted([
        {"sku": first_sku(product).code, "warehouse": wh.code, "on_hand": "4", "reserved": "0", "available": "4",
         "title": "'=HYPERLINK(1)"},
        # The never-stocked variant is on the list, so in the export of it.
        {"sku": second.code, "warehouse": wh.code, "on_hand": "0", "reserved": "0", "available": "0",
         "title": "'=HYPERLINK(1)"}], key=lambda r: r["sku"])  # fmt: skip
    listed = api.get(url(shop, "catalog-exports/")).json()["results"]
    assert len(listed) == 4 and {j["kind"] for j in listed} == {"products", "stock"}


def test_an_unfinished_export_has_nothing_to_download(shop, api):
    job = services.export_create(actor=load_actor(shop.owner, shop), kind="stock", fmt="csv")  # not built
    body = api.get(url(shop, f"catalog-exports/{job.pk}/")).json()
    assert body["status"] == "pending" and body["download_url"] is None
    assert api.get(url(shop, f"catalog-exports/{job.pk}/download/")).status_code == 404


def test_exports_follow_the_job_visibility_rule_and_cost(shop):
    """A warehouse-limited member does not see (or download) the owner's all-warehouse export; they see
    their own and a narrower member's; a file with cost prices is refused to members without view_cost."""
    owner = load_actor(shop.owner, shop)
    a, b = make_warehouse(owner), make_warehouse(owner)
    wide = make_member(shop, "admin", scopes={"warehouse": [a.pk, b.pk]})
    narrow = make_member(shop, "operator", scopes={"warehouse": [a.pk]})
    jobs = {
        "owner": make_export(owner, kind="stock"),
        "wide": make_export(load_actor(wide.user, shop), kind="stock"),
        "narrow": make_export(load_actor(narrow.user, shop), kind="stock"),
    }
    for member, visible in ((narrow, {"narrow"}), (wide, {"wide", "narrow"})):
        client = api_client_for(member.user)
        listed = {j["id"] for j in client.get(url(shop, "catalog-exports/")).json()["results"]}
        assert listed == {jobs[k].pk for k in visible}
        for key, job in jobs.items():
            expected = 200 if key in visible else 404
            assert client.get(url(shop, f"catalog-exports/{job.pk}/")).status_code == expected, (key, member)
            assert client.get(url(shop, f"catalog-exports/{job.pk}/download/")).status_code == expected
    with_cost = make_export(owner, kind="products")
    assert with_cost.with_cost
    operator = api_client_for(make_member(shop, "operator").user)  # no catalog.view_cost
    r = operator.get(url(shop, f"catalog-exports/{with_cost.pk}/download/"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    finance = api_client_for(make_member(shop, "finance").user)
    assert finance.get(url(shop, f"catalog-exports/{with_cost.pk}/download/")).status_code == 200
    assert ExportJob.objects.for_shop(shop).count() == 4


# --------------------------------------------------------------------------------------------- platform


def test_platform_moderation(shop, api, platform_moderator):
    product = make_product(load_actor(shop.owner, shop))
    api.post(url(shop, f"products/{product.pk}/submit/"))
    staff = APIClient()
    staff.force_authenticate(platform_moderator)
    pending = staff.get("/api/v1/platform/products/").json()["results"]
    assert [p["id"] for p in pending] == [product.pk]
    r = staff.post(f"/api/v1/platform/products/{product.pk}/reject/", {}, format="json")
    assert r.status_code == 400
    r = staff.post(f"/api/v1/platform/products/{product.pk}/reject/", {"reason": "No photos"}, format="json")
    assert r.json()["status"] == "rejected" and r.json()["rejection_reason"] == "No photos"
    assert api.get(url(shop, f"products/{product.pk}/")).json()["rejection_reason"] == "No photos"
    assert staff.post(f"/api/v1/platform/products/{product.pk}/approve/").status_code == 409
    api.post(url(shop, f"products/{product.pk}/submit/"))
    assert staff.post(f"/api/v1/platform/products/{product.pk}/approve/").json()["status"] == "approved"
    # Content edit → back to review; a price edit does not.
    sku = first_sku(product)
    api.patch(url(shop, f"skus/{sku.pk}/"), {"price": "150.00"}, format="json")
    assert api.get(url(shop, f"products/{product.pk}/")).json()["status"] == "approved"
    api.patch(url(shop, f"products/{product.pk}/"), {"title": "Renamed"}, format="json")
    assert api.get(url(shop, f"products/{product.pk}/")).json()["status"] == "pending_review"


def test_platform_endpoints_refuse_non_staff(shop, api):
    product = make_product(load_actor(shop.owner, shop))
    api.post(url(shop, f"products/{product.pk}/submit/"))
    for method, path in (("get", "/api/v1/platform/products/"), ("post", f"/api/v1/platform/products/{product.pk}/approve/"),
                         ("post", f"/api/v1/platform/products/{product.pk}/reject/")):  # fmt: skip
        r = getattr(api, method)(path, {"reason": "x"}, format="json")
        assert r.status_code == 403, (path, r.status_code)
    assert APIClient().get("/api/v1/platform/products/").status_code in (401, 403)
    product.refresh_from_db()
    assert product.status == "pending_review"


def test_platform_moderation_needs_the_moderators_group(shop, api):
    """The API asks what the admin asks: staff outside the "Platform moderators" group neither see the queue
    nor decide (403, the product unchanged); a moderator does both."""
    from django.contrib.auth.models import Permission

    product = make_product(load_actor(shop.owner, shop))
    api.post(url(shop, f"products/{product.pk}/submit/"))
    plain = APIClient()
    plain.force_authenticate(make_platform_user())
    base = f"/api/v1/platform/products/{product.pk}"
    for method, path in (("get", "/api/v1/platform/products/"), ("get", f"{base}/"), ("post", f"{base}/approve/"),
                         ("post", f"{base}/reject/")):  # fmt: skip
        r = getattr(plain, method)(path, {"reason": "x"}, format="json")
        assert r.status_code == 403, (path, r.status_code)
        assert r.json()["error"]["message"] == "Only platform moderators may moderate products."
    product.refresh_from_db()
    assert product.status == "pending_review" and product.reviewed_by is None

    # Seeing the queue is not deciding: view_product alone lists and reads, approve/reject stay refused.
    viewer = make_platform_user()
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename="view_product"))
    looker = APIClient()
    looker.force_authenticate(viewer)
    assert [p["id"] for p in looker.get("/api/v1/platform/products/").json()["results"]] == [product.pk]
    assert looker.get(f"{base}/").status_code == 200
    assert looker.post(f"{base}/approve/").status_code == 403
    assert looker.post(f"{base}/reject/", {"reason": "x"}, format="json").status_code == 403

    moderator = APIClient()
    moderator.force_authenticate(make_platform_moderator())
    r = moderator.post(f"{base}/reject/", {"reason": "No photos"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    api.post(url(shop, f"products/{product.pk}/submit/"))
    r = moderator.post(f"{base}/approve/")
    assert r.status_code == 200 and r.json()["status"] == "approved"


def test_openapi_documents_catalog(api):
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(schema.content)["paths"]
    for p in ("/api/v1/shops/{shop}/products/", "/api/v1/shops/{shop}/products/{id}/submit/",
              "/api/v1/shops/{shop}/stock/adjustments/", "/api/v1/shops/{shop}/imports/",
              "/api/v1/shops/{shop}/low-stock-alerts/", "/api/v1/platform/products/{id}/approve/"):  # fmt: skip
        assert p in paths, p


# --------------------------------------------------------------------------------------------- query counts


@pytest.mark.parametrize("path", ["products/", "stock/", "skus/", "stock-movements/", "low-stock-alerts/"])
def test_api_lists_do_not_grow_with_page_size(busy_catalog, path):
    shop = busy_catalog
    member = make_member(shop, "operator", scopes={"category": list(
        Category.objects.for_shop(shop).values_list("pk", flat=True))})  # fmt: skip
    for client in (api_client_for(shop.owner), api_client_for(member.user)):
        small, r_small = count_queries(client, url(shop, path), page_size=2)
        large, r_large = count_queries(client, url(shop, path), page_size=30)
        assert len(r_small.json()["results"]) == 2 and len(r_large.json()["results"]) == 30
        assert small == large, (path, small, large)


def test_a_category_moves_but_never_under_itself_or_its_descendants(shop, api):
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases", parent=phones)
    leather = services.category_create(actor=owner, name="Leather", parent=cases)
    tree = dict(Category.objects.for_shop(shop).values_list("pk", "parent_id"))
    for under in (cases, leather, phones):  # a child, a grandchild, itself
        r = api.patch(url(shop, f"categories/{phones.pk}/"), {"parent": under.pk}, format="json")
        assert r.status_code == 400, r.content
        error = r.json()["error"]
        assert error["code"] == "category_cycle" and error["fields"]["parent"] == [
            "A category cannot sit under itself."
        ]
    assert dict(Category.objects.for_shop(shop).values_list("pk", "parent_id")) == tree
    r = api.patch(url(shop, f"categories/{leather.pk}/"), {"parent": phones.pk}, format="json")
    assert r.status_code == 200 and r.json()["parent"] == phones.pk
    r = api.patch(url(shop, f"categories/{cases.pk}/"), {"parent": None}, format="json")
    assert r.status_code == 200 and r.json()["parent"] is None
    # Another shop's category is no parent here.
    other = make_shop()
    theirs = services.category_create(actor=load_actor(other.owner, other), name="Theirs")
    r = api.patch(url(shop, f"categories/{cases.pk}/"), {"parent": theirs.pk}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["error"]["fields"]
    assert Category.objects.for_shop(shop).get(pk=cases.pk).parent_id is None


def test_a_warehouse_is_edited_closed_and_its_code_stays_unique(shop, api):
    owner = load_actor(shop.owner, shop)
    main, spare = make_warehouse(owner, code="main"), make_warehouse(owner, code="spare")
    r = api.post(url(shop, "warehouses/"), {"name": "Again", "code": "main"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"]["code"] == ["A warehouse with this code exists."]
    r = api.patch(url(shop, f"warehouses/{spare.pk}/"), {"code": "main"}, format="json")
    assert r.status_code == 400 and "code" in r.json()["error"]["fields"]
    assert Warehouse.objects.for_shop(shop).get(pk=spare.pk).code == "spare"
    r = api.patch(url(shop, f"warehouses/{spare.pk}/"), {"name": "Overflow", "address": "2 Quay", "is_active": False},
                  format="json")  # fmt: skip
    assert r.status_code == 200, r.content
    assert {k: r.json()[k] for k in ("name", "code", "address", "is_active")} == {
        "name": "Overflow", "code": "spare", "address": "2 Quay", "is_active": False}  # fmt: skip
    # A closed warehouse takes no stock (409); the other one still does; reopening it works.
    sku = first_sku(make_product(owner))
    body = {"sku": sku.code, "delta": 3, "reason": "receipt"}
    r = api.post(url(shop, "stock/adjustments/"), {**body, "warehouse": spare.pk}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "warehouse_inactive"
    assert api.post(url(shop, "stock/adjustments/"), {**body, "warehouse": main.pk}, format="json").status_code == 201
    assert api.patch(url(shop, f"warehouses/{spare.pk}/"), {"is_active": True}, format="json").status_code == 200
    assert api.post(url(shop, "stock/adjustments/"), {**body, "warehouse": spare.pk}, format="json").status_code == 201


def test_an_adjustment_naming_another_shops_sku_or_warehouse_is_refused_in_both_shops(shop, api):
    owner = load_actor(shop.owner, shop)
    sku, wh = first_sku(make_product(owner)), make_warehouse(owner)
    other = make_shop()
    theirs = load_actor(other.owner, other)
    their_sku, their_wh = first_sku(make_product(theirs)), make_warehouse(theirs)
    services.stock_adjust(actor=theirs, sku=their_sku, warehouse=their_wh, delta=4, reason="receipt")

    def state():
        return [(list(Stock.objects.for_shop(s).values_list("sku_id", "warehouse_id", "on_hand")),
                 StockMovement.objects.for_shop(s).count()) for s in (shop, other)]  # fmt: skip

    before = state()
    for sku_ref, wh_ref, field in [(their_sku.code, wh.pk, "sku"), (their_sku.pk, wh.pk, "sku"),
                                   (sku.code, their_wh.pk, "warehouse"), (their_sku.code, their_wh.pk, "sku")]:  # fmt: skip
        r = api.post(url(shop, "stock/adjustments/"), {"sku": sku_ref, "warehouse": wh_ref, "delta": -1,
                                                        "reason": "loss"}, format="json")  # fmt: skip
        assert r.status_code == 400 and field in r.json()["error"]["fields"], (sku_ref, wh_ref, r.content)
    assert state() == before
