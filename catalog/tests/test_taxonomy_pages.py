"""Categories and warehouses are renamed, moved, deactivated (kept while used) and deleted when unused, each
step confirmed; inactive ones are badged and filterable, and no longer offered in product and stock forms
(a product keeps showing, and keeps, the category it is in)."""

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.authz import load_actor, system_actor
from backoffice.errors import Conflict, NotFound
from catalog import services
from catalog.models import Category, ImportJob, Product, Stock, Warehouse
from catalog.services.taxonomy import category_delete, warehouse_delete
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import api_client_for, make_member, make_shop, web_client_for

pytestmark = pytest.mark.django_db


def base(shop) -> str:
    return f"/shops/{shop.pk}/catalog"


def audit_actions(shop) -> list[str]:
    AuditEntry = apps.get_model(settings.AUDIT_ENTRY_MODEL)  # noqa: N806
    return list(AuditEntry.objects.for_shop(shop).order_by("id").values_list("action", flat=True))


@pytest.fixture
def tree(owner):
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases", parent=phones)
    spare = services.category_create(actor=owner, name="Spare")
    return phones, cases, spare


def test_deactivating_a_used_category_is_confirmed_and_keeps_its_products(shop, owner, tree):
    phones, cases, _spare = tree
    product = make_product(owner, category=cases)
    web = web_client_for(shop.owner, reauth=False)
    step = f"{base(shop)}/categories/{cases.pk}/deactivate/"
    page = web.get(step)
    assert page.status_code == 200 and 'id="confirm-deactivate"' in page.content.decode()
    assert Category.objects.for_shop(shop).get(pk=cases.pk).is_active  # the page alone changes nothing
    assert web.post(step).status_code == 302
    cases.refresh_from_db()
    assert not cases.is_active and Product.objects.for_shop(shop).get(pk=product.pk).category_id == cases.pk
    assert audit_actions(shop)[-1] == "category.updated"

    # The list badges it and filters by it; a bad filter value is named in a message on the list.
    listing = web.get(f"{base(shop)}/categories/").content.decode()
    assert f'data-inactive-category="{cases.pk}"' in listing and f'data-activate-category="{cases.pk}"' in listing
    inactive_only = web.get(f"{base(shop)}/categories/?active=no").content.decode()
    assert (
        f'data-edit-category="{cases.pk}"' in inactive_only and f'data-edit-category="{phones.pk}"' not in inactive_only
    )
    assert f'data-edit-category="{cases.pk}"' not in web.get(f"{base(shop)}/categories/?active=yes").content.decode()
    bad = web.get(f"{base(shop)}/categories/?active=maybe", follow=True)  # the kernel's rule for a bad filter
    assert bad.redirect_chain == [(f"{base(shop)}/categories/", 302)] and "active: Choose" in bad.content.decode()

    # New products are not offered it; the product in it still shows it, and saving keeps it.
    new_form = web.get(f"{base(shop)}/products/new/").content.decode()
    assert f'<option value="{cases.pk}"' not in new_form and f'<option value="{phones.pk}"' in new_form
    detail = web.get(f"{base(shop)}/products/{product.pk}/").content.decode()
    assert f'<option value="{cases.pk}" selected' in detail
    sku = first_sku(product)
    form = {"title": "Kept", "brand": "", "category": str(cases.pk), "description": "", "attributes": "",
            "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "1", "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "50", "variants-0-id": str(sku.pk), "variants-0-code": sku.code,
            "variants-0-price": "100.00"}  # fmt: skip
    assert web.post(f"{base(shop)}/products/{product.pk}/", form).status_code == 302
    product.refresh_from_db()
    assert (product.title, product.category_id) == ("Kept", cases.pk)
    # Another product cannot be put into it.
    other = make_product(owner, category=phones)
    other_sku = first_sku(other)
    form.update({"variants-0-id": str(other_sku.pk), "variants-0-code": other_sku.code})
    assert web.post(f"{base(shop)}/products/{other.pk}/", form).status_code == 400
    assert Product.objects.for_shop(shop).get(pk=other.pk).category_id == phones.pk
    # Nor can a new category be put under it.
    assert f'<option value="{cases.pk}"' not in web.get(f"{base(shop)}/categories/").content.decode()

    # Activated again: offered again.
    assert web.post(f"{base(shop)}/categories/{cases.pk}/activate/").status_code == 302
    assert f'<option value="{cases.pk}"' in web.get(f"{base(shop)}/products/new/").content.decode()


