"""Product attributes as name/value rows on the product form (issue 11, "Gaps sellers notice"), not typed JSON:
server-rendered with empty rows to fill (works without JavaScript), a row removed by its box, each row checked
by the services' ``clean_attributes`` with the error on its row, and an untouched form saving the attributes
exactly as they were (numbers stay numbers, so an approved product does not go back to review)."""

from __future__ import annotations

import re

import pytest

from backoffice.authz import system_actor
from catalog import services
from catalog.models import Product
from catalog.tests.factories import first_sku
from tests.fixtures import make_member, web_client_for

pytestmark = pytest.mark.django_db


def form_data(product=None, **rows) -> dict:
    """The product form with one variant; ``rows`` are the attribute rows' fields (lists)."""
    data = {"title": "Kettle", "brand": "", "category": "", "description": "", "variants-TOTAL_FORMS": "1",
            "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "50",
            "variants-0-code": "KET-1", "variants-0-price": "10.00"}  # fmt: skip
    if product is not None:
        sku = first_sku(product)
        data.update({"title": product.title, "variants-INITIAL_FORMS": "1", "variants-0-id": str(sku.pk),
                     "variants-0-code": sku.code, "variants-0-price": str(sku.price)})  # fmt: skip
    return {**data, **{f"attributes_{k}": v for k, v in rows.items()}}


def rendered_rows(page: str) -> list[tuple[str, str, str]]:
    """(name, value, type) of each attribute row the form shows."""
    rows = re.findall(r'<tr class="attr-row" data-attr-row>(.*?)</tr>', page, re.S)
    out = []
    for row in rows:
        key = re.search(r'name="attributes_key"[^>]*value="([^"]*)"', row).group(1)
        value = re.search(r'name="attributes_value"[^>]*value="([^"]*)"', row).group(1)
        kind = re.search(r'name="attributes_type" value="([^"]*)"', row).group(1)
        out.append((key, value, kind))
    return out


def test_create_with_rows_and_empty_rows_to_fill(shop):
    web = web_client_for(make_member(shop, "operator").user)
    url = f"/shops/{shop.pk}/catalog/products/new/"
    page = web.get(url).content.decode()
    # No JSON box: three empty rows, each input labelled, and the Add row button left for the script to show.
    assert rendered_rows(page) == [("", "", "text")] * 3
    assert 'name="attributes"' not in page and 'aria-label="Attribute name 1"' in page
    assert re.search(r'<button type="button" class="btn btn-small" data-attr-add hidden>', page)
    assert '<label for="id_attributes_key_0">Attributes</label>' in page
    r = web.post(url, form_data(key=["color", "size", ""], value=["black", " XL ", ""], type=["text"] * 3))
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Product.objects.for_shop(shop).get(title="Kettle").attributes == {"color": "black", "size": "XL"}


def test_untouched_form_keeps_typed_values_and_the_approval(shop, owner):
    product = services.product_create(
        actor=owner, title="Scale", attributes={"weight_g": 150, "wifi": True, "colors": ["red", "blue"], "note": "7"},
        skus=[{"code": "SC-1", "price": "20.00"}])  # fmt: skip
    services.product_submit(actor=owner, product=product)
    services.product_approve(actor=system_actor(shop), product=product)
    web = web_client_for(make_member(shop, "operator").user)
    url = f"/shops/{shop.pk}/catalog/products/{product.pk}/"
    rows = rendered_rows(web.get(url).content.decode())
    assert rows[:4] == [("colors", "[&quot;red&quot;, &quot;blue&quot;]", "json"), ("note", "7", "text"),
                        ("weight_g", "150", "json"), ("wifi", "true", "json")]  # fmt: skip
    assert rows[4:] == [("", "", "text")] * 3
    sent = [(k, v.replace("&quot;", '"'), t) for k, v, t in rows]
    r = web.post(url, form_data(product, key=[k for k, _v, _t in sent], value=[v for _k, v, _t in sent],
                                type=[t for _k, _v, t in sent]))  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    product.refresh_from_db()
    assert product.attributes == {"weight_g": 150, "wifi": True, "colors": ["red", "blue"], "note": "7"}
    assert product.status == Product.Status.APPROVED
    # Ticking a row's Remove box drops it; a changed value is saved (and is a content change: back to review).
    r = web.post(url, form_data(product, key=["weight_g", "wifi"], value=["200", "true"], type=["json", "json"],
                                remove=["1"]))  # fmt: skip
    assert r.status_code == 302
    product.refresh_from_db()
    assert product.attributes == {"weight_g": 200} and product.status == Product.Status.PENDING_REVIEW


