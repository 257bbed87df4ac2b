"""Orders in a real browser: an operator confirms, packs (carrier, tracking) and ships; buyer contact is masked
for a viewer and visible to a support agent; a return is approved and received."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Stock
from orders.models import Order, Return
from orders.tests.factories import BUYER, intake, make_carrier, make_sku, order_in
from tests.fixtures import make_member, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_confirms_packs_and_ships(page: Page, live_server, login, screenshot):
    shop = make_shop("Orders Browser")
    shop.auto_confirm_orders = False
    shop.save()
    sku, wh = make_sku(shop, stock=5)
    order = intake(shop, sku, quantity=2)
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.locator('#nav a[data-nav="orders"]').click()
    expect(page.locator('[data-tab="awaiting_confirmation"] .count')).to_have_text("1")
    screenshot(page, "orders-list")
    page.locator(f'tr[data-order="{order.number}"] a').first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.number)
    page.locator("#confirm").click()
    expect(page.locator(".messages")).to_contain_text("Order confirmed.")

    page.locator("#pack").click()
    form = page.locator("#pack-form")
    form.get_by_label("Carrier").fill("CDEK")
    form.get_by_role("button", name="Save and pack").click()
    expect(page).to_have_url(re.compile(r"/pack/$"))  # the required field keeps us on the form
    form.get_by_label("Tracking number").fill("CD0123456789")
    form.get_by_role("button", name="Save and pack").click()
    expect(page.locator("#tracking-number")).to_have_text("CD0123456789")
    page.locator("#ship").click()
    page.locator("#confirm-ship").click()
    expect(page.locator('[data-state="delivering"]')).to_be_visible()
    expect(page.locator('#timeline li[data-kind="shipped"]')).to_contain_text(operator.user.username)
    screenshot(page, "order-detail-shipped")

    order.refresh_from_db()
    st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert order.state == Order.State.DELIVERING and (st.on_hand, st.reserved) == (3, 0)


def test_pack_with_a_listed_carrier_correct_tracking_and_confirm_the_hand_over(page: Page, live_server, login,
                                                                              screenshot):  # fmt: skip
    """Issue 11, shipping: the pack form offers the shop's carriers; the tracking number links to the carrier's
    page; a mistyped number is corrected on the order page; handing over asks for confirmation first."""
    shop = make_shop("Carrier Browser")
    make_carrier(shop, "CDEK", code="cdek", tracking_url="https://cdek.example/track/{tracking}")
    make_carrier(shop, "Boxberry", code="boxberry", tracking_url="https://boxberry.example/?id={tracking}")
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku)
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/")
    page.locator("#pack").click()
    form = page.locator("#pack-form")
    form.get_by_label("Carrier").select_option(label="Boxberry")
    form.get_by_label("Tracking number").fill("BX-0001")
    form.get_by_role("button", name="Save and pack").click()
    link = page.locator("#tracking-link")
    expect(link).to_have_text("BX-0001")
    expect(link).to_have_attribute("href", "https://boxberry.example/?id=BX-0001")

    page.locator("#correct-tracking summary").click()
    page.get_by_label("New tracking number").fill("BX-0002")
    page.locator("#correct-tracking-form").get_by_role("button", name="Save tracking number").click()
    expect(page.locator(".messages")).to_contain_text("Tracking number corrected.")
    expect(link).to_have_attribute("href", "https://boxberry.example/?id=BX-0002")
    expect(page.locator('#timeline li[data-kind="tracking_corrected"]')).to_contain_text("BX-0001 → BX-0002")

    page.locator("#ship").click()
    expect(page.locator("#handover-carrier")).to_have_text("Boxberry")
    expect(page.locator("#handover-tracking")).to_have_text("BX-0002")
    screenshot(page, "order-handover-confirm")
    order.refresh_from_db()
    assert order.state == Order.State.AWAITING_DELIVER  # opening the confirmation hands nothing over
    page.locator("#confirm-ship").click()
    expect(page.locator('[data-state="delivering"]')).to_be_visible()
    order.refresh_from_db()
    assert (order.state, order.carrier, order.tracking_number) == (Order.State.DELIVERING, "Boxberry", "BX-0002")


def test_buyer_contact_masked_for_viewer_visible_for_support(page: Page, live_server, login, screenshot):
    shop = make_shop("Masking Browser")
    order = order_in(shop, Order.State.AWAITING_PACKAGING)
    viewer, support = make_member(shop, "viewer"), make_member(shop, "support")

    login(page, viewer.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/")
    expect(page.locator("#buyer-name")).to_have_text("I•••")
    expect(page.locator("#buyer-phone")).to_have_text("•••89")
    expect(page.locator("#masked-note")).to_be_visible()
    expect(page.locator("#pack")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(BUYER["address"])
    screenshot(page, "order-detail-viewer-masked")

    page.context.clear_cookies()
    login(page, support.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/")
    expect(page.locator("#buyer-name")).to_have_text(BUYER["name"])
    expect(page.locator("#buyer-address")).to_have_text(BUYER["address"])
    expect(page.locator("#masked-note")).to_have_count(0)
    screenshot(page, "order-detail-support")


def test_return_is_approved_and_received(page: Page, live_server, login, screenshot):
    shop = make_shop("Returns Browser")
    sku, wh = make_sku(shop, stock=5)
    order = order_in(shop, Order.State.DELIVERED, sku=sku, quantity=2)
    support = make_member(shop, "support")

    login(page, support.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/")
    page.locator("#request-return").click()
    form = page.locator("#return-form")
    form.get_by_label("Reason").fill("Wrong colour")
    form.get_by_label(re.compile(sku.code)).fill("1")
    form.get_by_role("button", name="Request return").click()
    expect(page.locator(".messages")).to_contain_text("requested")

    page.locator('#nav a[data-nav="returns"]').click()
    ret = Return.objects.for_shop(shop).get(order=order)
    page.locator(f'tr[data-return="{ret.pk}"] a').first.click()
    expect(page.locator("#return-state")).to_have_text("Requested")
    page.locator("#approve").click()
    expect(page.locator("#return-state")).to_have_text("Approved")
    page.locator("#receive-form").get_by_label("Put back into").select_option(str(wh.pk))
    page.locator("#receive").click()
    expect(page.locator("#return-state")).to_have_text("Received")
    expect(page.locator("#return-lines")).to_contain_text("Back to stock")
    screenshot(page, "return-received")
    assert Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh).on_hand == 4


def test_dashboard_card_to_bulk_pack(page: Page, live_server, login, screenshot):
    shop = make_shop("Bulk Pack Browser")
    sku, _wh = make_sku(shop, stock=10)
    orders = [intake(shop, sku) for _ in range(2)]
    express = intake(shop, sku, delivery_method="express")
    operator = make_member(shop, "operator")

    login(page, operator.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/")
    expect(page.locator('[data-card="awaiting_packaging"] .value')).to_have_text("3")
    screenshot(page, "dashboard-cards")
    page.locator('[data-card="awaiting_packaging"]').click()
    expect(page.locator('[data-tab="awaiting_packaging"]')).to_have_class(re.compile("active"))
    # Filtering through htmx refreshes the tab counts too.
    page.locator("#order-filters select[name=delivery_method]").select_option("express")
    expect(page.locator('[data-tab="all"] .count')).to_have_text("1")
    expect(page.locator("tr[data-order]")).to_have_count(1)
    page.locator("#order-filters select[name=delivery_method]").select_option("")
    expect(page.locator('[data-tab="all"] .count')).to_have_text("3")

    for order in orders:
        page.locator(f'tr[data-order="{order.number}"] input[name=ids]').check()
    page.locator("#bulk-pack").click()
    form = page.locator("#bulk-pack-form")
    expect(form.locator("tr[data-order]")).to_have_count(2)
    form.get_by_label("Carrier").fill("CDEK")
    for n, order in enumerate(orders):
        form.get_by_label(f"Tracking number {order.number}").fill(f"TRK-{n}")
    screenshot(page, "bulk-pack")
    form.get_by_role("button", name="Pack 2 orders").click()
    expect(page.locator(".messages")).to_contain_text("2 packed.")
    expect(page.locator('[data-tab="awaiting_deliver"]')).to_have_class(re.compile("active"))
    expect(page.locator("tr[data-order]")).to_have_count(2)
    packed = {
        o.number: o.tracking_number for o in Order.objects.for_shop(shop).filter(state=Order.State.AWAITING_DELIVER)
    }
    assert packed == {orders[0].number: "TRK-0", orders[1].number: "TRK-1"}
    assert Order.objects.for_shop(shop).get(pk=express.pk).state == Order.State.AWAITING_PACKAGING
