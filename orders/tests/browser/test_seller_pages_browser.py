"""Issue 11 in a real browser: the list's bulk buttons never put the CSRF token into an address, an export keeps
the list's filters whatever format is chosen (and the export list says which filters each file has), and long
carriers, tracking numbers and codes wrap instead of widening the pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backoffice.authz import system_actor
from orders import services
from orders.models import ExportJob, Order
from orders.tests.factories import intake, make_sku, order_in
from tests.fixtures import make_member, make_shop, owner_actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN = "csrfmiddlewaretoken"


def test_bulk_buttons_never_put_the_csrf_token_in_an_address(page: Page, live_server, login):
    shop = make_shop("Bulk Token Browser")
    shop.auto_confirm_orders = False
    shop.save()
    sku, _wh = make_sku(shop, stock=10)
    unconfirmed = intake(shop, sku)
    shop.auto_confirm_orders = True
    shop.save()
    a, b = intake(shop, sku), intake(shop, sku)
    operator = make_member(shop, "operator")
    addresses: list[str] = []
    page.context.on("request", lambda request: addresses.append(request.url))

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/?state=awaiting_packaging")
    for order in (a, b):
        page.locator(f'tr[data-order="{order.number}"] input[name=ids]').check()
    page.locator("#bulk-pack").click()
    expect(page).to_have_url(re.compile(r"/orders/bulk-pack/\?"))
    assert TOKEN not in page.url and f"ids={a.pk}" in page.url
    form = page.locator("#bulk-pack-form")
    form.get_by_label("Carrier").fill("CDEK")
    form.get_by_label(f"Tracking number {a.number}").fill("TRK-A")
    form.get_by_label(f"Tracking number {b.number}").fill("TRK-B")
    form.get_by_role("button", name="Pack 2 orders").click()
    expect(page.locator(".messages")).to_contain_text("2 packed.")

    # Printing the slips of the ticked orders opens them in a new tab, by address: no token in it either.
    page.locator(f'tr[data-order="{a.number}"] input[name=ids]').check()
    with page.expect_popup() as popup:
        page.locator("#bulk-print").click()
    slips = popup.value
    expect(slips.locator(f'section[data-order="{a.number}"]')).to_be_visible()
    assert TOKEN not in slips.url
    slips.close()

    # The one button that writes still carries the token, in the body of a POST.
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/?state=awaiting_confirmation")
    page.locator(f'tr[data-order="{unconfirmed.number}"] input[name=ids]').check()
    page.locator("#bulk-confirm").click()
    expect(page.locator(".messages")).to_contain_text("1 confirmed, 0 skipped.")
    unconfirmed.refresh_from_db()
    assert unconfirmed.state == Order.State.AWAITING_PACKAGING
    assert [url for url in addresses if TOKEN in url] == []


def test_an_export_keeps_the_list_filters_whatever_the_format(page: Page, live_server, login, screenshot):
    shop = make_shop("Export Filters Browser")
    sku, _wh = make_sku(shop, stock=10)
    order_in(shop, Order.State.DELIVERED, sku=sku)
    order_in(shop, Order.State.AWAITING_PACKAGING, sku=sku)

    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/?state=delivered&date_from=2026-11-01")
    page.locator("#export").click()
    form = page.locator("#export-form")
    expect(form).to_contain_text("State: Delivered · From 2026-11-01")
    form.get_by_label("Format").select_option("csv")
    page.locator("#start-export").click()
    expect(page.locator(".messages")).to_contain_text("Export started")
    # A second file of the same orders, as a spreadsheet: the filters are still those of the list.
    page.locator("#export-form").get_by_label("Format").select_option("xlsx")
    page.locator("#start-export").click()
    expect(page.locator("#exports-table tr[data-export]")).to_have_count(2)
    jobs = list(ExportJob.objects.for_shop(shop).order_by("id"))
    assert [(j.fmt, j.filters) for j in jobs] == [
        ("csv", {"state": "delivered", "date_from": "2026-11-01"}),
        ("xlsx", {"state": "delivered", "date_from": "2026-11-01"}),
    ]
    for job in jobs:
        expect(page.locator(f'tr[data-export="{job.pk}"] [data-filters]')).to_have_text(
            "State: Delivered · From 2026-11-01"
        )
    screenshot(page, "order-exports-filters")


LONG_CARRIER = "Carrier" + "X" * 73
LONG_TRACKING = "TRK" + "9" * 77


def _page_width(page: Page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [1280, 1024])
def test_long_carriers_tracking_numbers_and_codes_wrap(page: Page, live_server, login, screenshot, width):
    shop = make_shop("Long Values Browser")
    sku, _wh = make_sku(shop, stock=10, code="SKU-" + "L" * 60)
    packed = intake(shop, sku, external_id="EXT-" + "7" * 60)
    services.order_pack(actor=owner_actor(shop), order=packed, carrier=LONG_CARRIER, tracking_number=LONG_TRACKING)
    services.order_ship(actor=owner_actor(shop), order=packed)
    services.order_tracking_event(actor=system_actor(shop), order=packed, status="in_transit",
                                  location="Hub-" + "K" * 150)  # fmt: skip
    waiting = intake(shop, sku, external_id="EXT-" + "8" * 60)
    page.set_viewport_size({"width": width, "height": 800})

    login(page, shop.owner)
    pages = {
        "detail": f"/shops/{shop.pk}/orders/{packed.pk}/",
        "list": f"/shops/{shop.pk}/orders/",
        "bulk-pack": f"/shops/{shop.pk}/orders/bulk-pack/?ids={waiting.pk}",
        "slip": f"/shops/{shop.pk}/orders/{packed.pk}/slip/",
    }
    widths = {}
    for name, path in pages.items():
        page.goto(live_server.url + path)
        widths[name] = _page_width(page)
        screenshot(page, f"order-long-values-{name}-{width}")
    assert {name: scroll <= inner for name, (scroll, inner) in widths.items()} == dict.fromkeys(pages, True), widths
    page.goto(live_server.url + pages["detail"])
    expect(page.locator("#tracking-number")).to_have_text(LONG_TRACKING)
    expect(page.locator('#timeline li[data-kind="tracking"] .badge')).to_have_text("In transit")
