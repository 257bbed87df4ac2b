"""The catalog pages: product list and form with variants, moderation buttons, stock with adjustments
and history, import with progress and error report, low-stock alerts; cost hidden without view_cost."""

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.authz import load_actor, system_actor
from catalog import services
from catalog.models import SKU, Category, ExportJob, ImportJob, Product, Stock, StockMovement, Warehouse
from catalog.tests.factories import first_sku, make_export, make_product, make_warehouse, png_upload
from tests.fixtures import api_client_for, count_queries, make_member, make_platform_user, make_shop, web_client_for

pytestmark = pytest.mark.django_db


def base(shop) -> str:
    return f"/shops/{shop.pk}/catalog"


def variants(rows: list[dict], initial: int = 0) -> dict:
    data = {"variants-TOTAL_FORMS": str(len(rows)), "variants-INITIAL_FORMS": str(initial),
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "50"}  # fmt: skip
    for i, row in enumerate(rows):
        data.update({f"variants-{i}-{k}": v for k, v in row.items()})
    return data


def test_create_product_with_two_variants_then_submit(shop):
    web = web_client_for(shop.owner, reauth=False)
    owner = load_actor(shop.owner, shop)
    cat = services.category_create(actor=owner, name="Phones")
    r = web.get(f"{base(shop)}/products/new/")
    assert r.status_code == 200 and b"variants-TOTAL_FORMS" in r.content
    data = {"title": "Phone Z", "brand": "Acme", "category": str(cat.pk), "description": "Shiny", "attributes": "",
            **variants([{"code": "PZ-1", "price": "10.00", "cost": "4.00", "attributes": '{"color": "red"}'},
                        {"code": "PZ-2", "price": "12.00"}])}  # fmt: skip
    r = web.post(f"{base(shop)}/products/new/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    product = Product.objects.for_shop(shop).get(title="Phone Z")
    assert sorted(SKU.objects.for_shop(shop).filter(product=product).values_list("code", flat=True)) == ["PZ-1", "PZ-2"]
    assert SKU.objects.for_shop(shop).get(code="PZ-1").attributes == {"color": "red"}
    r = web.post(f"{base(shop)}/products/{product.pk}/submit/")
    assert r.status_code == 302
    page = web.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    assert 'data-status="pending_review"' in page
    listing = web.get(f"{base(shop)}/products/", {"status": "pending_review"}).content.decode()
    assert "Phone Z" in listing


def test_form_errors_show_inline(shop):
    web = web_client_for(shop.owner, reauth=False)
    make_product(load_actor(shop.owner, shop))
    taken = SKU.objects.for_shop(shop).first().code
    r = web.post(f"{base(shop)}/products/new/", {"title": "", **variants([{"code": "X", "price": ""}])})
    assert r.status_code == 400 and b"errorlist" in r.content
    r = web.post(f"{base(shop)}/products/new/", {"title": "Dup", **variants([{"code": taken, "price": "1"}])})
    assert r.status_code == 400 and b"A SKU with this code exists" in r.content
    assert Product.objects.for_shop(shop).count() == 1


def test_edit_variants_and_rejection_reason_shown(shop):
    owner = load_actor(shop.owner, shop)
    product = make_product(owner, skus=1)
    sku = first_sku(product)
    mod = make_platform_user()
    services.product_reject(actor=system_actor(shop, user=mod), reason="Blurry",
                            product=services.product_submit(actor=owner, product=product))  # fmt: skip
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    assert "Blurry" in page and 'id="rejection-reason"' in page
    data = {
        "title": "Renamed",
        "brand": "",
        "category": "",
        "description": "",
        "attributes": "",
        **variants([{"id": str(sku.pk), "code": sku.code, "price": "77.00"}, {"code": "ADDED", "price": "5"}], 1),
    }
    assert web.post(f"{base(shop)}/products/{product.pk}/", data).status_code == 302
    assert SKU.objects.for_shop(shop).get(pk=sku.pk).price == 77
    assert SKU.objects.for_shop(shop).filter(product=product, code="ADDED").exists()


def test_cost_column_hidden_without_view_cost(shop):
    product = make_product(load_actor(shop.owner, shop), cost="42.00")
    operator = web_client_for(make_member(shop, "operator").user, reauth=False)
    page = operator.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    assert "variants-0-cost" not in page and "42.00" not in page
    finance = web_client_for(make_member(shop, "finance").user, reauth=False)
    page = finance.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    # Finance may not edit: the read-only page shows the cost as text.
    assert 'class="cost">42.00' in page and "variants-0-cost" not in page
    # An operator saving the form cannot touch the cost.
    data = {"title": product.title, "brand": "", "category": "", "description": "", "attributes": "",
            **variants([{"id": str(first_sku(product).pk), "code": first_sku(product).code, "price": "1.00",
                         "cost": "0.01"}], 1)}  # fmt: skip
    assert operator.post(f"{base(shop)}/products/{product.pk}/", data).status_code == 302
    assert first_sku(product).cost == 42


def test_viewer_sees_no_edit_controls(shop):
    product = make_product(load_actor(shop.owner, shop))
    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    page = viewer.get(f"{base(shop)}/products/").content.decode()
    assert 'id="add-product"' not in page and 'id="bulk-actions"' not in page
    page = viewer.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    assert 'id="save-product"' not in page and 'id="submit-product"' not in page
    assert 'id="adjust-form"' not in viewer.get(f"{base(shop)}/stock/").content.decode()


def test_bulk_archive_and_export(shop, django_capture_on_commit_callbacks):
    owner = load_actor(shop.owner, shop)
    a, b = make_product(owner), make_product(owner)
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"{base(shop)}/products/bulk/", {"action": "archive", "ids": [str(a.pk), str(b.pk)]})
    assert r.status_code == 302
    assert set(Product.objects.for_shop(shop).values_list("status", flat=True)) == {"archived"}
    page = web.get(f"{base(shop)}/products/", {"status": "archived"}).content.decode()
    assert 'id="export-form"' in page and 'name="status" value="archived"' in page  # the list's filters go along
    with django_capture_on_commit_callbacks(execute=True):
        r = web.post(f"{base(shop)}/products/export/", {"ids": [str(a.pk)], "format": "csv"})
    assert r.status_code == 302 and r["Location"] == f"{base(shop)}/exports/"
    job = ExportJob.objects.for_shop(shop).get()
    page = web.get(r["Location"]).content.decode()
    assert f'data-export="{job.pk}" data-status="done"' in page and "hx-trigger" not in page
    download = web.get(f"{base(shop)}/exports/{job.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert a.title in body and b.title not in body
    r = web.post(f"{base(shop)}/products/export/", {"format": "pdf"})
    assert r.status_code == 400 and b"Choose CSV or XLSX" in r.content
    assert ExportJob.objects.for_shop(shop).count() == 1  # nothing was started


def test_exports_page_polls_while_an_export_is_built_and_hides_what_a_member_may_not_download(shop):
    owner = load_actor(shop.owner, shop)
    make_product(owner)
    pending = services.export_create(actor=owner, kind="stock", fmt="xlsx")  # not built yet
    with_cost = make_export(owner, kind="products")
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(f"{base(shop)}/exports/").content.decode()
    assert 'hx-trigger="every 2s"' in page and f'data-export="{pending.pk}" data-status="pending"' in page
    assert f'data-download="{with_cost.pk}"' in page
    operator = web_client_for(make_member(shop, "operator").user, reauth=False)  # no catalog.view_cost
    page = operator.get(f"{base(shop)}/exports/").content.decode()
    assert f'data-export="{with_cost.pk}"' in page and f'data-download="{with_cost.pk}"' not in page
    assert operator.get(f"{base(shop)}/exports/{with_cost.pk}/download/").status_code == 403
    assert operator.get(f"{base(shop)}/exports/{pending.pk}/download/").status_code == 404


def test_a_warehouse_limited_member_sees_only_exports_within_their_scope(shop):
    owner = load_actor(shop.owner, shop)
    a = make_warehouse(owner)
    narrow = make_member(shop, "operator", scopes={"warehouse": [a.pk]})
    owners = make_export(owner, kind="stock")
    mine = make_export(load_actor(narrow.user, shop), kind="stock", filters={"warehouse": a.pk})
    web = web_client_for(narrow.user, reauth=False)
    page = web.get(f"{base(shop)}/exports/").content.decode()
    assert f'data-export="{mine.pk}"' in page and f'data-export="{owners.pk}"' not in page
    assert web.get(f"{base(shop)}/exports/{owners.pk}/download/").status_code == 404
    assert web.get(f"{base(shop)}/exports/{mine.pk}/download/").status_code == 200


def test_stock_adjustment_and_history(shop):
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"{base(shop)}/stock/", {"sku": sku.code, "warehouse": str(wh.pk), "delta": "8", "reason": "receipt",
                                          "note": "PO-7"})  # fmt: skip
    assert r.status_code == 302
    assert Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh).on_hand == 8
    r = web.post(f"{base(shop)}/stock/", {"sku": sku.code, "warehouse": str(wh.pk), "delta": "-9", "reason": "loss"})
    assert r.status_code == 400 and b"Only 8 units are available" in r.content
    page = web.get(f"{base(shop)}/stock/", {"warehouse": wh.pk}).content.decode()
    assert f'data-sku="{sku.code}"' in page
    history = web.get(f"{base(shop)}/stock/movements/", {"sku": sku.code}).content.decode()
    assert "PO-7" in history and 'data-kind="receipt"' in history
    assert StockMovement.objects.for_shop(shop).count() == 1


