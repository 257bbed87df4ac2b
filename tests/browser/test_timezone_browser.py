"""The shop's time zone in a real browser: one owner, a Europe/Moscow shop and a UTC shop, each with an order
placed at 22:30 UTC on 1 March. The Moscow shop's pages say 01:30 on the 2nd, the UTC shop's 22:30 on the
1st, and the list's "From" day filter is the shop's day."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from accounts import services as accounts
from backoffice.authz import load_actor
from orders.models import Order
from orders.tests.factories import intake, make_sku
from tests.fixtures import make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOMENT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def _shop_with_order(name: str, zone: str, owner=None):
    shop = make_shop(name) if owner is None else accounts.shop_open(user=owner, shop_name=name)
    accounts.shop_update(actor=load_actor(shop.owner, shop), timezone=zone)
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku)
    Order.objects.for_shop(shop).filter(pk=order.pk).update(created_at=MOMENT, ship_by=MOMENT)
    return shop, order


def test_a_moscow_shops_order_page_shows_moscow_time(page: Page, live_server, login, screenshot):
    moscow, moscow_order = _shop_with_order("Moscow Time Goods", "Europe/Moscow")
    utc, utc_order = _shop_with_order("UTC Time Goods", "UTC", owner=moscow.owner)
    login(page, moscow.owner)

    page.goto(f"{live_server.url}/shops/{moscow.pk}/orders/{moscow_order.pk}/")
    created = page.locator("dt", has_text="Created").locator("xpath=following-sibling::dd[1]")
    expect(created).to_have_text("2026-03-02 01:30")
    screenshot(page, "timezone-moscow-order")

    # The same owner, the same page, the other shop: its own zone, nothing left over from the last request.
    page.goto(f"{live_server.url}/shops/{utc.pk}/orders/{utc_order.pk}/")
    expect(created).to_have_text("2026-03-01 22:30")
    page.goto(f"{live_server.url}/shops/{moscow.pk}/orders/{moscow_order.pk}/")
    expect(created).to_have_text("2026-03-02 01:30")

    # "From 2 March" is Moscow's 2 March: the order is on it there, and not in the UTC shop.
    for shop, order, on_the_2nd in ((moscow, moscow_order, True), (utc, utc_order, False)):
        page.goto(f"{live_server.url}/shops/{shop.pk}/orders/")
        row = page.locator(f'tr[data-order="{order.number}"]')
        expect(row).to_be_visible()
        page.locator("#order-filters input[name=date_from]").fill("2026-03-02")
        page.locator("#order-filters input[name=date_from]").dispatch_event("change")
        expect(page).to_have_url(re.compile(r"[?&]date_from=2026-03-02(&|$)"))  # the list has been filtered
        expect(row).to_have_count(1 if on_the_2nd else 0)