def test_a_bad_row_is_marked_on_the_row_and_nothing_is_saved(shop):
    web = web_client_for(make_member(shop, "operator").user)
    url = f"/shops/{shop.pk}/catalog/products/new/"
    before = Product.objects.for_shop(shop).count()
    cases = [
        (["color", "", ""], ["black", "orphan", ""], 1, "Give the attribute a name."),
        (["color", "color", ""], ["black", "white", ""], 1, "This name is used twice."),
        (["color", "x" * 65, ""], ["black", "long", ""], 1, "Attributes are names with text, number or yes/no values."),
        (["color", "bad", ""], ["black", "a\x00b", ""], 1, "Attributes are names with text, number or yes/no values."),
    ]
    for keys, values, bad_row, message in cases:
        r = web.post(url, form_data(key=keys, value=values, type=["text"] * 3))
        page = r.content.decode()
        assert r.status_code == 400, (keys, r.status_code)
        rows = re.findall(r'<tr class="attr-row" data-attr-row>(.*?)</tr>', page, re.S)
        assert message in rows[bad_row] and 'aria-invalid="true"' in rows[bad_row], (keys, rows[bad_row])
        assert "errorlist" not in rows[0]
        assert "Correct the attributes marked below." in page
    assert Product.objects.for_shop(shop).count() == before


def test_the_json_object_of_older_forms_is_still_read(shop):
    web = web_client_for(make_member(shop, "operator").user)
    url = f"/shops/{shop.pk}/catalog/products/new/"
    r = web.post(url, {**form_data(), "attributes": '{"color": "red", "size": 42}'})
    assert r.status_code == 302
    assert Product.objects.for_shop(shop).get(title="Kettle").attributes == {"color": "red", "size": 42}
    assert web.post(url, {**form_data(), "attributes": "[1, 2]"}).status_code == 400


def test_variant_attributes_are_written_as_name_value_pairs_on_one_line(shop, owner):
    web = web_client_for(make_member(shop, "operator").user)
    url = f"/shops/{shop.pk}/catalog/products/new/"
    r = web.post(url, {**form_data(), "variants-0-attributes": "Colour: black; Size: M; Ratio: 16:9"})
    assert r.status_code == 302, r.content.decode()[:2000]
    sku = first_sku(Product.objects.for_shop(shop).get(title="Kettle"))
    assert sku.attributes == {"Colour": "black", "Size": "M", "Ratio": "16:9"}
    # Shown back the same way, by name; a line that is not "name: value" is refused on the field.
    page = web.get(f"/shops/{shop.pk}/catalog/products/{sku.product_id}/").content.decode()
    assert 'value="Colour: black; Ratio: 16:9; Size: M"' in page
    r = web.post(url, {**form_data(), "variants-0-code": "KET-3", "variants-0-attributes": "颜色：黑色；尺码：M"})
    assert r.status_code == 302 and first_sku(Product.objects.for_shop(shop).filter(title="Kettle").last()).attributes == {
        "颜色": "黑色", "尺码": "M"}  # fmt: skip
    for bad, message in (("Colour black", "name: value"), ("Size: M; Size: L", "The name Size is used twice.")):
        r = web.post(url, {**form_data(), "variants-0-code": "KET-2", "variants-0-attributes": bad})
        assert r.status_code == 400 and message in r.content.decode()

    # Numbers and yes/no a variant already had stay typed when the line is saved untouched: still approved.
    product = services.product_create(
        actor=owner,
        title="Scale",
        skus=[{"code": "SC-1", "price": "20.00", "attributes": {"grams": 150, "wifi": True}}],
    )
    services.product_submit(actor=owner, product=product)
    services.product_approve(actor=system_actor(shop), product=product)
    edit = f"/shops/{shop.pk}/catalog/products/{product.pk}/"
    assert 'value="grams: 150; wifi: true"' in web.get(edit).content.decode()
    r = web.post(edit, {**form_data(product), "variants-0-attributes": "grams: 150; wifi: true"})
    assert r.status_code == 302, r.content.decode()[:2000]
    product.refresh_from_db()
    assert first_sku(product).attributes == {"grams": 150, "wifi": True} and product.status == Product.Status.APPROVED
