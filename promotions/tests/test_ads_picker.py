"""The ad campaign form's product picker (any catalog size: the chosen products always offered, a search by title
or SKU code, at most ``MAX_PRODUCT_CHOICES`` matches and a line saying so, a "Find products" button that keeps what
was typed, saves nothing and leaves the one-time token for the save), and the dashboard's ad campaign cards."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts
from catalog.tests.factories import make_product
from promotions import ads_selectors as sel
from promotions.models import AdCampaign
from promotions.services import ads as services
from promotions.tests.test_ads import make_campaign, push
from promotions.web import ads as ads_pages
from tests.fixtures import api_client_for, count_queries, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="once_token" value="([^"]+)"')


def page(shop, path: str = "") -> str:
    return f"/shops/{shop.pk}/ad-campaigns/{path}"


def offered(html: str) -> dict[str, bool]:
    """{product id: ticked} of the picker's boxes, in page order."""
    boxes = re.findall(r'<input type="checkbox" name="products" value="(\d+)"([^>]*)>', html)
    return {pk: "checked" in attrs for pk, attrs in boxes}


@pytest.fixture
def catalog(shop):
    """Five products by title (Apple < Banana < Cherry < Damson < Elder); Elder's SKU code is ZEBRA-1."""
    actor = owner_actor(shop)
    products = {t: make_product(actor, title=t) for t in ("Cherry", "Apple", "Elder", "Banana", "Damson")}
    from catalog.models import SKU

    SKU.objects.for_shop(shop).filter(product=products["Elder"]).update(code="ZEBRA-1")
    return products


@pytest.fixture
def few_choices(monkeypatch):
    monkeypatch.setattr(ads_pages, "MAX_PRODUCT_CHOICES", 2)


def form_data(**extra) -> dict:
    return {"name": "Typed name", "placement": "banner", "daily_budget": "80.00", "bid": "4.00",
            "starts_at": "2026-03-01T09:00", "ends_at": "", **extra}  # fmt: skip


def test_the_picker_offers_the_first_matches_says_so_and_a_search_narrows(shop, catalog, few_choices):
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(page(shop, "new/")).content.decode()
    assert list(offered(html)) == [str(catalog["Apple"].pk), str(catalog["Banana"].pk)]
    assert "Showing 2 of 5 products — search to narrow." in html
    found = web.post(page(shop, "new/"), form_data(product_search="cher", find_products="1"))
    assert found.status_code == 200
    assert list(offered(found.content.decode())) == [str(catalog["Cherry"].pk)]
    assert 'id="products-capped"' not in found.content.decode()
    by_code = web.post(page(shop, "new/"), form_data(product_search="zebra", find_products="1")).content.decode()
    assert list(offered(by_code)) == [str(catalog["Elder"].pk)]  # a SKU code finds its product
    none = web.post(page(shop, "new/"), form_data(product_search="kiwi", find_products="1")).content.decode()
    assert offered(none) == {} and 'id="no-matches"' in none
    assert AdCampaign.objects.for_shop(shop).count() == 0


def test_the_form_costs_the_same_queries_for_a_larger_catalog(shop, catalog, few_choices):
    web = web_client_for(shop.owner, reauth=False)
    few, _r = count_queries(web, page(shop, "new/"))
    for n in range(6):
        make_product(owner_actor(shop), title=f"More {n}", skus=3)
    many, r = count_queries(web, page(shop, "new/"))
    assert few == many and "Showing 2 of 11 products" in r.content.decode()


def test_an_edit_keeps_chosen_products_beyond_the_first_choices(shop, catalog, few_choices):
    actor = owner_actor(shop)
    chosen = [catalog["Damson"].pk, catalog["Elder"].pk]  # after Apple and Banana: not among the first two
    campaign = services.ad_campaign_create(actor=actor, data={**form_data(), "products": chosen})
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(page(shop, f"{campaign.pk}/edit/")).content.decode()
    boxes = offered(html)
    assert boxes[str(catalog["Damson"].pk)] and boxes[str(catalog["Elder"].pk)]  # offered, and ticked
    assert not boxes[str(catalog["Apple"].pk)]
    # A find on the edit page saves nothing either.
    found = web.post(page(shop, f"{campaign.pk}/edit/"),
                     form_data(name="Not saved", products=[str(pk) for pk in chosen], product_search="apple",
                               find_products="1"))  # fmt: skip
    assert found.status_code == 200 and AdCampaign.objects.for_shop(shop).get(pk=campaign.pk).name == "Typed name"
    assert offered(found.content.decode()) == {str(chosen[0]): True, str(chosen[1]): True,
                                               str(catalog["Apple"].pk): False}  # fmt: skip
    # Saving the page as it came keeps both products (before, they were not choices: a 400 the member could not fix).
    saved = web.post(
        page(shop, f"{campaign.pk}/edit/"),
        form_data(name="Renamed", products=[str(pk) for pk in chosen] + [str(catalog["Apple"].pk)]),
    )
    assert saved.status_code == 302
    campaign = AdCampaign.objects.for_shop(shop).get(pk=campaign.pk)
    assert campaign.name == "Renamed"
    assert sorted(campaign.products.values_list("pk", flat=True)) == sorted([*chosen, catalog["Apple"].pk])


