"""The stock list (page and API) shows every SKU (issue 11): a SKU that never had stock is listed with 0 on hand
(with the warehouse when the list is filtered by one), rows of stocked SKUs are one per warehouse; filters,
scopes, cursor and page pagination and the export follow; the cost stays a constant number of queries. The
Restock link of a low-stock alert opens the adjustment form for that SKU and warehouse, ready for the quantity."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from backoffice.authz import load_actor, system_actor
from catalog import services
from catalog.models import ImportJob, Stock
from catalog.tests.factories import first_sku, make_export, make_product, make_warehouse
from tests.fixtures import api_client_for, count_queries, make_member, web_client_for

pytestmark = pytest.mark.django_db


def api_url(shop, path: str) -> str:
    return f"/api/v1/shops/{shop.pk}/{path}"


def page_url(shop, path: str) -> str:
    return f"/shops/{shop.pk}/catalog/{path}"


def levels(api, shop, **params) -> list[tuple]:
    r = api.get(api_url(shop, "stock/"), {"page_size": 200, **params})
    assert r.status_code == 200, r.content
    return [(row["sku"], row["warehouse"], row["on_hand"], row["reserved"], row["available"])
            for row in r.json()["results"]]  # fmt: skip


@pytest.fixture
def stocked(shop, owner):
    """Two warehouses; ``kettle`` stocked in both, ``fresh`` never stocked, ``gone`` archived and never
    stocked, ``old`` archived with stock."""
    main, back = make_warehouse(owner, code="main"), make_warehouse(owner, code="back")
    kettle = first_sku(make_product(owner, title="Kettle"))
    services.stock_adjust(actor=owner, sku=kettle, warehouse=main, delta=5, reason="receipt")
    services.stock_adjust(actor=owner, sku=kettle, warehouse=back, delta=2, reason="receipt")
    fresh = first_sku(make_product(owner, title="Fresh toaster"))
    gone = first_sku(services.product_archive(actor=owner, product=make_product(owner, title="Gone")))
    old_product = make_product(owner, title="Old stock")
    old = first_sku(old_product)
    services.stock_adjust(actor=owner, sku=old, warehouse=main, delta=1, reason="receipt")
    services.product_archive(actor=owner, product=old_product)
    return {"main": main, "back": back, "kettle": kettle, "fresh": fresh, "gone": gone, "old": old}


def test_a_sku_that_never_had_stock_is_listed_with_zero(shop, stocked):
    s = stocked
    api = api_client_for(shop.owner)
    assert sorted(levels(api, shop), key=str) == sorted([
        (s["kettle"].code, s["main"].pk, 5, 0, 5), (s["kettle"].code, s["back"].pk, 2, 0, 2),
        (s["fresh"].code, None, 0, 0, 0),  # never stocked: zeros, no warehouse
        (s["old"].code, s["main"].pk, 1, 0, 1),  # archived, but it holds stock
    ], key=str)  # fmt: skip
    # Filtered by a warehouse, every live SKU once, with its level there.
    assert sorted(levels(api, shop, warehouse=s["back"].pk)) == sorted([
        (s["kettle"].code, s["back"].pk, 2, 0, 2), (s["fresh"].code, s["back"].pk, 0, 0, 0)])  # fmt: skip
    r = api.get(api_url(shop, "stock/"), {"sku": s["fresh"].code, "warehouse": s["main"].pk})
    [row] = r.json()["results"]
    assert {k: row[k] for k in ("id", "sku", "sku_id", "warehouse", "warehouse_code", "on_hand", "updated_at")} == {
        "id": None, "sku": s["fresh"].code, "sku_id": s["fresh"].pk, "warehouse": s["main"].pk,
        "warehouse_code": "main", "on_hand": 0, "updated_at": None}  # fmt: skip
    assert row["product_title"] == "Fresh toaster"
    stock = Stock.objects.for_shop(shop).get(sku=s["kettle"], warehouse=s["main"])
    [row] = api.get(api_url(shop, "stock/"), {"sku": s["kettle"].pk, "warehouse": s["main"].pk}).json()["results"]
    assert (row["id"], row["warehouse_code"]) == (stock.pk, "main") and row["updated_at"]


def test_filters_apply_to_the_zero_rows_too(shop, owner, stocked):
    s = stocked
    api = api_client_for(shop.owner)
    assert [r[0] for r in levels(api, shop, search="toaster")] == [s["fresh"].code]
    assert [r[0] for r in levels(api, shop, product=s["fresh"].product_id)] == [s["fresh"].code]
    assert [r[0] for r in levels(api, shop, sku=s["fresh"].code)] == [s["fresh"].code]
    # The fresh SKU (0 available) is low on stock; the kettle (7 in all) is not.
    assert {r[0] for r in levels(api, shop, low_stock="1")} == {s["fresh"].code, s["old"].code}
    r = api.get(api_url(shop, "stock/"), {"warehouse": "main"})
    assert r.status_code == 400 and "warehouse" in r.json()["error"]["fields"]
    assert levels(api, shop, warehouse=999_999) == []  # no such warehouse: nothing, not every SKU at 0


def test_scoped_members_see_zero_rows_only_within_their_scope(shop, owner, stocked):
    s = stocked
    phones = services.category_create(actor=owner, name="Phones")
    phone = first_sku(make_product(owner, title="Phone", category=phones))
    back_only = make_member(shop, "operator", scopes={"warehouse": [s["back"].pk]})
    api = api_client_for(back_only.user)
    # Main's rows are not theirs: the kettle shows its Back row, the live SKUs with none in Back show zeros
    # (the archived one, stocked only in Main, has nothing for them).
    assert sorted(levels(api, shop), key=str) == sorted([
        (s["kettle"].code, s["back"].pk, 2, 0, 2), (s["fresh"].code, None, 0, 0, 0),
        (phone.code, None, 0, 0, 0)], key=str)  # fmt: skip
    assert levels(api, shop, warehouse=s["main"].pk) == []  # a warehouse outside their scope shows nothing
    phones_only = api_client_for(make_member(shop, "operator", scopes={"category": [phones.pk]}).user)
    assert levels(phones_only, shop) == [(phone.code, None, 0, 0, 0)]


def test_the_cursor_walks_every_row_once(shop, owner, stocked):
    s = stocked
    for _ in range(3):  # more SKUs stocked in both warehouses: rows sharing a SKU id straddle the pages
        sku = first_sku(make_product(owner))
        for wh in (s["main"], s["back"]):
            services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=1, reason="receipt")
    api = api_client_for(shop.owner)
    everything = levels(api, shop)
    seen, r = [], api.get(api_url(shop, "stock/"), {"page_size": 3})
    while True:
        body = r.json()
        seen += [(row["sku"], row["warehouse"]) for row in body["results"]]
        if not body["next"]:
            break
        r = APIClient.get(api, body["next"])
    assert len(everything) == 10 and seen == [(row[0], row[1]) for row in everything]


def test_the_stock_page_lists_never_stocked_skus_and_pages_through_them(shop, owner, stocked):
    s = stocked
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(page_url(shop, "stock/")).content.decode()
    row = re.search(rf'<tr data-sku="{s["fresh"].code}" data-warehouse="">(.*?)</tr>', page, re.S)
    assert row and '<td class="on-hand">0</td>' in row.group(1) and "Fresh toaster" in row.group(1)
    assert f'data-sku="{s["gone"].code}"' not in page
    page = web.get(page_url(shop, "stock/"), {"warehouse": s["back"].pk}).content.decode()
    assert f'<tr data-sku="{s["fresh"].code}" data-warehouse="back">' in page
    for _ in range(26):
        make_product(owner)
    first = web.get(page_url(shop, "stock/")).content.decode()
    second = web.get(page_url(shop, "stock/"), {"page": 2}).content.decode()
    rows = re.findall(r'<tr data-sku="([^"]+)" data-warehouse="([^"]*)"', first + second)
    assert len(rows) == len(set(rows)) == 30  # 26 new + fresh + kettle×2 + old, none twice, none lost


def test_the_stock_list_costs_the_same_whatever_its_size(shop, owner, stocked):
    s = stocked
    for i in range(30):
        sku = first_sku(make_product(owner))
        if i % 2:
            services.stock_adjust(actor=owner, sku=sku, warehouse=s["main"], delta=1, reason="receipt")
    api = api_client_for(shop.owner)
    small, r_small = count_queries(api, api_url(shop, "stock/"), page_size=2)
    large, r_large = count_queries(api, api_url(shop, "stock/"), page_size=30)
    assert len(r_small.json()["results"]) == 2 and len(r_large.json()["results"]) == 30
    assert small == large, (small, large)
    filtered_small, _ = count_queries(api, api_url(shop, "stock/"), page_size=2, warehouse=s["main"].pk)
    filtered_large, _ = count_queries(api, api_url(shop, "stock/"), page_size=30, warehouse=s["main"].pk)
    assert filtered_small == filtered_large
    web = web_client_for(shop.owner, reauth=False)
    assert count_queries(web, page_url(shop, "stock/"), page=1)[0] == count_queries(web, page_url(shop, "stock/"),
                                                                                    page=2)[0]  # fmt: skip


def _stock_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_stock_export_lists_them_and_importing_it_back_changes_nothing(shop, owner, stocked):
    s = stocked
    job = make_export(owner, kind="stock", fmt="csv")
    rows = _stock_csv(job.file.open("rb").read())
    assert [s["fresh"].code, "", "0", "0", "0", "Fresh toaster"] in rows
    assert [s["kettle"].code, "back", "2", "0", "2", "Kettle"] in rows
    moved = Stock.objects.for_shop(shop).count()
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    upload = SimpleUploadedFile("stock.csv", buf.getvalue().encode(), content_type="text/csv")
    imported = services.import_job_create(actor=owner, kind="stock", upload=upload)
    services.import_job_run(actor=system_actor(shop), job_id=imported.pk)
    imported.refresh_from_db()
    assert imported.status == ImportJob.Status.DONE
    assert (imported.error_rows, imported.updated_rows, imported.unchanged_rows) == (0, 0, len(rows) - 1)
    assert Stock.objects.for_shop(shop).count() == moved
    filtered = make_export(owner, kind="stock", fmt="csv", filters={"warehouse": str(s["main"].pk)})
    assert [s["fresh"].code, "main", "0", "0", "0", "Fresh toaster"] in _stock_csv(filtered.file.open("rb").read())


# ------------------------------------------------------------------------------------------- restock


@pytest.fixture
def alert(shop, owner):
    """A SKU low on stock, last changed in "back" (besides an older, emptier row in "main")."""
    main, back = make_warehouse(owner, code="main"), make_warehouse(owner, code="back")
    sku = first_sku(make_product(owner, title="Kettle"))
    services.stock_adjust(actor=owner, sku=sku, warehouse=main, delta=1, reason="receipt")
    services.stock_adjust(actor=owner, sku=sku, warehouse=back, delta=1, reason="receipt")
    services.low_stock_scan(actor=system_actor(shop))
    return sku, main, back


def test_restock_opens_the_adjustment_form_for_that_sku_and_warehouse(shop, alert):
    sku, _main, back = alert
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(page_url(shop, "low-stock/")).content.decode()
    link = re.search(rf'<a href="([^"]+)" data-restock="{sku.code}">Restock</a>', page)
    assert link, page
    href = link.group(1).replace("&amp;", "&")
    assert href == f"/shops/{shop.pk}/catalog/stock/?sku={sku.code}&warehouse={back.pk}&reason=receipt"
    r = web.get(href)
    assert r.status_code == 200
    form = r.context["form"]
    page = r.content.decode()
    assert (form["sku"].value(), str(form["warehouse"].value()), form["reason"].value()) == (
        sku.code, str(back.pk), "receipt")  # fmt: skip
    assert re.search(r'<input[^>]*name="delta"[^>]*autofocus', page)
    assert re.search(rf'<option value="{back.pk}" selected>', page)
    # The list shows that one level.
    assert re.findall(r'<tr data-sku="([^"]+)" data-warehouse="([^"]*)"', page) == [(sku.code, "back")]


def test_restock_of_a_sku_never_stocked_falls_back_to_a_warehouse_the_member_manages(shop, owner):
    closed, open_ = make_warehouse(owner, code="aaa-closed"), make_warehouse(owner, code="zzz-open")
    services.warehouse_update(actor=owner, warehouse=closed, is_active=False)
    sku = first_sku(make_product(owner))
    services.low_stock_scan(actor=system_actor(shop))
    page = web_client_for(shop.owner, reauth=False).get(page_url(shop, "low-stock/")).content.decode()
    assert f"?sku={sku.code}&amp;warehouse={open_.pk}&amp;reason=receipt" in page


@pytest.mark.parametrize("role", ["viewer", "support", "finance"])
def test_members_who_cannot_change_stock_get_no_restock_link(shop, alert, role):
    sku, _main, _back = alert
    page = web_client_for(make_member(shop, role).user, reauth=False).get(page_url(shop, "low-stock/"))
    assert f'data-sku="{sku.code}"' in page.content.decode()  # they still see the alert
    assert "Restock</a>" not in page.content.decode() and "data-restock" not in page.content.decode()


def test_the_low_stock_page_costs_the_same_with_restock_links(shop, owner):
    wh = make_warehouse(owner)
    for i in range(30):
        sku = first_sku(make_product(owner))
        if i % 2:
            services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=1, reason="receipt")
    services.low_stock_scan(actor=system_actor(shop))
    web = web_client_for(shop.owner, reauth=False)
    first, r = count_queries(web, page_url(shop, "low-stock/"), page=1)
    second, _ = count_queries(web, page_url(shop, "low-stock/"), page=2)
    assert r.content.decode().count("data-restock") == 25 and first == second


def test_an_actor_limited_to_one_warehouse_restocks_there(shop, owner, alert):
    sku, main, _back = alert
    member = make_member(shop, "operator", scopes={"warehouse": [main.pk]})
    page = web_client_for(member.user, reauth=False).get(page_url(shop, "low-stock/")).content.decode()
    assert f"?sku={sku.code}&amp;warehouse={main.pk}&amp;" in page
    assert load_actor(member.user, shop) is not None
