"""Bulk price and stock edit of selected SKUs (issue 11, "Gaps sellers notice"): one transaction through
``services.sku_bulk_edit``, every SKU or none, the failing SKU named; audited; scope refused, never skipped;
the page's confirmation step (before → after) changes nothing and the apply step runs once per token; the API
action does the same, with a dry run."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings

from backoffice.authz import load_actor, system_actor
from backoffice.errors import Forbidden, NotFound, ValidationFailed
from catalog import services
from catalog.models import SKU, Product, Stock, StockMovement
from catalog.services import PriceChange, StockChange
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import api_client_for, make_member, web_client_for

pytestmark = pytest.mark.django_db


def audit(shop, action: str):
    entries = apps.get_model(settings.AUDIT_ENTRY_MODEL).objects.for_shop(shop)
    return entries.filter(action=action)


def price_of(sku) -> Decimal:
    return SKU.objects.for_shop(sku.shop_id).get(pk=sku.pk).price


def on_hand(sku, warehouse) -> int | None:
    row = Stock.objects.for_shop(sku.shop_id).filter(sku=sku, warehouse=warehouse).first()
    return row.on_hand if row else None


@pytest.fixture
def cat(shop, owner):
    """Two categories, a warehouse with stock, and three SKUs: ``a`` (100.00, old price 120.00, 10 on hand, 4
    reserved), ``b`` (50.00) in Phones, ``c`` (30.00) in Cases."""
    phones = services.category_create(actor=owner, name="Phones")
    cases = services.category_create(actor=owner, name="Cases")
    main, back = make_warehouse(owner, code="main"), make_warehouse(owner, code="back")
    a = first_sku(make_product(owner, category=phones))
    services.sku_update(actor=owner, sku=a, old_price=Decimal("120.00"))
    b = first_sku(make_product(owner, category=phones, price="50.00"))
    c = first_sku(make_product(owner, category=cases, price="30.00"))
    services.stock_adjust(actor=owner, sku=a, warehouse=main, delta=10, reason="receipt")
    services.stock_reserve(actor=system_actor(shop), lines=[{"sku": a, "quantity": 4, "warehouse": main}])
    return {"phones": phones, "cases": cases, "main": main, "back": back, "a": a, "b": b, "c": c}


# --------------------------------------------------------------------------------------------- service


def test_percent_change_applies_to_every_sku_audited_and_keeps_approval(shop, owner, cat):
    a, b = cat["a"], cat["b"]
    product = Product.objects.for_shop(shop).get(pk=b.product_id)
    services.product_submit(actor=owner, product=product)
    services.product_approve(actor=system_actor(shop), product=product)
    rows = services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk], price=PriceChange(op="percent", value="-10"))
    assert [(r["sku"].code, r["price"]) for r in rows] == [
        (a.code, [Decimal("100.00"), Decimal("90.00")]), (b.code, [Decimal("50.00"), Decimal("45.00")])]  # fmt: skip
    assert (price_of(a), price_of(b)) == (Decimal("90.00"), Decimal("45.00"))
    entries = audit(shop, "sku.updated").filter(changes__has_key="price").order_by("id")
    assert [e.changes["price"] for e in entries] == [["100.00", "90.00"], ["50.00", "45.00"]]
    # A price is no content: the approved product stays approved.
    assert Product.objects.for_shop(shop).get(pk=product.pk).status == Product.Status.APPROVED


def test_one_sku_that_cannot_take_the_change_is_named_and_nothing_changes(shop, owner, cat):
    a, b = cat["a"], cat["b"]
    before = audit(shop, "sku.updated").count()
    # 130 is above a's old price (120): a fails, b (no old price) would be fine.
    with pytest.raises(ValidationFailed) as exc:
        services.sku_bulk_edit(actor=owner, sku_ids=[b.pk, a.pk], price=PriceChange(op="set", value="130"))
    assert a.code in exc.value.message and b.code not in exc.value.message
    assert list(exc.value.fields) == [f"skus.{a.code}"]
    assert (price_of(a), price_of(b)) == (Decimal("100.00"), Decimal("50.00"))
    assert audit(shop, "sku.updated").count() == before
    # An amount that takes a price to zero or below is refused the same way.
    with pytest.raises(ValidationFailed, match=re.escape(b.code)):
        services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk], price=PriceChange(op="amount", value="-50"))
    assert price_of(a) == Decimal("100.00")
    # Setting the old price with the price, both checked together: old 95 < new 100 for a.
    with pytest.raises(ValidationFailed, match=re.escape(a.code)):
        services.sku_bulk_edit(actor=owner, sku_ids=[a.pk], price=PriceChange(old_op="set", old_value="95"))
    services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk], price=PriceChange(old_op="set", old_value="150"))
    assert list(SKU.objects.for_shop(shop).filter(pk__in=[a.pk, b.pk]).values_list("old_price", flat=True)) == [
        Decimal("150.00"), Decimal("150.00")]  # fmt: skip


def test_stock_set_and_add_write_movements_and_refuse_going_below_reserved(shop, owner, cat):
    a, b, main = cat["a"], cat["b"], cat["main"]
    moves = StockMovement.objects.for_shop(shop).count()
    # a holds 10 with 4 reserved: setting 3 would leave less than is reserved; b is fine, but nothing changes.
    with pytest.raises(ValidationFailed) as exc:
        services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk], stock=StockChange(op="set", warehouse=main,
                                                                                     quantity=3))  # fmt: skip
    assert a.code in exc.value.message and "4" in exc.value.message
    assert (on_hand(a, main), on_hand(b, main)) == (10, None)
    assert StockMovement.objects.for_shop(shop).count() == moves
    rows = services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk],
                                  stock=StockChange(op="set", warehouse=main, quantity=7))  # fmt: skip
    assert [r["on_hand"] for r in rows] == [[10, 7], [0, 7]]
    assert (on_hand(a, main), on_hand(b, main)) == (7, 7)
    services.sku_bulk_edit(actor=owner, sku_ids=[a.pk, b.pk],
                           stock=StockChange(op="add", warehouse=main, quantity=-2, reason="damage", note="dropped"))  # fmt: skip
    assert (on_hand(a, main), on_hand(b, main)) == (5, 5)
    new = StockMovement.objects.for_shop(shop).order_by("id")[moves:]
    assert [(m.sku_id, m.on_hand_delta, m.reason) for m in new] == [
        (a.pk, -3, "count"), (b.pk, 7, "count"), (a.pk, -2, "damage"), (b.pk, -2, "damage")]  # fmt: skip
    assert audit(shop, "stock.adjustment").filter(changes__reason=[None, "damage"]).count() == 2
    # A receipt only adds.
    with pytest.raises(ValidationFailed):
        services.sku_bulk_edit(actor=owner, sku_ids=[a.pk],
                               stock=StockChange(op="add", warehouse=main, quantity=-1, reason="receipt"))  # fmt: skip


def test_scope_is_refused_not_skipped(shop, cat):
    a, c, main, back = cat["a"], cat["c"], cat["main"], cat["back"]
    phones_only = load_actor(make_member(shop, "operator", scopes={"category": [cat["phones"].pk]}).user, shop)
    with pytest.raises(Forbidden) as exc:
        services.sku_bulk_edit(actor=phones_only, sku_ids=[a.pk, c.pk], price=PriceChange(op="set", value="10"))
    assert f"#{c.pk}" in exc.value.message and c.code not in exc.value.message  # named, without leaking its code
    assert (price_of(a), price_of(c)) == (Decimal("100.00"), Decimal("30.00"))
    main_only = load_actor(make_member(shop, "operator", scopes={"warehouse": [main.pk]}).user, shop)
    with pytest.raises(Forbidden):
        services.sku_bulk_edit(actor=main_only, sku_ids=[a.pk], stock=StockChange(op="add", warehouse=back, quantity=1,
                                                                                   reason="receipt"))  # fmt: skip
    assert on_hand(a, back) is None
    viewer = load_actor(make_member(shop, "viewer").user, shop)
    with pytest.raises(Forbidden):
        services.sku_bulk_plan(actor=viewer, sku_ids=[a.pk], price=PriceChange(op="set", value="10"))
    with pytest.raises(NotFound):
        services.sku_bulk_edit(actor=phones_only, sku_ids=[a.pk, 10**12], price=PriceChange(op="set", value="10"))
    with pytest.raises(TypeError):
        services.sku_bulk_edit(actor=shop.owner, sku_ids=[a.pk], price=PriceChange(op="set", value="10"))


# --------------------------------------------------------------------------------------------- page


def bulk_url(shop, op: str) -> str:
    return f"/shops/{shop.pk}/catalog/skus/bulk-edit/{op}/"


def test_page_selection_preview_then_apply_once(shop, cat):
    a, b = cat["a"], cat["b"]
    web = web_client_for(make_member(shop, "operator").user)
    url = bulk_url(shop, "price")
    # The product list offers the SKU boxes and the two buttons.
    listing = web.get(f"/shops/{shop.pk}/catalog/products/").content.decode()
    assert f'name="skus" value="{a.pk}" form="sku-select-form"' in listing and 'id="bulk-stock"' in listing
    # The selection (what the product list's form sends) shows the form, changing nothing.
    r = web.post(url, {"skus": [a.pk, b.pk]})
    assert r.status_code == 200 and 'id="bulk-edit-form"' in r.content.decode()
    body = {"skus": [a.pk, b.pk], "price_op": "amount", "price_value": "10", "old_price_op": ""}
    r = web.post(url, {**body, "step": "preview"})
    page = r.content.decode()
    assert r.status_code == 200 and 'id="bulk-plan"' in page
    assert re.search(r"100\.00 → <strong>110\.00</strong>", page)
    assert re.search(r"50\.00 → <strong>60\.00</strong>", page)
    assert price_of(a) == Decimal("100.00"), "the preview changes nothing"
    # Back from the confirmation: the form again, as it was filled.
    back = web.post(url, {**body, "step": "edit"}).content.decode()
    assert 'id="bulk-edit-form"' in back and '<option value="amount" selected>' in back
    token = re.search(r'name="once_token" value="([^"]+)"', page).group(1)
    r = web.post(url, {**body, "step": "apply", "once_token": token})
    assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/catalog/products/"
    assert (price_of(a), price_of(b)) == (Decimal("110.00"), Decimal("60.00"))
    # The same confirmation sent again (a double click) changes nothing more.
    assert web.post(url, {**body, "step": "apply", "once_token": token}).status_code == 409
    assert (price_of(a), price_of(b)) == (Decimal("110.00"), Decimal("60.00"))


def test_page_names_the_failing_sku_and_refuses_bad_input(shop, cat):
    a, b = cat["a"], cat["b"]
    web = web_client_for(make_member(shop, "operator").user)
    url = bulk_url(shop, "price")
    body = {"skus": [a.pk, b.pk], "price_op": "set", "price_value": "130", "step": "preview"}
    r = web.post(url, body)
    page = r.content.decode()
    assert r.status_code == 400
    row = re.search(rf'<tr data-sku="{a.code}">(.*?)</tr>', page, re.S).group(1)
    assert "The old price must not be lower than the price." in row
    assert r.status_code == web.post(url, {**body, "step": "apply"}).status_code == 400
    assert price_of(b) == Decimal("50.00")
    for bad in ({"price_value": "abc"}, {"price_op": "double"}, {"price_op": "", "old_price_op": ""}):
        assert web.post(url, {**body, **bad}).status_code == 400, bad
    assert web.post(url, {**body, "skus": "x"}).status_code == 400
    assert web.post(url, {**body, "skus": []}).status_code == 400
    assert web.post(url, {**body, "skus": [10**12]}).status_code == 404
    # Stock: a warehouse the form does not offer, a quantity that is no number.
    stock = {"skus": [a.pk], "stock_op": "add", "warehouse": cat["main"].pk, "quantity": "1", "reason": "receipt",
             "step": "preview"}  # fmt: skip
    assert web.post(bulk_url(shop, "stock"), stock).status_code == 200
    assert web.post(bulk_url(shop, "stock"), {**stock, "warehouse": 10**12}).status_code == 400
    assert web.post(bulk_url(shop, "stock"), {**stock, "quantity": "1e3"}).status_code == 400
    r = web.post(bulk_url(shop, "stock"), {**stock, "stock_op": "set", "quantity": "1", "step": "apply"})
    assert r.status_code == 400 and a.code in r.content.decode() and on_hand(a, cat["main"]) == 10


def test_page_refuses_a_sku_outside_the_scope_and_a_member_without_the_action(shop, cat):
    phones_only = web_client_for(make_member(shop, "operator", scopes={"category": [cat["phones"].pk]}).user)
    body = {"skus": [cat["a"].pk, cat["c"].pk], "price_op": "set", "price_value": "10"}
    assert phones_only.post(bulk_url(shop, "price"), body).status_code == 403
    assert phones_only.post(bulk_url(shop, "price"), {**body, "step": "apply"}).status_code == 403
    assert price_of(cat["a"]) == Decimal("100.00")
    viewer = web_client_for(make_member(shop, "viewer").user)
    assert viewer.get(bulk_url(shop, "stock") + f"?skus={cat['a'].pk}").status_code == 403
    assert 'id="sku-select-form"' not in viewer.get(f"/shops/{shop.pk}/catalog/products/").content.decode()


# --------------------------------------------------------------------------------------------- API


def test_api_dry_run_then_apply_and_refusals(shop, cat):
    a, b, main = cat["a"], cat["b"], cat["main"]
    api = api_client_for(make_member(shop, "operator").user)
    url = f"/api/v1/shops/{shop.pk}/skus/"
    body = {"skus": [a.pk, b.pk], "price_op": "percent", "price_value": "5", "old_price_op": "clear", "dry_run": True}
    r = api.post(url + "bulk-price/", body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["dry_run"] is True
    assert [(row["code"], row["price"], row["old_price"]) for row in r.json()["skus"]] == [
        (a.code, ["100.00", "105.00"], ["120.00", None]), (b.code, ["50.00", "52.50"], [None, None])]  # fmt: skip
    assert price_of(a) == Decimal("100.00")
    r = api.post(url + "bulk-price/", {**body, "dry_run": False}, format="json")
    assert r.status_code == 200 and (price_of(a), price_of(b)) == (Decimal("105.00"), Decimal("52.50"))
    stock = {"skus": [a.pk, b.pk], "stock_op": "set", "warehouse": main.pk, "quantity": 2}
    r = api.post(url + "bulk-stock/", stock, format="json")
    assert r.status_code == 400 and f"skus.{a.code}" in r.json()["error"]["fields"], r.content
    r = api.post(url + "bulk-stock/", {**stock, "quantity": 6}, format="json")
    assert r.status_code == 200 and [row["on_hand"] for row in r.json()["skus"]] == [[10, 6], [0, 6]]
    assert api.post(url + "bulk-stock/", {**stock, "warehouse": 10**12}, format="json").status_code == 400
    assert api.post(url + "bulk-price/", {**body, "skus": [10**12]}, format="json").status_code == 404
    assert api.post(url + "bulk-price/", {**body, "skus": ["x"]}, format="json").status_code == 400
    assert api.post(url + "bulk-price/", {**body, "price_value": "NaN"}, format="json").status_code == 400
    viewer = api_client_for(make_member(shop, "viewer").user)
    assert viewer.post(url + "bulk-price/", body, format="json").status_code == 403
