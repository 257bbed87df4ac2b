"""Issue #11's defects 1, 2 and 5 in a real browser (3, 6-9 and 12 have theirs beside the pages they fix;
4, the embedded default, is in test_embedded_default_browser.py).

1. An impossible date (2026-02-30) or an out-of-range id in the order list's filters, or sent with an export,
   is refused with a message naming the filter, never a server error, and no export job is left running.
2. The demo's platform moderator logs in to /admin/, approves one pending product and rejects another with a
   reason, and the products' states change.
5. A refund form (or a product form) clicked twice, or sent with Enter twice, records one refund (product):
   the second send is answered "already sent" (409) with a link to where the first one went.
"""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from accounts.management.commands.load_demo import DEMO_MODERATOR, DEMO_PASSWORD
from catalog.models import SKU, Product
from orders.models import ExportJob, Order, Refund
from orders.tests.factories import order_in
from tests.fixtures import make_shop

pytestmark = pytest.mark.browser

ALREADY_SENT = "This form was already sent; it was not sent again."
REAL_DATE = "Use a real date, YYYY-MM-DD, or an ISO date-time."


class SlowNetwork:
    """Form POSTs reach the server at once, but their answers are held back until ``release``: the browser
    stays on the form, as on a slow connection, so a second click or Enter really sends the form again
    (Chromium folds two sends within one moment into one navigation; a hurried user on a slow network
    does not). ``answers`` are the server's statuses, in the order it gave them."""

    def __init__(self, page: Page):
        self.page = page
        self.held: list = []
        self.answers: list[int] = []
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)  # the server has now done whatever this send does
        self.answers.append(response.status)
        self.held.append((route, response))

    def wait_for_sends(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while len(self.held) < count:
            assert time.monotonic() < deadline, f"{len(self.held)} of {count} sends reached the server"
            self.page.wait_for_timeout(20)  # lets Playwright deliver the route events

    def release(self) -> None:
        for route, response in self.held:
            try:
                route.fulfill(response=response)
            except PlaywrightError:  # the browser had given up on the first send when the second left
                pass
        self.held.clear()


# ------------------------------------------------------------------------------ defect 1: impossible dates


def test_an_impossible_date_or_id_in_the_order_filters_is_refused_by_name_and_starts_no_export(
    page: Page, live_server, login
):
    shop = make_shop("Impossible dates")
    order = order_in(shop, Order.State.AWAITING_PACKAGING)
    login(page, shop.owner)
    orders_url = f"{live_server.url}/shops/{shop.pk}/orders/"
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status))

    # The address the issue reported (a bookmark, a link from elsewhere, an edited URL): the list opens
    # without the bad filter and says which filter was wrong and why.
    page.goto(orders_url + "?date_from=2026-02-30")
    expect(page.locator(".messages")).to_contain_text(f"From: {REAL_DATE}")
    expect(page).to_have_url(orders_url)
    expect(page.locator("#order-filters [name=date_from]")).to_have_value("")
    expect(page.locator(f'tr[data-order="{order.number}"]')).to_be_visible()

    # A number past any id (the warehouse filter's value, edited in the address).
    page.goto(orders_url + "?warehouse=99999999999999999999")
    expect(page.locator(".messages")).to_contain_text("Warehouse:")
    expect(page).to_have_url(orders_url)

    # The export page opened with the impossible date refuses it before anything starts...
    exports_url = f"{live_server.url}/shops/{shop.pk}/orders/exports/"
    page.goto(exports_url + "?date_from=2026-02-30&state=awaiting_packaging")
    expect(page.locator(".messages")).to_contain_text(f"From: {REAL_DATE}")
    expect(page).to_have_url(exports_url)
    # ...and an export form carrying it (a page opened with a good date, then edited) is refused on send.
    page.goto(exports_url + "?date_from=2026-02-01")
    page.locator("#export-form input[type=hidden][name=date_from]").evaluate("el => { el.value = '2026-02-30'; }")
    page.locator("#start-export").click()
    expect(page.locator("#export-form")).to_contain_text(f"From: {REAL_DATE}")
    expect(page.locator("#exports-table")).to_contain_text("No exports yet.")

    assert 500 not in statuses and 400 in statuses, statuses
    assert not ExportJob.objects.for_shop(shop).exists()
    assert not ExportJob.unscoped.filter(status__in=["pending", "running"]).exists()


def test_an_impossible_date_typed_into_the_live_filter_bar_is_named_at_once(page: Page, live_server, login):
    """Where the browser has no date picker (a plain text field, as older browsers present ``type=date``)
    a typed 2026-02-30 goes out with the filter bar's live (htmx) update: it must be named there and then,
    not ignored in silence with the message shown later on whatever page opens next."""
    shop = make_shop("Live filter")
    order = order_in(shop, Order.State.AWAITING_PACKAGING)
    login(page, shop.owner)
    page.goto(f"{live_server.url}/shops/{shop.pk}/orders/")
    field = page.locator("#order-filters [name=date_to]")
    field.evaluate("el => { el.type = 'text'; }")
    with page.expect_response(re.compile(r"/orders/")) as answer:
        field.fill("2026-02-30")
        field.dispatch_event("change")
    assert answer.value.status < 500
    expect(page.locator(f'tr[data-order="{order.number}"]')).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"To: {REAL_DATE}", timeout=3000)


