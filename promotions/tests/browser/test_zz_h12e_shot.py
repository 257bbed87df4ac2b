import pytest
from playwright.sync_api import Page
from orders.tests.factories import make_sku
from tests.fixtures import make_member, make_shop
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
def test_shot(page: Page, live_server, login, monkeypatch):
    from promotions.web import ads as ads_pages
    monkeypatch.setattr(ads_pages, "MAX_PRODUCT_CHOICES", 6)
    shop = make_shop("Shot")
    for i in range(9):
        make_sku(shop, title=f"Product number {i}", code=f"CODE-{i}", stock=0)
    op = make_member(shop, "operator")
    login(page, op.user)
    page.goto(f"{live_server.url}/shops/{shop.pk}/ad-campaigns/new/")
    page.locator("#field-products").screenshot(path="/tmp/h12e/picker.png")
