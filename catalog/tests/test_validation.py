"""What a seller may not save (issue 11): a price of 0 or below, an old price below the price, a SKU code with
characters other than Latin letters, digits, "-", "_" and "." (starting with a letter or digit), a product
without a SKU, and text longer than its column (never cut silently). The rules live in the services, so the
API (400 with ``fields``), the pages (the form shows the message, 400) and the imports (a row error) say
the same thing, naming the field."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.authz import system_actor
from backoffice.errors import ValidationFailed
from catalog import services
from catalog.models import SKU, ImportJob, Product
from catalog.tests.factories import first_sku, make_product
from tests.fixtures import api_client_for, web_client_for

pytestmark = pytest.mark.django_db

PRICE_MESSAGE = "The price must be more than zero."
OLD_PRICE_MESSAGE = "The old price must not be lower than the price."
CODE_MESSAGE = "The SKU code may hold only Latin letters, digits"
NO_SKU_MESSAGE = "At least one SKU is required."


def api_url(shop, path: str) -> str:
    return f"/api/v1/shops/{shop.pk}/{path}"


def page_url(shop, path: str) -> str:
    return f"/shops/{shop.pk}/catalog/{path}"


def product_form(title: str, rows: list[dict], initial: int = 0) -> dict:
    data = {"title": title, "brand": "", "category": "", "description": "", "attributes": "",
            "variants-TOTAL_FORMS": str(len(rows)), "variants-INITIAL_FORMS": str(initial),
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "50"}  # fmt: skip
    for i, row in enumerate(rows):
        data.update({f"variants-{i}-{k}": v for k, v in row.items()})
    return data


def csv_upload(rows: list[list]) -> SimpleUploadedFile:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return SimpleUploadedFile("products.csv", buf.getvalue().encode(), content_type="text/csv")


def import_rows(owner, rows: list[list]) -> ImportJob:
    """Run a products import the way the worker does, and return the finished job."""
    job = services.import_job_create(actor=owner, kind="products", upload=csv_upload(rows))
    services.import_job_run(actor=system_actor(owner.shop), job_id=job.pk)
    job.refresh_from_db()
    return job


# ------------------------------------------------------------------------------------------- services


@pytest.mark.parametrize("price", ["0", "0.00", "-1", Decimal("-0.01")])
def test_a_price_of_zero_or_below_is_refused_naming_the_price(owner, price):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, title="Free", skus=[{"code": "FREE-1", "price": price}])
    assert exc.value.fields == {"skus.0.price": [PRICE_MESSAGE]} and exc.value.message == PRICE_MESSAGE
    sku = first_sku(make_product(owner))
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=owner, sku=sku, price=price)
    assert exc.value.fields == {"price": [PRICE_MESSAGE]}
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=owner, product=sku.product, code="FREE-2", price=price)
    assert exc.value.fields == {"price": [PRICE_MESSAGE]}
    assert SKU.objects.for_shop(owner.shop).get(pk=sku.pk).price == Decimal("100.00")
    assert not SKU.objects.for_shop(owner.shop).filter(code__startswith="FREE").exists()


def test_an_old_price_below_the_price_is_refused_also_when_only_one_of_them_changes(owner):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, title="Sale", skus=[{"code": "SALE-1", "price": "100", "old_price": "90"}])
    assert exc.value.fields == {"skus.0.old_price": [OLD_PRICE_MESSAGE]} and exc.value.message == OLD_PRICE_MESSAGE
    # Equal and higher old prices are fine.
    product = services.product_create(
        actor=owner, title="Sale", skus=[{"code": "SALE-1", "price": "100", "old_price": "100"},
                                         {"code": "SALE-2", "price": "100", "old_price": "150"}],
    )  # fmt: skip
    sku = SKU.objects.for_shop(owner.shop).get(code="SALE-2")
    # A new price above the old price it keeps: named on the price.
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=owner, sku=sku, price="160.00")
    assert exc.value.fields == {"price": [OLD_PRICE_MESSAGE]}
    # A new old price below the price it keeps: named on the old price.
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=owner, sku=sku, old_price="99.99")
    assert exc.value.fields == {"old_price": [OLD_PRICE_MESSAGE]}
    sku.refresh_from_db()
    assert (sku.price, sku.old_price) == (Decimal("100.00"), Decimal("150.00"))
    # Both at once, consistent: saved. Dropping the old price: saved.
    services.sku_update(actor=owner, sku=sku, price="160.00", old_price="200.00")
    services.sku_update(actor=owner, sku=sku, old_price=None)
    sku.refresh_from_db()
    assert (sku.price, sku.old_price) == (Decimal("160.00"), None)
    with pytest.raises(ValidationFailed):
        services.sku_create(actor=owner, product=product, code="SALE-3", price="10", old_price="9")


@pytest.mark.parametrize(
    "code",
    ["AB C", "AB/C", "A\tB", "SKU-📦", "КОД-1", "-LEAD", ".hidden", "_x", "A+B", "A,B", "１２３", "A\u200bB"],
)
def test_a_sku_code_outside_the_alphabet_is_refused_naming_the_code(owner, code):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, title="Odd", skus=[{"code": code, "price": "1"}])
    assert list(exc.value.fields) == ["skus.0.code"] and exc.value.message.startswith(CODE_MESSAGE)
    sku = first_sku(make_product(owner))
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=owner, sku=sku, code=code)
    assert list(exc.value.fields) == ["code"]
    assert SKU.objects.for_shop(owner.shop).get(pk=sku.pk).code == sku.code


@pytest.mark.parametrize("code", ["A", "7", "ab-12_X.v2", "A" * 64, "  TRIMMED-1  "])
def test_letters_digits_dash_underscore_and_dot_make_a_sku_code(owner, code):
    product = services.product_create(actor=owner, title="Fine", skus=[{"code": code, "price": "1"}])
    assert first_sku(product).code == code.strip()


def test_a_sku_code_past_64_characters_is_refused_not_cut(owner):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, title="Long", skus=[{"code": "A" * 65, "price": "1"}])
    assert exc.value.fields == {"skus.0.code": ["SKU code: at most 64 characters."]}


def test_a_product_needs_a_sku(owner):
    for skus in ([], ()):
        with pytest.raises(ValidationFailed) as exc:
            services.product_create(actor=owner, title="Empty", skus=skus)
        assert exc.value.code == "no_skus" and exc.value.fields == {"skus": [NO_SKU_MESSAGE]}
    assert not Product.objects.for_shop(owner.shop).exists()


@pytest.mark.parametrize("field, size, label", [("title", 255, "Title"), ("brand", 120, "Brand"),
                                                ("ref", 64, "Reference")])  # fmt: skip
def test_product_text_longer_than_its_column_is_refused_not_cut(owner, field, size, label):
    fields = {"title": "Long", "skus": [{"code": f"LONG-{field}", "price": "1"}], field: "x" * (size + 1)}
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=owner, **fields)
    assert exc.value.fields == {field: [f"{label}: at most {size} characters."]}
    assert not Product.objects.for_shop(owner.shop).exists()
    if field == "ref":
        return  # set once, by an import's product_ref; no edit changes it
    product = make_product(owner)
    with pytest.raises(ValidationFailed):
        services.product_update(actor=owner, product=product, **{field: "y" * (size + 1)})
    # Exactly the column's size is fine.
    services.product_update(actor=owner, product=product, **{field: "z" * size})
    product.refresh_from_db()
    assert getattr(product, field) == "z" * size


def test_a_barcode_longer_than_its_column_is_refused_not_cut(owner):
    sku = first_sku(make_product(owner))
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=owner, sku=sku, barcode="4" * 65)
    assert exc.value.fields == {"barcode": ["Barcode: at most 64 characters."]}


# ------------------------------------------------------------------------------------------- API


def test_the_api_answers_400_naming_the_field(shop, owner):
    api = api_client_for(shop.owner)

    def create(body):
        return api.post(api_url(shop, "products/"), body, format="json")

    cases = [
        ({"title": "T", "skus": [{"code": "API-1", "price": "0"}]}, "skus.0.price", PRICE_MESSAGE),
        ({"title": "T", "skus": [{"code": "API-1", "price": "-5"}]}, "skus.0.price", PRICE_MESSAGE),
        ({"title": "T", "skus": [{"code": "API-1", "price": "5", "old_price": "4"}]}, "skus.0.old_price",
         OLD_PRICE_MESSAGE),
        ({"title": "T", "skus": [{"code": "API 1", "price": "5"}]}, "skus.0.code", CODE_MESSAGE),
        ({"title": "T", "skus": [{"code": "API/1", "price": "5"}]}, "skus.0.code", CODE_MESSAGE),
        ({"title": "T", "skus": [{"code": "API-😀", "price": "5"}]}, "skus.0.code", CODE_MESSAGE),
        ({"title": "T", "skus": []}, "skus", NO_SKU_MESSAGE),
        ({"title": "T"}, "skus", NO_SKU_MESSAGE),
    ]  # fmt: skip
    for body, field, message in cases:
        r = create(body)
        assert r.status_code == 400, (body, r.content)
        error = r.json()["error"]
        assert error["message"].startswith(message) and error["fields"][field][0].startswith(message), (body, error)
    assert not Product.objects.for_shop(shop).exists()
    sku = first_sku(make_product(owner))
    r = api.patch(api_url(shop, f"skus/{sku.pk}/"), {"price": "0"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"price": [PRICE_MESSAGE]}
    r = api.patch(api_url(shop, f"skus/{sku.pk}/"), {"old_price": "50.00"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"old_price": [OLD_PRICE_MESSAGE]}
    r = api.post(api_url(shop, "skus/"), {"product": sku.product_id, "code": "NEW SKU", "price": "1"}, format="json")
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["code"]
    sku.refresh_from_db()
    assert (sku.price, sku.old_price) == (Decimal("100.00"), None)


# ------------------------------------------------------------------------------------------- pages


def test_the_product_form_shows_the_message_on_the_field_and_answers_400(shop):
    web = web_client_for(shop.owner, reauth=False)
    cases = [
        ([{"code": "PG-1", "price": "0"}], PRICE_MESSAGE),
        ([{"code": "PG-1", "price": "-3"}], PRICE_MESSAGE),
        ([{"code": "PG-1", "price": "10", "old_price": "9"}], OLD_PRICE_MESSAGE),
        ([{"code": "PG 1", "price": "10"}], CODE_MESSAGE),
        ([{"code": "", "price": ""}, {"code": "", "price": ""}], NO_SKU_MESSAGE),
    ]
    for rows, message in cases:
        r = web.post(page_url(shop, "products/new/"), product_form("Form product", rows))
        assert r.status_code == 400, rows
        page = r.content.decode()
        # On the variant's row, inside the variants table (not only at the top of the page).
        variants = page[page.index('id="variants"') :]
        assert message[:30] in variants, (rows, variants[:2000])
    assert not Product.objects.for_shop(shop).exists()


def test_an_error_lands_on_the_row_that_has_it_when_an_empty_row_comes_first(shop):
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(page_url(shop, "products/new/"),
                 product_form("Rows", [{"code": "", "price": ""}, {"code": "ROW-2", "price": "0"}]))  # fmt: skip
    assert r.status_code == 400
    form = r.context["formset"]
    assert form.forms[1].errors == {"price": [PRICE_MESSAGE]} and not form.forms[0].errors


def test_editing_a_variant_on_the_page_follows_the_same_rules(shop, owner):
    product = make_product(owner)
    sku = first_sku(product)
    web = web_client_for(shop.owner, reauth=False)
    rows = [{"id": str(sku.pk), "code": sku.code, "price": "100.00", "old_price": "80.00"}]
    r = web.post(page_url(shop, f"products/{product.pk}/"), product_form(product.title, rows, initial=1))
    assert r.status_code == 400
    assert r.context["formset"].forms[0].errors == {"old_price": [OLD_PRICE_MESSAGE]}
    assert SKU.objects.for_shop(shop).get(pk=sku.pk).old_price is None


# ------------------------------------------------------------------------------------------- imports


def test_import_rows_break_no_rule_and_a_long_title_is_a_row_error_not_cut(shop, owner):
    header = ["sku", "title", "price", "old_price"]
    long_title = "T" * 300
    job = import_rows(owner, [
        header,
        ["IMP-OK", "Fine", "10.00", ""],
        ["IMP-LONG", long_title, "10.00", ""],
        ["IMP-ZERO", "Zero", "0", ""],
        ["IMP-OLD", "Old", "10.00", "5.00"],
        ["IMP SPACE", "Space", "10.00", ""],
        ["IMP/SLASH", "Slash", "10.00", ""],
    ])  # fmt: skip
    assert job.status == ImportJob.Status.DONE
    assert (job.created_rows, job.error_rows) == (1, 5)
    by_row = {e["row"]: (e["field"], e["message"]) for e in job.errors}
    assert by_row[3] == ("title", "Title: at most 255 characters.")
    assert by_row[4] == ("price", PRICE_MESSAGE)
    assert by_row[5] == ("old_price", OLD_PRICE_MESSAGE)
    assert by_row[6][0] == "sku" and by_row[6][1].startswith(CODE_MESSAGE)
    assert by_row[7][0] == "sku" and by_row[7][1].startswith(CODE_MESSAGE)
    assert list(SKU.objects.for_shop(shop).values_list("code", flat=True)) == ["IMP-OK"]
    assert not Product.objects.for_shop(shop).filter(title__startswith="TTT").exists()


def test_an_import_updating_a_title_past_the_column_leaves_the_product_alone(shop, owner):
    product = make_product(owner, title="Short")
    sku = first_sku(product)
    job = import_rows(owner, [["sku", "title", "price"], [sku.code, "L" * 256, "100.00"]])
    assert (job.updated_rows, job.error_rows) == (0, 1)
    assert job.errors[0]["field"] == "title"
    product.refresh_from_db()
    assert product.title == "Short"