def test_import_page_progress_and_report(shop, django_capture_on_commit_callbacks):
    web = web_client_for(shop.owner, reauth=False)
    upload = SimpleUploadedFile("p.csv", b"sku,title,price\nOK-1,Fine,5\nBAD-1,Broken,abc\n")
    with django_capture_on_commit_callbacks(execute=True):
        r = web.post(f"{base(shop)}/imports/", {"kind": "products", "file": upload})
    assert r.status_code == 302
    job = ImportJob.objects.for_shop(shop).get()
    page = web.get(r["Location"]).content.decode()
    assert 'data-status="done"' in page and 'value="100"' in page and 'id="error-report"' in page
    assert "BAD-1" in page
    report = b"".join(web.get(f"{base(shop)}/imports/{job.pk}/report/").streaming_content).decode("utf-8-sig")
    assert "BAD-1" in report and "price" in report
    r = web.post(f"{base(shop)}/imports/", {"kind": "products", "file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    assert r.status_code == 400 and b"Missing columns" in r.content


def test_images_via_page(shop):
    product = make_product(load_actor(shop.owner, shop))
    web = web_client_for(shop.owner, reauth=False)
    assert web.post(f"{base(shop)}/products/{product.pk}/images/", {"image": png_upload()}).status_code == 302
    assert web.post(f"{base(shop)}/products/{product.pk}/images/", {"image": png_upload("b.png")}).status_code == 302
    ids = list(product.images.order_by("position").values_list("pk", flat=True))
    web.post(f"{base(shop)}/products/{product.pk}/images/", {"move": str(ids[1]), "dir": "up"})
    assert list(product.images.order_by("position").values_list("pk", flat=True)) == [ids[1], ids[0]]
    web.post(f"{base(shop)}/products/{product.pk}/images/", {"delete": str(ids[0])})
    assert list(product.images.values_list("pk", flat=True)) == [ids[1]]
    r = web.post(f"{base(shop)}/products/{product.pk}/images/", {"image": SimpleUploadedFile("x.png", b"nope")})
    assert r.status_code == 400 and b"not an image" in r.content
    r = web.post(f"{base(shop)}/products/{product.pk}/images/", {})
    assert r.status_code == 400 and b"Choose an image file." in r.content
    for action in ("delete", "move"):
        r = web.post(f"{base(shop)}/products/{product.pk}/images/", {action: str(ids[0])})  # deleted above
        assert r.status_code == 404 and b"No such image." in r.content
    assert list(product.images.values_list("pk", flat=True)) == [ids[1]]


def test_low_stock_page(shop):
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner))
    services.low_stock_scan(actor=system_actor(shop))
    web = web_client_for(make_member(shop, "viewer").user, reauth=False)
    page = web.get(f"{base(shop)}/low-stock/").content.decode()
    assert f'data-sku="{sku.code}"' in page


