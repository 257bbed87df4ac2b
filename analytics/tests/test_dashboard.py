"""The dashboard's sales panel and its API: today, 7 and 30 days with the change against the period before, read
from the rollups (the query count does not grow with orders), only for members who may see sales, with the
figures of their scope; the other apps' cards stay."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from analytics.tests.conftest import cancel, place
from tests.fixtures import api_client_for, count_queries, make_member, web_client_for

pytestmark = pytest.mark.django_db
D = Decimal
NOW = datetime(2026, 10, 27, 11, 0, tzinfo=UTC)  # noon in Berlin, two days after the change of time


@pytest.fixture
def traveled():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def dashboard_world(traveled, sales_world):
    w = sales_world
    a1, a2, b1 = w.skus
    place(w, [(a1, 1)], NOW - timedelta(hours=1))  # today: 90.00
    place(w, [(b1, 2)], NOW - timedelta(hours=2))  # today: 108.00
    place(w, [(a1, 1)], NOW - timedelta(days=1))  # yesterday: 90.00
    place(w, [(a2, 2)], NOW - timedelta(days=3))  # within 7 days: 63.90
    place(w, [(b1, 1)], NOW - timedelta(days=10))  # the 7 days before: 54.00
    cancel(w, place(w, [(a1, 5)], NOW - timedelta(minutes=5)), NOW)  # cancelled: not counted
    return w


def api_url(shop) -> str:
    return reverse("api:analytics_api:dashboard", kwargs={"shop": shop.pk})


def page_url(shop) -> str:
    return reverse("accounts:dashboard", args=[shop.pk])


def test_api_figures_and_changes(dashboard_world):
    w = dashboard_world
    body = api_client_for(w.shop.owner).get(api_url(w.shop)).json()
    assert body["revenue"]["today"] == {"value": "198.00", "previous": "90.00", "change": "120.0"}
    assert body["orders"]["today"] == {"value": 2, "previous": 1, "change": "100.0"}
    assert body["revenue"]["7d"]["value"] == "351.90" and body["revenue"]["7d"]["previous"] == "54.00"
    assert body["units"]["30d"]["value"] == 7
    assert body["average_order_value"]["today"]["value"] == "99.00"
    assert body["orders"]["30d"] == {"value": 5, "previous": 0, "change": None}
    assert len(body["series"]) == 30 and body["series"][-1] == {"day": "2026-10-27", "revenue": "198.00",
                                                                "orders": 2, "units": 3}  # fmt: skip


def test_a_shop_without_sales_shows_zeros_not_gaps(traveled, sales_world):
    body = api_client_for(sales_world.shop.owner).get(api_url(sales_world.shop)).json()
    assert body["orders"]["today"] == {"value": 0, "previous": 0, "change": None}
    assert body["average_order_value"]["today"] == {"value": None, "previous": None, "change": None}
    assert body["revenue"]["30d"]["value"] == "0.00"
    assert body["series"][0]["orders"] == 0


def test_scoped_member_sees_their_categories_and_no_order_counts(dashboard_world):
    w = dashboard_world
    beta = make_member(w.shop, "viewer", scopes={"category": [w.cat_b.pk]})
    body = api_client_for(beta.user).get(api_url(w.shop)).json()
    assert body["revenue"]["today"]["value"] == "108.00"
    assert "orders" not in body and "average_order_value" not in body
    page = web_client_for(beta.user).get(page_url(w.shop)).content.decode()
    assert 'id="dashboard-sales"' in page
    today = re.search(r'<tr data-period="today">.*?</tr>', page, re.S).group(0)
    assert "108.00" in today and "90.00" not in today


def test_page_shows_the_panel_above_the_cards(dashboard_world):
    w = dashboard_world
    page = web_client_for(w.shop.owner).get(page_url(w.shop)).content.decode()
    assert page.index('id="dashboard-sales"') < page.index('id="domain-cards"')  # the orders cards stay
    today = re.search(r'<tr data-period="today">.*?</tr>', page, re.S).group(0)
    assert "198.00" in today and 'data-change="120.0"' in today
    assert 'id="dashboard-sales-chart"' in page and "chart.umd.min.js" in page


def test_hidden_from_members_who_may_not_see_sales(dashboard_world):
    w = dashboard_world
    support = make_member(w.shop, "support")  # orders.view, no analytics.view
    assert api_client_for(support.user).get(api_url(w.shop)).status_code == 403
    page = web_client_for(support.user).get(page_url(w.shop)).content.decode()
    assert 'id="dashboard-sales"' not in page and 'id="domain-cards"' in page


def test_query_count_does_not_grow_with_orders(dashboard_world):
    w = dashboard_world
    web, api = web_client_for(w.shop.owner), api_client_for(w.shop.owner)
    page_before, _r = count_queries(web, page_url(w.shop))
    api_before, _r = count_queries(api, api_url(w.shop))
    for n in range(6):
        place(w, [(w.skus[n % 3], 1 + n)], NOW - timedelta(days=n * 4, hours=1))
    page_after, _r = count_queries(web, page_url(w.shop))
    api_after, response = count_queries(api, api_url(w.shop))
    assert (page_after, api_after) == (page_before, api_before)
    assert response.json()["orders"]["30d"]["value"] == 5 + 6