def test_a_category_limited_member_keeps_the_campaigns_products_and_finds_only_their_own(shop):
    from catalog import services as catalog_services

    owner = owner_actor(shop)
    phones = catalog_services.category_create(actor=owner, name="Phones")
    cases = catalog_services.category_create(actor=owner, name="Cases")
    phone = make_product(owner, title="Phone X", category=phones)
    case = make_product(owner, title="Case X", category=cases)
    other_case = make_product(owner, title="Case Y", category=cases)
    campaign = services.ad_campaign_create(actor=owner, data={**form_data(), "products": [phone.pk, case.pk]})
    member = make_member(shop, "operator", scopes={"category": [phones.pk]})
    web = web_client_for(member.user, reauth=False)
    edit = page(shop, f"{campaign.pk}/edit/")
    # The campaign's case stays offered and ticked (its page shows it anyway); the other case is not offered.
    assert offered(web.get(edit).content.decode()) == {str(phone.pk): True, str(case.pk): True}
    found = web.post(edit, form_data(products=[str(phone.pk), str(case.pk)], product_search="case", find_products="1"))
    assert offered(found.content.decode()) == {str(phone.pk): True, str(case.pk): True}
    # Outside their catalog scope a product cannot be added; saving what they see keeps both.
    added = web.post(edit, form_data(products=[str(phone.pk), str(case.pk), str(other_case.pk)]))
    assert added.status_code == 400 and b'id="id_products_error"' in added.content
    assert web.post(edit, form_data(name="Kept", products=[str(phone.pk), str(case.pk)])).status_code == 302
    campaign = AdCampaign.objects.for_shop(shop).get(pk=campaign.pk)
    assert campaign.name == "Kept" and sorted(campaign.products.values_list("pk", flat=True)) == [phone.pk, case.pk]


def test_find_keeps_what_was_typed_saves_nothing_and_leaves_the_token_for_the_save(shop, catalog, few_choices):
    web = web_client_for(shop.owner, reauth=False)
    token = TOKEN.search(web.get(page(shop, "new/")).content.decode()).group(1)
    elder = str(catalog["Elder"].pk)
    data = form_data(products=[elder], once_token=token)
    found = web.post(page(shop, "new/"), {**data, "product_search": "cherry", "find_products": "1"})
    html = found.content.decode()
    assert found.status_code == 200 and AdCampaign.objects.for_shop(shop).count() == 0
    assert 'value="Typed name"' in html and 'value="80.00"' in html and 'value="2026-03-01T09:00"' in html
    assert re.search(r'<option value="banner"[^>]*selected', html)
    assert 'value="cherry"' in html  # the search itself
    assert offered(html) == {elder: True, str(catalog["Cherry"].pk): False}  # the ticked one stays ticked
    assert 'class="errorlist"' not in html  # a find is not a save: nothing is "required" yet
    fresh = TOKEN.search(html).group(1)
    assert fresh != token
    # The find did not use up the token: the save with it creates the campaign, once.
    saved = web.post(page(shop, "new/"), {**data, "products": [elder, str(catalog["Cherry"].pk)]})
    assert saved.status_code == 302
    campaign = AdCampaign.objects.for_shop(shop).get()
    assert sorted(campaign.products.values_list("pk", flat=True)) == sorted([catalog["Elder"].pk,
                                                                             catalog["Cherry"].pk])  # fmt: skip
    assert web.post(page(shop, "new/"), data).status_code == 409
    # A find needs no token (it does nothing); a save without one is refused.
    assert web.post(page(shop, "new/"), {**form_data(), "once_token": "", "find_products": "1"}).status_code == 200
    assert web.post(page(shop, "new/"), {**form_data(), "once_token": ""}).status_code == 400
    assert AdCampaign.objects.for_shop(shop).count() == 1


def test_bad_product_values_are_a_form_error_not_a_500(shop, catalog):
    web = web_client_for(shop.owner, reauth=False)
    for products in (["abc"], ["0"], ["99999999999999999999"], [str(n) for n in range(1, 600)]):
        r = web.post(page(shop, "new/"), form_data(products=products))
        assert r.status_code == 400 and b'id="id_products_error"' in r.content
    # More fields than Django reads in one request: its own 400, still not a 500.
    assert web.post(page(shop, "new/"), form_data(products=[str(n) for n in range(1, 1500)])).status_code == 400
    assert AdCampaign.objects.for_shop(shop).count() == 0