def test_scoped_member_pages(shop):
    owner = load_actor(shop.owner, shop)
    mine, other = (
        services.category_create(actor=owner, name="Mine"),
        services.category_create(actor=owner, name="Other"),
    )
    p_mine, p_other = make_product(owner, category=mine), make_product(owner, category=other)
    web = web_client_for(make_member(shop, "operator", scopes={"category": [mine.pk]}).user, reauth=False)
    page = web.get(f"{base(shop)}/products/").content.decode()
    assert p_mine.title in page and p_other.title not in page
    assert web.get(f"{base(shop)}/products/{p_other.pk}/").status_code == 404
    assert web.post(f"{base(shop)}/products/{p_other.pk}/submit/").status_code == 404


@pytest.mark.parametrize("path", ["/products/", "/stock/", "/stock/movements/", "/low-stock/"])
def test_pages_do_not_grow_with_rows(busy_catalog, path):
    busy = busy_catalog
    web = web_client_for(busy.owner, reauth=False)

    def count(page):
        return count_queries(web, base(busy) + path, page=page)[0]

    assert count(1) == count(2)  # 25 rows vs the rest


def test_adjustment_reasons_match_the_service():
    from catalog.web.forms import AdjustmentForm

    assert [c for c, _label in AdjustmentForm.base_fields["reason"].choices] == list(services.ADJUSTMENT_REASONS)


