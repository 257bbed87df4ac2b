"""One English word, two meanings: the msgids that need a gettext context (issue #11, defect 10).

"From" is a date-range bound on the filter bars and the source warehouse on an order and its packing slip;
"Name" is a thing's name (warehouse, category, role, API key) and a buyer's name; "Open" is a button on the
notifications page and a low-stock alert's status. Without a context each pair shares one translation, so
a warehouse read "Дата с" and a buyer's name "Название". These pages are rendered through the real
middleware in Russian and Chinese and must show each word in its own meaning.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from catalog import services as catalog
from orders.tests.factories import BUYER, intake, make_sku
from tests.fixtures import owner_actor, web_client_for


def _client(shop, language: str) -> Client:
    client = web_client_for(shop.owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _page(client: Client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    return html


@pytest.mark.parametrize(
    ("language", "warehouse_from", "person_name", "date_from", "thing_name"),
    [("ru", "Со склада", "Имя", "Дата с", "Название"), ("zh-hans", "发货仓库", "姓名", "开始日期", "名称")],
)
def test_order_detail_names_the_buyer_and_the_source_warehouse(
    shop, language, warehouse_from, person_name, date_from, thing_name
):
    sku, warehouse = make_sku(shop, stock=5)
    order = intake(shop, sku, quantity=2)
    html = _page(_client(shop, language), f"/shops/{shop.pk}/orders/{order.pk}/")
    assert f'<html lang="{language}">' in html

    # The buyer card: a person's name, with the buyer's name beside it.
    assert re.search(rf'<dt>{person_name}</dt><dd id="buyer-name">{BUYER["name"]}</dd>', html)
    assert f"<dt>{thing_name}</dt>" not in html
    # The allocations line: the warehouse the goods leave from, not the start of a date range.
    assert re.search(rf'{warehouse_from}: <span class="badge">{re.escape(warehouse.name)} × 2</span>', html)
    assert date_from not in html


@pytest.mark.parametrize(("language", "warehouse_from", "date_from"), [("ru", "Со склада", "Дата с"),
                                                                        ("zh-hans", "发货仓库", "开始日期")])  # fmt: skip
def test_packing_slip_column_is_the_source_warehouse(shop, language, warehouse_from, date_from):
    sku, warehouse = make_sku(shop, stock=5)
    order = intake(shop, sku)
    html = _page(_client(shop, language), f"/shops/{shop.pk}/orders/{order.pk}/slip/")
    assert f"<th>{warehouse_from}</th></tr>" in html
    assert warehouse.code in html
    assert date_from not in html


@pytest.mark.parametrize(
    ("language", "date_from", "date_to", "warehouse_from"),
    [("ru", "Дата с", "Дата по", "Со склада"), ("zh-hans", "开始日期", "结束日期", "发货仓库")],
)
def test_date_filters_keep_the_date_meaning(shop, language, date_from, date_to, warehouse_from):
    client = _client(shop, language)
    orders = _page(client, f"/shops/{shop.pk}/orders/")
    assert f'{date_from} <input type="date" name="date_from"' in orders
    assert f'{date_to} <input type="date" name="date_to"' in orders
    assert warehouse_from not in orders

    # The audit filter form's labels come from Python (pgettext_lazy), not from a template.
    audit = _page(client, f"/shops/{shop.pk}/audit/")
    assert re.search(rf"<label>{date_from}<br><input type=\"date\" name=\"date_from\"", audit)
    assert re.search(rf"<label>{date_to}<br><input type=\"date\" name=\"date_to\"", audit)
    assert warehouse_from not in audit


def test_a_refused_date_filter_is_named_as_a_date(shop):
    """The orders list names a bad filter in words ("Дата с: …"), from the same context as its label: it
    sends the seller back to the plain list with that message."""
    client = _client(shop, "ru")
    response = client.get(f"/shops/{shop.pk}/orders/", {"date_from": "not-a-date"})
    assert response.status_code == 302, response.status_code
    html = _page(client, response["Location"])
    assert "Дата с: " in html
    assert "Со склада" not in html


def test_warehouse_list_keeps_a_things_name(shop):
    catalog.warehouse_create(actor=owner_actor(shop), name="Север", code="north")
    html = _page(_client(shop, "ru"), f"/shops/{shop.pk}/catalog/warehouses/")
    assert "<th>Название</th>" in html
    assert "<th>Имя</th>" not in html


@pytest.mark.parametrize(
    ("language", "status", "button"), [("ru", "Открыто", "Открыть"), ("zh-hans", "未解决", "查看")]
)
def test_open_alert_status_is_not_the_open_button(shop, language, status, button):
    html = _page(_client(shop, language), f"/shops/{shop.pk}/catalog/low-stock/")
    assert re.search(rf'href="\?status=open">{status}</a>', html)
    assert f">{button}<" not in html


@pytest.mark.parametrize(
    ("language", "pairs"),
    [
        ("ru", {("date range", "From"): "Дата с", ("warehouse", "From"): "Со склада", ("date range", "To"): "Дата по",
                (None, "Name"): "Название", ("person", "Name"): "Имя",
                (None, "Open"): "Открыть", ("low-stock alert status", "Open"): "Открыто"}),
        ("zh-hans", {("date range", "From"): "开始日期", ("warehouse", "From"): "发货仓库", ("date range", "To"): "结束日期",
                     (None, "Name"): "名称", ("person", "Name"): "姓名",
                     (None, "Open"): "查看", ("low-stock alert status", "Open"): "未解决"}),
    ],
)  # fmt: skip
def test_each_meaning_has_its_own_compiled_translation(language, pairs):
    """Straight from the compiled catalogs: a context that lost its entry would fall back to English."""
    with translation.override(language):
        for (context, msgid), expected in pairs.items():
            got = translation.gettext(msgid) if context is None else translation.pgettext(context, msgid)
            assert got == expected, (context, msgid, got)
