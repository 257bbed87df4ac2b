"""The base layout in a real browser: every shop page fits a phone's width (long codes and names wrap, wide
tables scroll inside themselves), the menu collapses behind a button there, and the keyboard and
screen-reader basics of base.html (skip link, the bell's unread count, selects that do not act on ArrowDown,
a title naming the page).

The pages are the probe table's (``tests/shop_routes.py``), so a page added to an app is checked here too.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts import selectors as account_selectors
from accounts import services as accounts
from accounts.services.notifications import Notice
from backoffice.authz import load_actor, system_actor
from orders import services as orders
from orders.models import Order
from orders.tests.factories import make_carrier, make_sku, order_in
from tests.shop_routes import PROBES, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PAGES = [p for p in PROBES if not p.api and p.method == "get"]

# Values from outside with no place to break: a title and a carrier/tracking number at their 80 characters
# (the carrier field's limit), a SKU code at its 64.
LONG_TITLE = "Unbreakable" + "X" * 69
LONG_CODE = "SKU-" + "9" * 60
LONG_CARRIER = "Carrier" + "C" * 73
LONG_TRACKING = "TRK" + "7" * 77
LONG_BUYER = "Buyer" + "B" * 75

# The widest elements past the window's right edge, to say which one widened the page.
OVERFLOWING = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && el.offsetParent !== null)
      out.push(`${el.tagName.toLowerCase()}${el.getAttribute("id") ? "#" + el.getAttribute("id") : ""}${el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\\s+/g, ".") : ""} right=${Math.round(r.right)}`);
  }
  return out.slice(-5);
}"""