def test_remove_a_variant_from_the_product_page(shop):
    owner = load_actor(shop.owner, shop)
    product = make_product(owner, skus=2)
    first, spare = SKU.objects.for_shop(shop).filter(product=product).order_by("id")
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(f"/shops/{shop.pk}/catalog/products/{product.pk}/").content.decode()
    assert f'data-remove-sku="{spare.code}"' in page
    confirm = web.get(f"/shops/{shop.pk}/catalog/skus/{spare.pk}/delete/").content.decode()
    assert f"Remove variant {spare.code}?" in confirm and "confirm-remove-sku" in confirm
    r = web.post(f"/shops/{shop.pk}/catalog/skus/{spare.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/catalog/products/{product.pk}/"
    assert f"Variant {spare.code} removed." in web.get(r["Location"]).content.decode()
    # The last one stays: 409 with the reason and a way back to the product, never a silent redirect.
    r = web.post(f"/shops/{shop.pk}/catalog/skus/{first.pk}/delete/")
    page = r.content.decode()
    assert r.status_code == 409 and "A product keeps at least one variant" in page
    assert f'href="/shops/{shop.pk}/catalog/products/{product.pk}/"' in page
    assert list(SKU.objects.for_shop(shop).filter(product=product)) == [first]


def test_a_member_limited_to_warehouses_cannot_add_one_on_the_page(shop):
    owner = load_actor(shop.owner, shop)
    mine = make_warehouse(owner)
    web = web_client_for(make_member(shop, "operator", scopes={"warehouse": [mine.pk]}).user, reauth=False)
    page = web.get(f"{base(shop)}/warehouses/").content.decode()
    assert mine.code in page
    r = web.post(f"{base(shop)}/warehouses/", {"name": "Mine too", "code": "mine-too"})
    assert r.status_code == 403 and b"cannot open new ones" in r.content
    assert not Warehouse.objects.for_shop(shop).filter(code="mine-too").exists()
    assert 'name="code"' not in page  # the form is not offered


def test_the_import_page_refuses_an_import_kind_the_member_may_not_run(shop):
    support = web_client_for(make_member(shop, "support").user, reauth=False)
    upload = SimpleUploadedFile("p.csv", b"sku,title,price\nA,B,1\n")
    assert support.post(f"{base(shop)}/imports/", {"kind": "products", "file": upload}).status_code == 403
    assert not ImportJob.objects.for_shop(shop).exists()


# --------------------------------------------------------------------------------------------- refusals
# A page action the service refuses answers 4xx with the reason and changes nothing: never a silent 302.


def audit_count(shop) -> int:
    return apps.get_model(settings.AUDIT_ENTRY_MODEL).objects.for_shop(shop).count()


def _draft(owner):
    return make_product(owner)


def _pending(owner):
    return services.product_submit(actor=owner, product=make_product(owner))


def _archived(owner):
    return services.product_archive(actor=owner, product=make_product(owner))


def _without_variants(owner):
    # Saved before a product needed a SKU (the services refuse one now): it still cannot be submitted.
    return Product.objects.for_shop(owner.shop).create(shop=owner.shop, title="Legacy, no variants")


@pytest.mark.parametrize(
    "build, op, status, reason",
    [
        (_draft, "unarchive", 409, "cannot go to"),  # not archived
        (_pending, "submit", 409, "cannot go to"),  # already submitted
        (_archived, "archive", 409, "cannot go to"),  # already archived
        (_without_variants, "submit", 400, "Add at least one variant"),
    ],
)
def test_a_refused_status_change_answers_4xx_with_the_reason(shop, owner, build, op, status, reason):
    product = build(owner)
    before, audited = product.status, audit_count(shop)
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"{base(shop)}/products/{product.pk}/{op}/")
    page = r.content.decode()
    assert r.status_code == status and reason in page and 'id="refusal"' in page
    assert f'href="{base(shop)}/products/{product.pk}/"' in page  # Back leads to the product
    product.refresh_from_db()
    assert product.status == before and audit_count(shop) == audited