def test_a_used_category_cannot_be_deleted_an_unused_one_can(shop, owner, tree):
    phones, cases, spare = tree
    make_product(owner, category=cases)
    web = web_client_for(shop.owner, reauth=False)
    for used in (phones, cases):  # a sub-category; a product
        page = web.get(f"{base(shop)}/categories/{used.pk}/delete/").content.decode()
        assert 'id="usage"' in page and 'id="confirm-delete"' not in page and 'id="deactivate-instead"' in page
        r = web.post(f"{base(shop)}/categories/{used.pk}/delete/")
        assert r.status_code == 409 and "deactivate it instead" in r.content.decode()
    assert Category.objects.for_shop(shop).count() == 3
    page = web.get(f"{base(shop)}/categories/{spare.pk}/delete/").content.decode()
    assert 'id="confirm-delete"' in page and 'id="usage"' not in page
    assert web.post(f"{base(shop)}/categories/{spare.pk}/delete/").status_code == 302
    assert not Category.objects.for_shop(shop).filter(pk=spare.pk).exists()
    assert audit_actions(shop)[-1] == "category.deleted"
    # A member limited to a category counts as a use too.
    limited = services.category_create(actor=owner, name="Limited")
    make_member(shop, "operator", scopes={"category": [limited.pk]})
    with pytest.raises(Conflict):
        category_delete(actor=owner, category=limited)


