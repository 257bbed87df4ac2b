"""The catalog pages in a real browser: a product with two variants submitted for review, a stock
adjustment and its movement, an import with its progress and error report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backoffice.authz import load_actor, system_actor
from catalog import services
from catalog.models import SKU, Product
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import make_member, make_shop

pytestmark = pytest.mark.browser


def catalog_url(live_server, shop, path: str) -> str:
    return f"{live_server.url}/shops/{shop.pk}/catalog/{path}"


def test_create_product_with_two_variants_and_submit(page: Page, live_server, login, screenshot):
    shop = make_shop("Gadgets")
    services.category_create(actor=load_actor(shop.owner, shop), name="Phones")
    login(page, shop.owner)
    page.locator("#nav [data-nav=products]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    page.locator("#add-product").click()
    form = page.locator("#product-form")
    form.get_by_label("Title").fill("Aurora phone")
    form.get_by_label("Category").select_option(label="Phones")
    page.locator("[name=variants-0-code]").fill("AUR-BLK")
    page.locator("[name=variants-0-price]").fill("990.00")
    page.locator("[name=variants-0-attributes]").fill("color: black; memory: 128 GB")
    page.locator("[name=variants-1-code]").fill("AUR-WHT")
    page.locator("[name=variants-1-price]").fill("1010.00")
    screenshot(page, "catalog-product-new")
    page.locator("#save-product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aurora phone")
    expect(page.locator("#product-status [data-status]")).to_have_text("Draft")
    page.locator("#submit-product").click()
    expect(page.locator("#product-status [data-status]")).to_have_text("Pending review")
    screenshot(page, "catalog-product-pending")
    product = Product.objects.for_shop(shop).get(title="Aurora phone")
    assert product.status == "pending_review"
    assert sorted(SKU.objects.for_shop(shop).filter(product=product).values_list("code", flat=True)) == [
        "AUR-BLK", "AUR-WHT"]  # fmt: skip
    assert SKU.objects.for_shop(shop).get(code="AUR-BLK").attributes == {"color": "black", "memory": "128 GB"}
    # The list shows it as pending too.
    page.goto(catalog_url(live_server, shop, "products/?status=pending_review"))
    expect(page.locator(f"#product-table tr[data-product='{product.pk}']")).to_contain_text("Pending review")


def test_adjust_stock_and_see_the_movement(page: Page, live_server, login, screenshot):
    shop = make_shop("Stocky")
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner, title="Kettle"))
    wh = make_warehouse(owner, code="main")
    login(page, shop.owner)
    page.goto(catalog_url(live_server, shop, "stock/"))
    form = page.locator("#adjust-form")
    form.get_by_label("SKU code").fill(sku.code)
    form.get_by_label("Warehouse").select_option(value=str(wh.pk))
    form.get_by_label("Change (+/−)").fill("12")
    form.get_by_label("Reason").select_option("receipt")
    form.get_by_label("Note").fill("PO-42")
    page.locator("#adjust-submit").click()
    row = page.locator(f"#stock-table tr[data-sku='{sku.code}']")
    expect(row.locator(".on-hand")).to_have_text("12")
    expect(row.locator(".available")).to_have_text("12")
    # Taking away more than is available is refused on the form.
    form.get_by_label("SKU code").fill(sku.code)
    form.get_by_label("Change (+/−)").fill("-20")
    form.get_by_label("Reason").select_option("loss")
    page.locator("#adjust-submit").click()
    expect(page.locator("#adjust-form .errorlist")).to_contain_text("available")
    screenshot(page, "catalog-stock")
    row.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/stock/movements/"))
    movement = page.locator("#movement-table tr[data-kind=receipt]")
    expect(movement).to_contain_text("PO-42")
    expect(movement).to_contain_text("+12 → 12")
    screenshot(page, "catalog-movements")


def test_import_shows_progress_and_error_report(page: Page, live_server, login, screenshot, tmp_path):
    shop = make_shop("Importer")
    login(page, shop.owner)
    page.goto(catalog_url(live_server, shop, "imports/"))
    data = tmp_path / "products.csv"
    data.write_text("sku,title,price\nIMP-1,Lamp,990\nIMP-2,Chair,abc\nIMP-3,Table,1500\n")
    form = page.locator("#import-form")
    form.get_by_label("What").select_option("products")
    form.get_by_label("CSV or XLSX file").set_input_files(str(data))
    page.locator("#import-submit").click()
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done")
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    expect(progress).to_contain_text("created 2")
    expect(page.locator("#import-errors")).to_contain_text("IMP-2")
    screenshot(page, "catalog-import")
    with page.expect_download() as info:
        page.locator("#error-report").click()
    report = info.value.path().read_text()
    assert "IMP-2" in report and "price" in report
    assert set(SKU.objects.for_shop(shop).values_list("code", flat=True)) == {"IMP-1", "IMP-3"}


@pytest.mark.worker
def test_import_page_polls_a_real_worker_until_done(page: Page, live_server, celery_worker, login, tmp_path):
    """The page shows the job while a real Celery worker runs it, and refreshes itself until it is done."""
    shop = make_shop("Polling importer")
    login(page, shop.owner)
    page.goto(catalog_url(live_server, shop, "imports/"))
    rows = "\n".join(f"POLL-{i:05d},Item {i},{100 + i % 7}.00" for i in range(1500))
    data = tmp_path / "many.csv"
    data.write_text(f"sku,title,price\n{rows}\n")
    form = page.locator("#import-form")
    form.get_by_label("What").select_option("products")
    form.get_by_label("CSV or XLSX file").set_input_files(str(data))
    page.locator("#import-submit").click()
    progress = page.locator("#import-progress")
    # Still at work when the page first shows it (the worker takes seconds for 1,500 rows)...
    expect(progress).to_have_attribute("data-status", re.compile("pending|running"))
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    # ...and the page refreshes itself, without a reload, until the worker is done.
    expect(progress).to_have_attribute("data-status", "done", timeout=120_000)
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    expect(progress).to_contain_text("created 1500")
    expect(progress).not_to_have_attribute("hx-trigger", "every 1s")
    assert SKU.objects.for_shop(shop).filter(code__startswith="POLL-").count() == 1500


@pytest.mark.worker
def test_export_from_the_product_list_is_built_by_a_worker_and_downloaded(page: Page, live_server, celery_worker,
                                                                        login, screenshot):  # fmt: skip
    """The list's export button starts a background job; the exports page refreshes itself (no reload)
    until a real Celery worker has built the file, then offers it for download."""
    shop = make_shop("Exporter")
    owner = load_actor(shop.owner, shop)
    for i in range(30):
        make_product(owner, title=f"Export item {i}", skus=2)
    login(page, shop.owner)
    page.goto(catalog_url(live_server, shop, "products/?search=Export+item+1"))
    page.locator("#export-csv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalog exports")
    row = page.locator("#exports-table tr[data-export]").first
    expect(row).to_have_attribute("data-status", "done", timeout=60_000)
    screenshot(page, "catalog-exports")
    with page.expect_download() as info:
        row.locator("[data-download]").click()
    content = info.value.path().read_text(encoding="utf-8-sig")
    lines = content.strip().splitlines()
    assert lines[0].startswith("product_ref,title") and len(lines) == 1 + 2 * 11  # "Export item 1", 10..19


def test_restock_from_a_low_stock_alert_opens_the_form_ready_for_the_quantity(page: Page, live_server, login,
                                                                             screenshot):  # fmt: skip
    """Issue 11: "Restock" used to open a stock page searched for the SKU, with an empty form (and an empty
    list for a SKU never stocked). It opens the adjustment form for that SKU and the warehouse it was last
    stocked in, the cursor in the quantity: type the number, press Enter."""
    shop = make_shop("Restocker")
    owner = load_actor(shop.owner, shop)
    make_warehouse(owner, code="main")
    back = make_warehouse(owner, code="back")
    sku = first_sku(make_product(owner, title="Kettle"))
    never = first_sku(make_product(owner, title="Toaster"))
    services.stock_adjust(actor=owner, sku=sku, warehouse=back, delta=2, reason="receipt")
    services.low_stock_scan(actor=system_actor(shop))
    login(page, shop.owner)
    page.locator("#nav [data-nav=low-stock]").click()
    page.locator(f"#alert-table [data-restock='{sku.code}']").click()
    expect(page).to_have_url(re.compile(r"/stock/\?sku="))
    form = page.locator("#adjust-form")
    expect(form.get_by_label("SKU code")).to_have_value(sku.code)
    expect(form.get_by_label("Warehouse")).to_have_value(str(back.pk))
    expect(form.get_by_label("Reason")).to_have_value("receipt")
    expect(form.get_by_label("Change (+/−)")).to_be_focused()
    # The list shows the level being changed.
    row = page.locator(f"#stock-table tr[data-sku='{sku.code}'][data-warehouse='back']")
    expect(row.locator(".on-hand")).to_have_text("2")
    screenshot(page, "catalog-restock")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    expect(page.locator(f"#stock-table tr[data-sku='{sku.code}'][data-warehouse='back'] .on-hand")).to_have_text("22")
    # A SKU never stocked is on the stock list too, at 0, and its Restock opens the form the same way.
    expect(page.locator(f"#stock-table tr[data-sku='{never.code}'] .on-hand")).to_have_text("0")
    page.goto(catalog_url(live_server, shop, "low-stock/"))
    page.locator(f"#alert-table [data-restock='{never.code}']").click()
    expect(page.locator("#adjust-form").get_by_label("SKU code")).to_have_value(never.code)
    expect(page.locator("#adjust-form").get_by_label("Change (+/−)")).to_be_focused()
    expect(page.locator(f"#stock-table tr[data-sku='{never.code}'] .on-hand")).to_have_text("0")


def test_a_viewer_reads_a_product_and_is_offered_nothing_to_change(page: Page, live_server, login, screenshot):
    """Issue 11: a viewer saw the category as "—" (a disabled edit list they had no choices in) and "Save to
    get more empty rows" with no Save button. They see the product as it is, and no Import in the menu."""
    shop = make_shop("Readers")
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    product = services.product_create(
        actor=owner, title="Aurora phone", brand="Northwind", category=phones, attributes={"screen": "6.1in"},
        skus=[{"code": "AUR-BLK", "price": "990.00", "attributes": {"color": "black"}}],
    )  # fmt: skip
    viewer = make_member(shop, "viewer").user
    login(page, viewer)
    nav = page.locator("#nav")
    expect(nav.locator("[data-nav=products]")).to_be_visible()
    expect(nav.locator("[data-nav=imports]")).to_have_count(0)
    page.goto(catalog_url(live_server, shop, f"products/{product.pk}/"))
    expect(page.locator("#product-category")).to_have_text("Phones")
    expect(page.locator("#product-brand")).to_have_text("Northwind")
    expect(page.locator("#product-attributes")).to_contain_text("screen: 6.1in")
    variant = page.locator("#variants tr[data-sku='AUR-BLK']")
    expect(variant.locator(".price")).to_contain_text("990.00")
    expect(variant).to_contain_text("color: black")
    expect(page.locator("main input:not([type=hidden]), main select, main textarea")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Save")
    screenshot(page, "catalog-product-read-only")