def test_bulk_action_names_failures_and_answers_4xx_when_none_worked(shop, owner):
    draft, pending = make_product(owner, title="Fresh"), _pending(owner)
    web = web_client_for(shop.owner, reauth=False)
    bulk = f"{base(shop)}/products/bulk/"
    # Some worked: back to the list, which names the one that did not.
    r = web.post(bulk, {"action": "submit", "ids": [str(draft.pk), str(pending.pk)]})
    assert r.status_code == 302
    page = web.get(r["Location"]).content.decode()
    assert "1 product(s) updated." in page and f"{pending.title}: " in page
    # None worked: 409 with every reason, nothing changed.
    audited = audit_count(shop)
    r = web.post(bulk, {"action": "submit", "ids": [str(draft.pk), str(pending.pk)]})
    page = r.content.decode()
    assert r.status_code == 409 and f"{draft.title}: " in page and f"{pending.title}: " in page
    assert audit_count(shop) == audited
    # Nothing ticked, or only another shop's product: 400 and 404, with the reason.
    r = web.post(bulk, {"action": "archive"})
    assert r.status_code == 400 and b"Tick some products" in r.content
    other = make_shop()
    theirs = make_product(load_actor(other.owner, other))
    r = web.post(bulk, {"action": "archive", "ids": [str(theirs.pk)]})
    assert r.status_code == 404 and b"Not found." in r.content
    theirs.refresh_from_db()
    assert theirs.status == "draft" and set(Product.objects.for_shop(shop).values_list("status", flat=True)) == {
        "pending_review"}  # fmt: skip


def test_the_stock_page_refuses_another_shops_sku_or_warehouse_and_changes_nothing(shop, owner):
    sku, wh = first_sku(make_product(owner)), make_warehouse(owner)
    other = make_shop()
    theirs = load_actor(other.owner, other)
    their_sku, their_wh = first_sku(make_product(theirs)), make_warehouse(theirs)
    web = web_client_for(shop.owner, reauth=False)
    adjust = {"delta": "5", "reason": "receipt"}
    for sku_ref, wh_ref, field in [(their_sku.code, wh.pk, "sku"), (their_sku.pk, wh.pk, "sku"),
                                   (sku.code, their_wh.pk, "warehouse")]:  # fmt: skip
        r = web.post(f"{base(shop)}/stock/", {**adjust, "sku": str(sku_ref), "warehouse": str(wh_ref)})
        assert r.status_code == 400, (sku_ref, wh_ref)
        assert b"errorlist" in r.content and f'id="field-{field}"' in r.content.decode()
    for s in (shop, other):
        assert not Stock.objects.for_shop(s).exists() and not StockMovement.objects.for_shop(s).exists()


