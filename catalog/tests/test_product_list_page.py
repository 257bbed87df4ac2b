"""The product list (issue 11, "Gaps sellers notice"): a stock column (units available in the warehouses the
member may see, through the kernel's scope) and a thumbnail of the first image (alt = the title, a placeholder
without one), at a constant number of queries; and the stock page's Adjust button per row, which opens the
adjustment form filled for that SKU and warehouse."""

from __future__ import annotations

import re

import pytest

from backoffice.authz import load_actor
from catalog import services
from catalog.models import Product
from catalog.tests.factories import first_sku, make_product, make_warehouse, png_upload
from tests.fixtures import count_queries, make_member, web_client_for

pytestmark = pytest.mark.django_db


def products_url(shop) -> str:
    return f"/shops/{shop.pk}/catalog/products/"


def row_of(page: str, product) -> str:
    return re.search(rf'<tr data-product="{product.pk}">(.*?)</tr>', page, re.S).group(1)


def stock_cell(page: str, product) -> str:
    return re.search(r'class="stock-total"><a [^>]*>(\d+)</a>', row_of(page, product)).group(1)


@pytest.fixture
def listed(shop, owner):
    """``kettle``: two SKUs, 5 + 2 available at ``main`` (one of them with 1 reserved, so 6) and 4 at ``back``,
    with a photo; ``toaster``: no stock, no photo."""
    from backoffice.authz import system_actor

    main, back = make_warehouse(owner, code="main"), make_warehouse(owner, code="back")
    kettle = make_product(owner, title="Kettle <steel>", skus=2)
    one, two = kettle.skus.order_by("id")
    services.stock_adjust(actor=owner, sku=one, warehouse=main, delta=5, reason="receipt")
    services.stock_adjust(actor=owner, sku=two, warehouse=main, delta=2, reason="receipt")
    services.stock_adjust(actor=owner, sku=two, warehouse=back, delta=4, reason="receipt")
    services.stock_reserve(actor=system_actor(shop), lines=[{"sku": one, "quantity": 1, "warehouse": main}])
    services.image_add(actor=owner, product=kettle, upload=png_upload())
    toaster = make_product(owner, title="Toaster")
    return {"main": main, "back": back, "kettle": kettle, "toaster": toaster}


def test_stock_column_sums_what_the_member_may_see(shop, listed):
    kettle, toaster = listed["kettle"], listed["toaster"]
    page = web_client_for(shop.owner, reauth=False).get(products_url(shop)).content.decode()
    assert (stock_cell(page, kettle), stock_cell(page, toaster)) == ("10", "0")  # (5 - 1) + 2 + 4; nothing
    assert f'href="/shops/{shop.pk}/catalog/stock/?product={kettle.pk}"' in row_of(page, kettle)
    # A member limited to the back warehouse counts only what is there.
    back_only = make_member(shop, "operator", scopes={"warehouse": [listed["back"].pk]})
    page = web_client_for(back_only.user, reauth=False).get(products_url(shop)).content.decode()
    assert (stock_cell(page, kettle), stock_cell(page, toaster)) == ("4", "0")


def test_thumbnail_with_the_title_as_alt_and_a_placeholder_without_image(shop, listed):
    page = web_client_for(shop.owner, reauth=False).get(products_url(shop)).content.decode()
    kettle = row_of(page, listed["kettle"])
    image = listed["kettle"].images.get()
    assert re.search(rf'<img src="[^"]*{re.escape(image.thumbnail.name.rsplit("/", 1)[-1])}" alt="Kettle &lt;steel&gt;"',
                     kettle), kettle  # fmt: skip
    assert 'role="img" aria-label="No image"' in row_of(page, listed["toaster"])
    assert "<img" not in row_of(page, listed["toaster"])
    # The header cells of the checkbox and image columns are named (no empty <th>).
    header = re.search(r'<table id="product-table"><thead>(.*?)</thead>', page, re.S).group(1)
    assert "<th></th>" not in header and ">Stock</th>" in header


def test_list_costs_constant_queries_with_stock_and_images(busy_catalog):
    shop = busy_catalog
    owner = load_actor(shop.owner, shop)
    for product in Product.objects.for_shop(shop).order_by("-id")[:3]:  # photos on page 1 and ...
        services.image_add(actor=owner, product=product, upload=png_upload())
    services.image_add(actor=owner, product=Product.objects.for_shop(shop).order_by("id").first(),
                       upload=png_upload())  # ... on page 2 (30 products, 25 a page)  # fmt: skip
    web = web_client_for(shop.owner, reauth=False)
    first, r1 = count_queries(web, products_url(shop), page=1)
    second, r2 = count_queries(web, products_url(shop), page=2)
    assert r1.content.decode().count("data-product=") == 25 and r2.content.decode().count("data-product=") == 5
    assert first == second, (first, second)
    assert first <= 16, first
    # The same for a member limited to one warehouse (the scope is a subquery, not a query per row).
    wh = make_warehouse(owner)
    scoped = web_client_for(make_member(shop, "operator", scopes={"warehouse": [wh.pk]}).user, reauth=False)
    assert count_queries(scoped, products_url(shop), page=1)[0] == count_queries(scoped, products_url(shop), page=2)[0]


def test_stock_rows_have_an_adjust_button_that_fills_the_form(shop, listed, owner):
    kettle_two = listed["kettle"].skus.order_by("id")[1]
    never = first_sku(listed["toaster"])
    operator = web_client_for(make_member(shop, "operator").user, reauth=False)
    stock = f"/shops/{shop.pk}/catalog/stock/"
    page = operator.get(stock).content.decode()
    # (No #fragment: a browser skips the form's autofocus on the quantity when the URL names a target.)
    links = re.findall(r'<a class="btn btn-small" href="([^"]+)" data-adjust="([^"]+)"', page)
    wanted = f"{stock}?sku={kettle_two.code}&amp;warehouse={listed['back'].pk}"
    assert (wanted, kettle_two.code) in links
    # A SKU that never had stock gets one too, without a warehouse.
    assert (f"{stock}?sku={never.code}", never.code) in links
    form_page = operator.get(wanted.replace("&amp;", "&")).content.decode()
    form = re.search(r'<form method="post" id="adjust-form".*?</form>', form_page, re.S).group(0)
    assert f'name="sku" value="{kettle_two.code}"' in form
    assert re.search(rf'<option value="{listed["back"].pk}" selected>', form)
    # Members who may not adjust stock see no button.
    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    assert "data-adjust=" not in viewer.get(stock).content.decode()
