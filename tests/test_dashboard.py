"""The shop dashboard: each domain app's cards (backoffice.dashboard), shown only to members who may see
that domain, with numbers that link to the matching filtered list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from catalog import services as catalog
from catalog.tests.factories import make_product
from orders.models import Order, Return
from orders.tests.factories import intake, make_sku, order_in, return_in
from tests.fixtures import count_queries, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
S = Order.State


def cards(html: str) -> dict[str, tuple[str, str]]:
    """data-card key -> (value, href)."""
    found = re.findall(
        r'<a class="card stat[^"]*" data-card="([a-z_]+)" href="([^"]*)">.*?<div class="value">([^<]*)</div>', html
    )
    return {key: (value, href) for key, href, value in found}


def test_cards_count_what_waits(shop):
    sku, _wh = make_sku(shop, stock=30)
    late = intake(shop, sku)
    intake(shop, sku)
    order_in(shop, S.AWAITING_DELIVER, sku=sku)
    Order.objects.for_shop(shop).filter(pk=late.pk).update(ship_by=timezone.now() - timedelta(hours=1))
    return_in(shop, Return.State.REQUESTED)
    owner = owner_actor(shop)
    product = make_product(owner)
    catalog.product_submit(actor=owner, product=product)
    html = web_client_for(shop.owner, reauth=False).get(f"/shops/{shop.pk}/").content.decode()
    got = cards(html)
    assert got["awaiting_packaging"][0] == "2"
    assert got["awaiting_deliver"][0] == "1"
    assert got["awaiting_confirmation"][0] == "0"
    assert got["overdue"] == ("1", f"/shops/{shop.pk}/orders/?overdue=1")
    assert got["returns_requested"][0] == "1"
    assert got["pending_review"] == ("1", f"/shops/{shop.pk}/catalog/products/?status=pending_review")
    assert 'class="card stat attention" data-card="overdue"' in html
    assert 'class="card stat" data-card="awaiting_confirmation"' in html  # zero: nothing to flag


def test_cards_follow_the_members_permissions(shop):
    catalog_only = accounts.role_create(actor=owner_actor(shop), name="Catalogue", permissions=["catalog.view"])
    member = make_member(shop, catalog_only.key)
    got = cards(web_client_for(member.user, reauth=False).get(f"/shops/{shop.pk}/").content.decode())
    assert "low_stock" in got and "overdue" not in got and "awaiting_packaging" not in got
    nothing = accounts.role_create(actor=owner_actor(shop), name="Nothing", permissions=[])
    html = web_client_for(make_member(shop, nothing.key).user, reauth=False).get(f"/shops/{shop.pk}/").content.decode()
    assert cards(html) == {} and 'id="domain-cards"' not in html


def test_card_numbers_lead_to_the_same_rows(shop):
    sku, _wh = make_sku(shop, stock=30)
    for _ in range(3):
        intake(shop, sku)
    web = web_client_for(shop.owner, reauth=False)
    value, href = cards(web.get(f"/shops/{shop.pk}/").content.decode())["awaiting_packaging"]
    assert web.get(href).content.decode().count("data-order=") == int(value) == 3


def test_dashboard_cost_does_not_grow_with_orders(shop):
    sku, _wh = make_sku(shop, stock=50)
    web = web_client_for(shop.owner, reauth=False)
    few, _r = count_queries(web, f"/shops/{shop.pk}/")
    for _ in range(10):
        intake(shop, sku)
    many, _r = count_queries(web, f"/shops/{shop.pk}/")
    assert few == many