def test_the_api_names_products_when_a_campaign_gets_too_many(shop, monkeypatch):
    monkeypatch.setattr(services, "MAX_PRODUCTS", 2)
    actor = owner_actor(shop)
    ids = [make_product(actor).pk for _ in range(3)]
    client = api_client_for(shop.owner)
    body = {**form_data(), "starts_at": "2026-03-01T09:00:00Z", "products": ids}
    r = client.post(f"/api/v1/shops/{shop.pk}/ad-campaigns/", body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["fields"] == {"products": ["A campaign has at most 2 products."]}
    assert AdCampaign.objects.for_shop(shop).count() == 0


# --------------------------------------------------------------------------------------------- dashboard


def dashboard_cards(web, shop) -> dict[str, tuple[str, str, str]]:
    html = web.get(f"/shops/{shop.pk}/").content.decode()
    found = re.findall(r'<a class="card stat( attention)?" data-card="(ads_[a-z_]+)" href="([^"]*)">'
                       r'<div class="label">[^<]*</div><div class="value">([^<]*)</div>', html)  # fmt: skip
    return {key: (value, url.replace("&amp;", "&"), tone.strip()) for tone, key, url, value in found}


def test_dashboard_ad_cards_count_link_and_follow_the_permission(shop):
    running = make_campaign(shop, name="Running", daily_budget="100.00")
    push(shop, running, spend="40.00")
    resting = make_campaign(shop, name="Resting", daily_budget="50.00")
    push(shop, resting, spend="50.00")  # the daily budget is spent: it rests for the day
    quiet = make_campaign(shop, name="Quiet")  # running, spent only yesterday
    push(shop, quiet, day=(sel.shop_today(shop) - timedelta(days=1)).isoformat(), spend="30.00")
    make_campaign(shop, name="Draft", activate=False)
    make_campaign(
        shop,
        name="Over",
        ends_at=(sel.shop_today(shop) - timedelta(days=1)).isoformat() + "T00:00:00Z",
        starts_at=(sel.shop_today(shop) - timedelta(days=5)).isoformat(),
    )  # active, past its end
    assert AdCampaign.objects.for_shop(shop).get(name="Resting").paused_for_day == sel.shop_today(shop)

    viewer = web_client_for(make_member(shop, "viewer").user, reauth=False)
    cards = dashboard_cards(viewer, shop)
    base = page(shop)
    assert cards == {
        "ads_running": ("2", f"{base}?status=active", ""),
        "ads_resting": ("1", f"{base}?status=resting", "attention"),
        "ads_spend_today": (f"90.00 {shop.currency}", f"{base}?spent_today=yes", ""),
    }
    # Each card's link shows the rows it counted.
    names = lambda url: set(re.findall(r"<strong>([^<]+)</strong>", viewer.get(url).content.decode()))  # noqa: E731
    assert names(cards["ads_running"][1]) == {"Running", "Quiet"}
    assert names(cards["ads_resting"][1]) == {"Resting"}
    assert names(cards["ads_spend_today"][1]) == {"Running", "Resting"}
    assert names(f"{base}?status=ended") == {"Over"}
    assert names(f"{base}?spent_today=no") == {"Quiet", "Draft", "Over"}
    # A bad value: the page goes back to the list naming the filter, the API answers 400 naming it.
    bad = viewer.get(base, {"status": "bogus"}, follow=True)
    assert bad.redirect_chain[0][1] == 302 and b"status: Unknown status." in bad.content
    api = api_client_for(shop.owner)
    for key in ("status", "spent_today"):
        r = api.get(f"/api/v1/shops/{shop.pk}/ad-campaigns/", {key: "bogus"})
        assert r.status_code == 400 and key in r.json()["error"]["fields"]

    # One query for the three figures.
    actor = owner_actor(shop)
    sel.dashboard_figures(shop=shop, actor=actor)
    with CaptureQueriesContext(connection) as ctx:
        figures = sel.dashboard_figures(shop=shop, actor=actor)
    assert len(ctx.captured_queries) == 1
    assert figures == {"running": 2, "resting": 1, "spend_today": Decimal("90.00")}

    # Who sees the cards: promotions.view opens the list they link to; managing ads alone does not.
    for permissions, shown in ((["catalog.view"], False), (["promotions.manage_ads"], False),
                               (["promotions.view"], True)):  # fmt: skip
        role = accounts.role_create(actor=actor, name=f"Role {permissions[0]}", permissions=permissions)
        member = web_client_for(make_member(shop, role.key).user, reauth=False)
        assert bool(dashboard_cards(member, shop)) is shown
        assert (member.get(base).status_code == 200) is shown
