"""What members without catalog.edit see (issue 11): a product page with the product's real values (its
category by name, brand, attributes, variants with prices) and nothing to edit; menus offer only what the
member can use (no Import entry for those who may import nothing)."""

from __future__ import annotations

import re

import pytest

from catalog import services
from catalog.tests.factories import first_sku
from tests.fixtures import make_member, web_client_for

pytestmark = pytest.mark.django_db

READ_ONLY_ROLES = ["viewer", "support", "finance"]


def page_url(shop, path: str) -> str:
    return f"/shops/{shop.pk}/catalog/{path}"


@pytest.fixture
def product(shop, owner):
    phones = services.category_create(actor=owner, name="Phones")
    return services.product_create(
        actor=owner, title="Aurora phone", brand="Northwind", category=phones, description="A phone.",
        attributes={"screen": "6.1in", "items": "charger"},
        skus=[{"code": "AUR-BLK", "price": "990.00", "old_price": "1200.00", "cost": "500.00",
               "attributes": {"color": "black"}},
              {"code": "AUR-WHT", "price": "1010.00", "barcode": "4600000000017"}],
    )  # fmt: skip


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_a_read_only_product_page_shows_the_real_values_and_nothing_to_edit(shop, product, role):
    web = web_client_for(make_member(shop, role).user, reauth=False)
    r = web.get(page_url(shop, f"products/{product.pk}/"))
    assert r.status_code == 200
    page = r.content.decode()
    assert re.search(r'id="product-category">Phones<', page)  # not "—"
    assert re.search(r'id="product-brand">Northwind<', page)
    attributes = re.search(r'id="product-attributes">(.*?)</td>', page, re.S).group(1)
    assert "screen:</span> 6.1in" in attributes and "items:</span> charger" in attributes
    rows = dict(re.findall(r'<tr class="variant-row" data-sku="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"AUR-BLK", "AUR-WHT"}
    assert f'<td class="price">990.00 {shop.currency}</td>' in rows["AUR-BLK"]
    assert "1200.00" in rows["AUR-BLK"] and "color:</span> black" in rows["AUR-BLK"]
    assert "1010.00" in rows["AUR-WHT"] and "4600000000017" in rows["AUR-WHT"]
    assert ("500.00" in rows["AUR-BLK"]) == (role == "finance")  # cost only with catalog.view_cost
    # Nothing to type in, and no instruction to save.
    main = page[page.index("<main") :]
    assert not re.search(r"<(input|select|textarea)\b(?![^>]*name=\"csrfmiddlewaretoken\")", main), main
    assert 'id="product-form"' not in page and 'id="save-product"' not in page
    assert "Save to get more empty rows" not in page and "Leave a row" not in page
    assert 'id="image-form"' not in page and "Receive stock" not in page


def test_an_editor_still_gets_the_form(shop, product):
    web = web_client_for(make_member(shop, "operator").user, reauth=False)
    page = web.get(page_url(shop, f"products/{product.pk}/")).content.decode()
    assert 'id="product-form"' in page and 'id="save-product"' in page
    assert re.search(rf'<option value="{product.category_id}" selected>Phones</option>', page)
    assert 'value="AUR-BLK"' in page


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_members_who_may_import_nothing_get_no_import_entry(shop, role):
    web = web_client_for(make_member(shop, role).user, reauth=False)
    page = web.get(page_url(shop, "products/")).content.decode()
    nav = page[page.index('id="nav"') : page.index("</nav>")]
    assert 'data-nav="products"' in nav and 'data-nav="stock"' in nav  # the rest of the menu is there
    assert 'data-nav="imports"' not in nav
    # The page is still there for the history of imports, with no upload form.
    imports = web.get(page_url(shop, "imports/"))
    assert imports.status_code == 200 and 'id="import-form"' not in imports.content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "operator"])
def test_members_who_may_import_keep_the_import_entry(shop, role):
    user = shop.owner if role == "owner" else make_member(shop, role).user
    page = web_client_for(user, reauth=False).get(page_url(shop, "products/")).content.decode()
    assert 'data-nav="imports"' in page[page.index('id="nav"') : page.index("</nav>")]


def test_the_product_list_and_stock_page_offer_a_viewer_nothing_to_change(shop, owner, product):
    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    stock = viewer.get(page_url(shop, "stock/")).content.decode()
    assert f'data-sku="{first_sku(product).code}"' in stock and 'id="adjust-form"' not in stock