def page_width(page: Page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.fixture
def shop_world() -> tuple[World, dict]:
    """The probe world (every page has something to show), plus a product and an order carrying the long
    values, and a few unread notifications for the owner."""
    world = World.build("Layout world")
    shop = world.shop
    sku, _wh = make_sku(shop, code=LONG_CODE, title=LONG_TITLE, stock=20)
    buyer = {"name": LONG_BUYER, "phone": "+7 900 000-00-00", "address": "Street" + "S" * 120}
    order = order_in(shop, Order.State.AWAITING_PACKAGING, sku=sku, buyer=buyer)
    owner = load_actor(shop.owner, shop)
    # The probe world keeps a carrier list, so a pack names one of its carriers
    make_carrier(shop, LONG_CARRIER, code="long-carrier", tracking_url="https://carrier.example/track/{tracking}")
    order = orders.order_pack(actor=owner, order=order, carrier=LONG_CARRIER, tracking_number=LONG_TRACKING)
    notices = [Notice(recipient=shop.owner, kind="member_expiring", title=f"Layout notice {i}") for i in range(2)]
    accounts.notifications_send(actor=system_actor(shop), notices=notices, email=False)
    return world, {"sku": sku, "order": order}


def test_every_shop_page_fits_a_phone_and_names_itself(page: Page, live_server, login, shop_world):
    world, _long = shop_world
    page.set_viewport_size(PHONE)
    login(page, world.shop.owner)
    too_wide, unnamed, seen = [], [], 0
    for probe in PAGES:
        url = live_server.url + probe.url(world)
        head = page.request.get(url)
        assert head.status == 200, (probe.id, head.status)
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue  # a download (export file, error report): no page to lay out
        page.goto(url)
        seen += 1
        scroll, inner = page_width(page)
        if scroll > inner:
            too_wide.append((probe.id, scroll, page.evaluate(OVERFLOWING)))
        heading = page.locator("main h1, body > h1").first
        if heading.count():
            name = " ".join(heading.inner_text().split())
            if name.lower() not in page.title().lower():
                unnamed.append((probe.id, page.title(), name))
    assert seen >= 35, seen  # the sweep did look at the pages (downloads aside)
    assert not too_wide, f"pages wider than a {PHONE['width']} px phone: {too_wide}"
    assert not unnamed, f"titles that do not name the page's heading: {unnamed}"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_long_codes_and_names_wrap_inside_the_window(page: Page, live_server, login, shop_world, viewport, screenshot):
    world, long = shop_world
    shop = world.shop
    page.set_viewport_size(viewport)
    login(page, shop.owner)

    def url(name: str, query: str = "", **kwargs) -> str:
        return live_server.url + reverse(name, kwargs={"shop": shop.pk, **kwargs}) + query

    pages = {
        "product-list": (url("catalog:product_list", f"?search={LONG_CODE}"), [LONG_TITLE]),
        "product": (url("catalog:product_detail", pk=long["sku"].product_id), [LONG_CODE, LONG_TITLE]),
        "stock": (url("catalog:stock", f"?search={LONG_CODE}"), [LONG_CODE, LONG_TITLE]),
        "order": (url("orders:order_detail", pk=long["order"].pk), [LONG_CARRIER, LONG_TRACKING, LONG_BUYER]),
        "order-list": (url("orders:order_list", "?state=awaiting_deliver"), [LONG_BUYER]),
    }
    for name, (address, values) in pages.items():
        page.goto(address)
        for value in values:  # the long values are on the page
            expect(page.locator("main")).to_contain_text(value)
        scroll, inner = page_width(page)
        assert scroll <= inner, (name, viewport, scroll, page.evaluate(OVERFLOWING))
        screenshot(page, f"layout-{name}-{viewport['width']}")


def test_the_menu_collapses_behind_a_button_on_a_phone(page: Page, live_server, login, shop_world):
    world, _long = shop_world
    page.set_viewport_size(PHONE)
    login(page, world.shop.owner)
    nav, toggle = page.locator("#nav"), page.locator("#nav-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", "nav")
    expect(nav).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    nav.locator("[data-nav=staff]").click()  # the opened menu works
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(nav).to_be_hidden()  # a new page starts with the menu closed

    # Keyboard: Enter and Space on the button, Escape from inside the menu gives the focus back.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the button is last in the top bar: the next stop is the menu's first link
    expect(nav.locator("a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # A desktop window shows the menu with no button, whatever the button's last state.
    page.set_viewport_size(DESKTOP)
    expect(nav).to_be_visible()
    expect(toggle).to_be_hidden()
    box = nav.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] < 300  # beside the page, not above it


def test_keyboard_and_screen_reader_basics(page: Page, live_server, login, shop_world):
    world, _long = shop_world
    shop = world.shop
    owner = load_actor(shop.owner, shop)
    other = accounts.shop_open(user=shop.owner, shop_name="Zulu layout shop")  # the switcher has a choice
    login(page, shop.owner)
    dashboard = f"{live_server.url}/shops/{shop.pk}/"
    expect(page).to_have_url(dashboard)

    # The skip link is the first stop of the Tab key, shows itself, and lands in <main>.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")

    # The bell says how many are unread, not only "Notifications".
    unread = account_selectors.notification_unread_count(shop=shop, actor=owner)
    assert unread >= 2
    bell = page.get_by_role("link", name=f"Notifications, {unread} unread")
    expect(bell).to_have_attribute("href", f"/shops/{shop.pk}/notifications/")
    expect(page.locator("#unread-count")).to_have_text(str(unread))

    # Every navigation landmark has a name.
    for landmark in page.locator("nav").all():
        assert (landmark.get_attribute("aria-label") or "").strip(), landmark.evaluate("n => n.outerHTML.slice(0, 80)")

    # ArrowDown steps through a select without leaving the page; Enter (or the button) acts.
    page.evaluate("window.__stayed = true")
    language = page.locator("#language-form select")
    language.focus()
    page.keyboard.press("ArrowDown")
    chosen = language.input_value()
    assert chosen != "en"  # the key did change the value
    page.wait_for_timeout(400)
    assert page.evaluate("window.__stayed === true"), "ArrowDown in the language select reloaded the page"
    switcher = page.locator("#shop-switcher")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    expect(switcher).to_have_value(str(other.pk))
    page.wait_for_timeout(400)
    assert page.evaluate("window.__stayed === true"), "ArrowDown in the shop switcher left the page"
    expect(page).to_have_url(dashboard + "#content")  # still here (the skip link added the fragment)

    page.locator("#shop-switcher-form").get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{live_server.url}/shops/{other.pk}/")
    language = page.locator("#language-form select")
    language.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", chosen)