def test_moves_refuse_cycles_and_another_shops_parent(shop, owner, tree):
    phones, cases, spare = tree
    other = make_shop()
    theirs = services.category_create(actor=load_actor(other.owner, other), name="Theirs")
    with pytest.raises(NotFound):
        services.category_update(actor=owner, category=spare, parent=theirs)
    api = api_client_for(shop.owner)
    r = api.patch(f"/api/v1/shops/{shop.pk}/categories/{spare.pk}/", {"parent": theirs.pk}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["error"]["fields"]
    r = api.patch(f"/api/v1/shops/{shop.pk}/categories/{phones.pk}/", {"parent": cases.pk}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "category_cycle"
    r = api.patch(f"/api/v1/shops/{shop.pk}/categories/{spare.pk}/", {"name": "Covers", "parent": phones.pk},
                  format="json")  # fmt: skip
    assert r.status_code == 200 and (r.json()["name"], r.json()["parent"]) == ("Covers", phones.pk)
    assert Category.objects.for_shop(shop).get(pk=spare.pk).parent_id == phones.pk


def test_api_deactivates_filters_and_deletes(shop, owner, tree):
    phones, cases, spare = tree
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/categories/"
    r = api.patch(f"{url}{cases.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert [c["name"] for c in api.get(f"{url}?active=no").json()["results"]] == ["Cases"]
    assert "Cases" not in [c["name"] for c in api.get(f"{url}?active=yes").json()["results"]]
    assert api.get(f"{url}?active=bogus").status_code == 400
    r = api.delete(f"{url}{phones.pk}/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "category_in_use"
    assert api.delete(f"{url}{spare.pk}/").status_code == 204
    assert sorted(Category.objects.for_shop(shop).values_list("name", flat=True)) == ["Cases", "Phones"]
    # Viewers may not.
    viewer = api_client_for(make_member(shop, "viewer").user)
    assert viewer.delete(f"{url}{cases.pk}/").status_code == 403

    # A new product cannot go into the inactive category, nor move into it; one already there keeps it.
    products = f"/api/v1/shops/{shop.pk}/products/"
    body = {"title": "Case", "category": cases.pk, "skus": [{"code": "CASE-1", "price": "9.00"}]}
    r = api.post(products, body, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"]["category"] == ["This category is inactive."], r.content
    other = make_product(owner, category=phones)
    r = api.patch(f"{products}{other.pk}/", {"category": cases.pk}, format="json")
    assert r.status_code == 400 and Product.objects.for_shop(shop).get(pk=other.pk).category_id == phones.pk
    settled = Product.objects.for_shop(shop).get(pk=make_product(owner, category=phones).pk)
    Product.objects.for_shop(shop).filter(pk=settled.pk).update(category=cases)
    assert (
        api.patch(
            f"{products}{settled.pk}/", {"title": "Still a case", "category": cases.pk}, format="json"
        ).status_code
        == 200
    )


def test_closing_deleting_a_warehouse_and_the_stock_form(shop, owner):
    main, spare, empty = make_warehouse(owner, code="main"), make_warehouse(owner, code="spare"), make_warehouse(owner)
    sku = first_sku(make_product(owner))
    services.stock_adjust(actor=owner, sku=sku, warehouse=spare, delta=3, reason="receipt")
    web = web_client_for(shop.owner, reauth=False)
    step = f"{base(shop)}/warehouses/{spare.pk}/deactivate/"
    assert 'id="confirm-deactivate"' in web.get(step).content.decode()
    assert web.post(step).status_code == 302
    spare.refresh_from_db()
    assert not spare.is_active and Stock.objects.for_shop(shop).get(warehouse=spare).on_hand == 3
    listing = web.get(f"{base(shop)}/warehouses/?active=no").content.decode()
    assert f'data-activate-warehouse="{spare.pk}"' in listing and f'data-edit-warehouse="{main.pk}"' not in listing
    # The adjustment form offers open warehouses only; the list still filters by the closed one.
    stock_page = web.get(f"{base(shop)}/stock/").content.decode()
    form_part = stock_page[stock_page.index('id="adjust-form"') :]
    assert f'<option value="{main.pk}"' in form_part and f'<option value="{spare.pk}"' not in form_part
    assert f'<option value="{spare.pk}"' in stock_page[: stock_page.index('id="adjust-form"')]  # the list filter
    # In use (stock): not deleted; unused: deleted after confirming.
    assert 'id="usage"' in web.get(f"{base(shop)}/warehouses/{spare.pk}/delete/").content.decode()
    assert web.post(f"{base(shop)}/warehouses/{spare.pk}/delete/").status_code == 409
    with pytest.raises(Conflict):
        warehouse_delete(actor=owner, warehouse=spare)
    assert 'id="confirm-delete"' in web.get(f"{base(shop)}/warehouses/{empty.pk}/delete/").content.decode()
    assert web.post(f"{base(shop)}/warehouses/{empty.pk}/delete/").status_code == 302
    assert sorted(Warehouse.objects.for_shop(shop).values_list("code", flat=True)) == ["main", "spare"]
    assert audit_actions(shop)[-1] == "warehouse.deleted"
    assert web.post(f"{base(shop)}/warehouses/{spare.pk}/activate/").status_code == 302
    assert Warehouse.objects.for_shop(shop).get(pk=spare.pk).is_active


def test_scoped_members_and_other_shops_get_no_step(shop, owner, tree):
    _phones, cases, spare = tree
    member = make_member(shop, "operator", scopes={"category": [cases.pk]})
    web = web_client_for(member.user, reauth=False)
    assert web.get(f"{base(shop)}/categories/{spare.pk}/deactivate/").status_code == 404
    assert web.post(f"{base(shop)}/categories/{spare.pk}/delete/").status_code == 404
    assert Category.objects.for_shop(shop).get(pk=spare.pk).is_active
    other = make_shop()
    theirs = make_warehouse(load_actor(other.owner, other))
    owner_web = web_client_for(shop.owner, reauth=False)
    assert owner_web.post(f"{base(shop)}/warehouses/{theirs.pk}/delete/").status_code == 404
    assert Warehouse.objects.for_shop(other).filter(pk=theirs.pk).exists()
    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    assert viewer.post(f"{base(shop)}/categories/{spare.pk}/deactivate/").status_code == 403


def test_imports_do_not_give_an_inactive_category_or_stock_a_closed_warehouse(shop, owner, tree):
    _phones, cases, _spare = tree
    kept = make_product(owner, title="Kept", category=cases)
    closed = make_warehouse(owner, code="closed")
    services.category_update(actor=owner, category=cases, is_active=False)
    services.warehouse_update(actor=owner, warehouse=closed, is_active=False)
    kept_sku = first_sku(kept)
    text = ("sku,title,price,category\n"
            f"{kept_sku.code},Kept,100.00,Phones/Cases\n"  # already there: unchanged
            "NEW-1,New,5.00,Phones/Cases\n")  # fmt: skip
    job = services.import_job_create(actor=owner, kind="products", upload=SimpleUploadedFile("p.csv", text.encode()))
    assert services.import_job_run(actor=system_actor(shop), job_id=job.pk) == ImportJob.Status.DONE
    job.refresh_from_db()
    assert (job.unchanged_rows, job.error_rows) == (1, 1)
    assert job.errors[0]["field"] == "category" and job.errors[0]["message"] == "This category is inactive."
    text = f"sku,warehouse,on_hand\n{kept_sku.code},closed,4\n"
    job = services.import_job_create(actor=owner, kind="stock", upload=SimpleUploadedFile("s.csv", text.encode()))
    services.import_job_run(actor=system_actor(shop), job_id=job.pk)
    job.refresh_from_db()
    assert job.error_rows == 1 and job.errors[0]["field"] == "warehouse"
    assert not Stock.objects.for_shop(shop).filter(warehouse=closed).exists()


def test_adding_a_category_or_warehouse_is_sent_once(shop):
    from django.contrib.auth import SESSION_KEY

    from backoffice import once

    web = web_client_for(shop.owner, reauth=False)
    page = web.get(f"{base(shop)}/categories/").content.decode()
    assert f'name="{once.FIELD}"' in page
    token = once.issue(web.session[SESSION_KEY])
    for status in (302, 409):  # a double click: the second send creates nothing
        r = web.post(f"{base(shop)}/categories/", {"name": "Garden", "parent": "", once.FIELD: token})
        assert r.status_code == status
    token = once.issue(web.session[SESSION_KEY])
    for status in (302, 409):
        r = web.post(f"{base(shop)}/warehouses/", {"name": "North", "code": "north", once.FIELD: token})
        assert r.status_code == status
    assert Category.objects.for_shop(shop).filter(name="Garden").count() == 1
    assert Warehouse.objects.for_shop(shop).filter(code="north").count() == 1