# ------------------------------------------------------------------------------ defect 2: the moderator


def test_the_demo_moderator_approves_and_rejects_in_the_admin(page: Page, live_server, login):
    call_command("load_demo", stdout=io.StringIO())
    pending = list(Product.unscoped.filter(status="pending_review").order_by("id"))
    assert len(pending) >= 2
    approve, reject = pending[0], pending[1]

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(DEMO_MODERATOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.locator("#content")).not_to_contain_text("permission to view or edit anything")

    page.get_by_role("link", name="Products").first.click()
    page.goto(f"{live_server.url}/admin/catalog/product/?status__exact=pending_review")
    for product in pending:
        expect(page.locator(f'#result_list input[name=_selected_action][value="{product.pk}"]')).to_have_count(1)

    page.locator(f'#result_list input[name=_selected_action][value="{approve.pk}"]').check()
    page.locator("select[name=action]").select_option("approve")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("1 product(s) approved.")

    page.locator(f'#result_list input[name=_selected_action][value="{reject.pk}"]').check()
    page.locator("select[name=action]").select_option("reject")
    page.get_by_role("button", name="Go").click()
    reason = "The photos show another product."
    page.get_by_label("Reason shown to the seller").fill(reason)
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".messagelist")).to_contain_text("1 product(s) rejected.")
    # Both have left the pending list; the others are still there.
    for product in pending:
        box = page.locator(f'#result_list input[name=_selected_action][value="{product.pk}"]')
        expect(box).to_have_count(0 if product in (approve, reject) else 1)

    approve.refresh_from_db()
    reject.refresh_from_db()
    assert (approve.status, approve.reviewed_by.username) == ("approved", DEMO_MODERATOR)
    assert (reject.status, reject.rejection_reason, reject.reviewed_by.username) == (
        "rejected", reason, DEMO_MODERATOR)  # fmt: skip


# ------------------------------------------------------------------------------ defect 5: double submit


def _click(button) -> callable:
    """A real mouse click on ``button`` that does not wait for the page to change (the mouse, not the
    locator: a locator waits for the first send's navigation before it clicks again)."""
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    return lambda: button.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _sent_twice(network: SlowNetwork, send) -> None:
    """``send()`` (a click or Enter) twice, the second while the first is still on its way back."""
    send()
    network.wait_for_sends(1)
    send()
    network.wait_for_sends(2)
    network.release()


def _already_sent_links_to(page: Page, url_tail: str) -> None:
    """The browser shows the answer to the second send: "already sent", whose link is the first result."""
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text(ALREADY_SENT)
    refusal.get_by_role("link", name="Back").click()
    expect(page).to_have_url(re.compile(re.escape(url_tail) + "$"))


def test_a_refund_clicked_twice_or_entered_twice_is_recorded_once(page: Page, live_server, login):
    shop = make_shop("Double refund")
    first, second = (order_in(shop, Order.State.DELIVERED) for _ in range(2))
    login(page, shop.owner)
    network = SlowNetwork(page)

    for order, how in ((first, "click"), (second, "enter")):
        network.answers.clear()
        page.goto(f"{live_server.url}/shops/{shop.pk}/orders/{order.pk}/refund/")
        form = page.locator("#refund-form")
        form.get_by_label("Amount").fill("100.00")
        form.get_by_label("Reason").fill(f"Scratched box ({how})")
        if how == "click":
            _sent_twice(network, _click(form.get_by_role("button", name="Refund")))
        else:
            form.get_by_label("Reason").focus()
            _sent_twice(network, lambda: page.keyboard.press("Enter"))
        assert network.answers == [302, 409], (how, network.answers)
        _already_sent_links_to(page, f"/shops/{shop.pk}/orders/{order.pk}/")
        expect(page.locator(".card", has_text="Refunds")).to_contain_text("Scratched box")
        refunds = Refund.objects.for_shop(shop).filter(order=order)
        assert [r.amount for r in refunds] == [Decimal("100.00")], how


def test_a_product_form_clicked_twice_creates_one_product(page: Page, live_server, login):
    shop = make_shop("Double product")
    login(page, shop.owner)
    network = SlowNetwork(page)
    page.goto(f"{live_server.url}/shops/{shop.pk}/catalog/products/new/")
    page.locator("#product-form").get_by_label("Title").fill("Twice lamp")
    page.locator("[name=variants-0-code]").fill("TWICE-1")
    page.locator("[name=variants-0-price]").fill("990.00")
    _sent_twice(network, _click(page.locator("#save-product")))
    assert network.answers == [302, 409], network.answers
    product = Product.objects.for_shop(shop).get(title="Twice lamp")  # one, not two
    assert SKU.objects.for_shop(shop).filter(code="TWICE-1").count() == 1
    _already_sent_links_to(page, f"/catalog/products/{product.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Twice lamp")