def test_warehouse_pages_add_edit_close_and_refuse_a_taken_code(shop, owner):
    main, spare = make_warehouse(owner, code="main"), make_warehouse(owner, code="spare")
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"{base(shop)}/warehouses/", {"name": "Again", "code": "main"})
    assert r.status_code == 400 and b"A warehouse with this code exists." in r.content
    assert Warehouse.objects.for_shop(shop).count() == 2
    assert f'data-edit-warehouse="{main.pk}"' in web.get(f"{base(shop)}/warehouses/").content.decode()
    edit = f"{base(shop)}/warehouses/{spare.pk}/"
    assert 'value="spare"' in web.get(edit).content.decode()
    r = web.post(edit, {"name": "Spare", "code": "main", "address": "", "is_active": "on"})
    assert r.status_code == 400 and b"A warehouse with this code exists." in r.content
    r = web.post(edit, {"name": "Overflow", "code": "overflow", "address": "2 Quay"})  # is_active unticked: close it
    assert r.status_code == 302
    spare.refresh_from_db()
    assert (spare.name, spare.code, spare.address, spare.is_active) == ("Overflow", "overflow", "2 Quay", False)
    assert Warehouse.objects.for_shop(shop).get(pk=main.pk).code == "main"
    # A closed warehouse takes no stock: the adjustment form says why.
    sku = first_sku(make_product(owner))
    r = web.post(
        f"{base(shop)}/stock/", {"sku": sku.code, "warehouse": str(spare.pk), "delta": "1", "reason": "receipt"}
    )
    assert r.status_code == 400 and b"This warehouse is closed." in r.content
    assert not Stock.objects.for_shop(shop).exists()
    # Another shop's warehouse has no edit page here.
    other = make_shop()
    assert web.get(f"{base(shop)}/warehouses/{make_warehouse(load_actor(other.owner, other)).pk}/").status_code == 404


def test_category_page_moves_a_category_and_refuses_a_cycle(shop, owner):
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases", parent=phones)
    leather = services.category_create(actor=owner, name="Leather", parent=cases)
    web = web_client_for(shop.owner, reauth=False)
    assert f'data-edit-category="{phones.pk}"' in web.get(f"{base(shop)}/categories/").content.decode()
    tree = dict(Category.objects.for_shop(shop).values_list("pk", "parent_id"))
    for under in (leather, phones):  # its own grandchild, itself
        r = web.post(f"{base(shop)}/categories/{phones.pk}/", {"name": "Phones", "parent": str(under.pk)})
        assert r.status_code == 400 and b"A category cannot sit under itself." in r.content
    assert dict(Category.objects.for_shop(shop).values_list("pk", "parent_id")) == tree
    r = web.post(f"{base(shop)}/categories/{leather.pk}/", {"name": "Leather", "parent": str(phones.pk)})
    assert r.status_code == 302
    assert Category.objects.for_shop(shop).get(pk=leather.pk).parent_id == phones.pk
    r = web.post(f"{base(shop)}/categories/{cases.pk}/", {"name": "Covers", "parent": ""})  # to the root, renamed
    assert r.status_code == 302
    cases.refresh_from_db()
    assert (cases.name, cases.parent_id) == ("Covers", None)


def test_an_export_naming_another_shops_object_is_refused(shop, owner):
    """A filter id of another shop (or of no object) is a 400 naming the filter, not an export of nothing."""
    other = make_shop()
    theirs = load_actor(other.owner, other)
    their_wh, their_product = make_warehouse(theirs), make_product(theirs)
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"{base(shop)}/stock/export/", {"format": "xlsx", "warehouse": str(their_wh.pk)})
    assert r.status_code == 400 and b"warehouse: Unknown warehouse." in r.content
    r = web.post(f"{base(shop)}/products/export/", {"format": "csv", "ids": [str(their_product.pk)]})
    assert r.status_code == 400 and b"ids: Unknown product." in r.content
    api = api_client_for(shop.owner)
    r = api.post(f"/api/v1/shops/{shop.pk}/products/export/", {"filters": {"category": 999999}}, format="json")
    assert r.status_code == 400 and "category" in r.json()["error"]["fields"]
    assert not ExportJob.objects.for_shop(shop).exists() and not ExportJob.objects.for_shop(other).exists()
