"""The payouts pages a seller reads — the balance (figures, what matures when, the next settlement, the chart)
and the ledger (filters, cursor pages) — the dashboard cards and the sidebar: for a known history built through
the real services at past moments (time-machine), and hidden from every role without ``payouts.view``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from backoffice.authz import system_actor
from backoffice.tenancy.zones import shop_zone
from orders.tests.factories import make_sku
from payouts import services
from payouts.models import Account, Kind, LedgerEntry
from payouts.services.withdrawals import withdrawal_request
from payouts.tests.factories import campaign, delivered, push_spend, refund, settle
from tests.fixtures import count_queries, make_member, make_shop, owner_actor, web_client_for

D = Decimal
NOW = timezone.now()


def _at(days_ago: int):
    """A moment ``days_ago`` days before the test started, at the same time of day (the clock does not tick)."""
    return time_machine.travel(NOW - timedelta(days=days_ago), tick=False)


def _day(shop, days_ago: int = 0, later: int = 0):
    """The shop's calendar day of the moment ``days_ago`` days back (``later`` days after it)."""
    return timezone.localdate(NOW - timedelta(days=days_ago) + timedelta(days=later), shop_zone(shop))


@pytest.fixture
def history(shop):
    """Sales on four days, a settlement, a refund of a settled order and an ad charge (5 % commission):

    day −20  order A 1000.00 delivered      pending +950.00
    day −5   settlement (A matured at −6)   pending −950.00, available +950.00
    day −3   order B 500.00 delivered       pending +475.00 (matures at −3 + 14)
    day −2   refund 100.00 of A             available −95.00 (5.00 commission given back)
    day −1   ad spend 30.00                 available −30.00
    today    order C 200.00 delivered       pending +190.00 (matures at today + 14)
    """
    assert shop.return_window_days == 14
    o = {}
    with _at(20):
        o["a"] = delivered(shop, "1000.00")
    with _at(5):
        assert settle(shop) == 1
    with _at(3):
        o["b"] = delivered(shop, "500.00")
    with _at(2):
        refund(shop, o["a"], "100.00")
    with _at(1):
        sku, _wh = make_sku(shop, stock=5, price="10.00")
        o["campaign"] = campaign(shop, sku.product)
        push_spend(shop, o["campaign"], _day(shop, 1), "30.00")
        assert services.ad_spend_sync(actor=system_actor(shop)) == 1
    o["c"] = delivered(shop, "200.00")
    return o


@pytest.fixture
def owner(shop):
    return web_client_for(shop.owner)


def _balance_url(shop, **query):
    return reverse("payouts:balance", args=[shop.pk]) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def _ledger_url(shop):
    return reverse("payouts:ledger", args=[shop.pk])


def _figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"><div class="value">([^<]*)</div>', html)
    return match.group(1) if match else ""


def _chart(html: str) -> dict:
    data = re.search(r'<script id="balance-chart-data" type="application/json">(.*?)</script>', html, re.S)
    spec = json.loads(data.group(1))
    return {"labels": spec["labels"], **{s["label"]: [D(v) for v in s["values"]] for s in spec["series"]}}


def _entry_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-entry="(\d+)"', html)]


# -- the balance page ------------------------------------------------------------------------------------------
def test_balance_page_shows_the_figures_what_matures_when_and_the_next_settlement(shop, history, owner):
    html = owner.get(_balance_url(shop)).content.decode()
    assert _figure(html, "available") == "825.00 RUB"  # 950 − 95 − 30
    assert _figure(html, "pending") == "665.00 RUB"  # B 475 + C 190
    assert _figure(html, "in_transit") == "0.00 RUB"
    assert 'data-figure="debt"' not in html  # no debt, no debt card
    b_day, c_day = _day(shop, 3, later=14), _day(shop, 0, later=14)
    rows = re.findall(r'<tr data-day="([\d-]+)"><td>[\d-]+</td><td>(\d+)</td><td>([\d.]+) RUB</td></tr>', html)
    assert rows == [(b_day.isoformat(), "1", "475.00"), (c_day.isoformat(), "1", "190.00")]
    settlement = re.search(r'id="next-settlement">.*?<p>(.*?)</p>', html, re.S).group(1)
    assert settlement == f"{b_day.isoformat()}: 475.00 RUB from 1 order"
    for route in ("payouts:withdrawal_list", "payouts:statements"):  # the pages beside, in the header and the nav
        assert html.count(f'href="{reverse(route, args=[shop.pk])}"') == 2, route
    assert html.count(f'href="{_ledger_url(shop)}"') == 2


def test_balance_chart_gives_each_days_closing_balance(shop, history, owner):
    chart = _chart(owner.get(_balance_url(shop)).content.decode())
    days = [_day(shop, n).isoformat() for n in range(29, -1, -1)]
    assert chart["labels"] == days
    available = dict(zip(days, chart["Available"], strict=True))
    pending = dict(zip(days, chart["Pending"], strict=True))
    day = lambda n: _day(shop, n).isoformat()  # noqa: E731
    assert [available[day(n)] for n in (29, 6, 5, 3, 2, 1, 0)] == [D("0"), D("0"), D("950"), D("950"), D("855"),
                                                                    D("825"), D("825")]  # fmt: skip
    assert [pending[day(n)] for n in (29, 21, 20, 6, 5, 3, 0)] == [D("0"), D("0"), D("950"), D("950"), D("0"),
                                                                  D("475"), D("665")]  # fmt: skip
    # 90 days: the same closing balances where the windows overlap, and the sale of day −20 opens at 0 before it.
    chart90 = _chart(owner.get(_balance_url(shop, days=90)).content.decode())
    assert len(chart90["labels"]) == 90 and chart90["labels"][-30:] == days
    assert chart90["Available"][-30:] == chart["Available"] and chart90["Pending"][-30:] == chart["Pending"]
    assert chart90["Pending"][0] == 0


def test_balance_chart_counts_only_the_window_and_opens_at_the_balance_before_it(shop, owner):
    """Money booked before the window shows as the opening balance; the chart ends at today's balance rows."""
    with _at(40):
        delivered(shop, "100.00")  # pending +95.00, 40 days ago: before a 30-day window
    with _at(10):
        delivered(shop, "200.00")  # pending +190.00
    chart = _chart(owner.get(_balance_url(shop)).content.decode())
    assert chart["Pending"][0] == D("95.00")
    assert chart["Pending"][-1] == D("285.00") == D(_figure(owner.get(_balance_url(shop)).content.decode(),
                                                           "pending").split()[0])  # fmt: skip


def test_a_withdrawal_shows_in_transit_and_its_ledger_rows_link_to_it(shop, history, owner):
    w = withdrawal_request(actor=owner_actor(shop), amount="300.00")
    html = owner.get(_balance_url(shop)).content.decode()
    assert (_figure(html, "available"), _figure(html, "in_transit")) == ("525.00 RUB", "300.00 RUB")
    assert _chart(html)["Available"][-1] == D("525.00")
    html = owner.get(_ledger_url(shop), {"kind": "withdrawal"}).content.decode()
    link = f'href="{reverse("payouts:withdrawal_detail", args=[shop.pk, w.pk])}" data-withdrawal="{w.pk}"'
    assert _kinds_accounts(html) == {("withdrawal", "available"), ("withdrawal", "in_transit")}
    assert html.count(link) == 2


def test_debt_is_shown_when_there_is_one(shop, owner):
    with _at(1):
        sku, _wh = make_sku(shop, stock=5, price="10.00")
        c = campaign(shop, sku.product)
        push_spend(shop, c, _day(shop, 1), "40.00")
        services.ad_spend_sync(actor=system_actor(shop))
    html = owner.get(_balance_url(shop)).content.decode()
    assert _figure(html, "debt") == "40.00 RUB"
    assert 'id="debt-notice"' in html
    assert "Nothing is pending" in html


@pytest.mark.parametrize("days", ["7", "abc", "-30", "90.0"])
def test_a_bad_chart_period_is_a_400_naming_it(shop, owner, days):
    response = owner.get(_balance_url(shop, days=days))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="days_error"' in html and "Choose one of: 30, 90" in html
    assert len(_chart(html)["labels"]) == 30  # the page still opens, with the default period


def test_balance_page_costs_the_same_queries_for_more_history(shop, owner):
    delivered(shop, "100.00")
    few, _r = count_queries(owner, _balance_url(shop))
    for price in ("110.00", "120.00", "130.00"):
        with _at(3):
            delivered(shop, price)
    with _at(20):
        delivered(shop, "140.00")
    settle(shop)
    many, _r = count_queries(owner, _balance_url(shop))
    assert many == few


# -- the ledger page -------------------------------------------------------------------------------------------
def test_ledger_lists_entries_newest_first_with_links_to_orders_and_campaigns(shop, history, owner):
    html = owner.get(_ledger_url(shop)).content.decode()
    ids = _entry_ids(html)
    assert ids == sorted(LedgerEntry.objects.for_shop(shop).values_list("pk", flat=True), reverse=True)
    for order in (history["a"], history["b"], history["c"]):
        assert f'href="{reverse("orders:order_detail", args=[shop.pk, order.pk])}" data-order="{order.number}"' in html
    campaign_url = reverse("promotions:ad_campaign_detail", args=[shop.pk, history["campaign"].pk])
    assert f'href="{campaign_url}" data-campaign="{history["campaign"].pk}">{history["campaign"].name}</a>' in html
    assert 'id="newer"' not in html and 'id="older"' not in html  # one page


def _kinds_accounts(html: str) -> set[tuple[str, str]]:
    return set(re.findall(r'data-kind="(\w+)" data-account="(\w+)"', html))


def test_ledger_filters_by_kind_account_order_and_days(shop, history, owner):
    url = _ledger_url(shop)
    assert _kinds_accounts(owner.get(url, {"kind": "refund"}).content.decode()) == {
        ("refund", "refunds"), ("refund", "commission"), ("refund", "available")}  # fmt: skip
    assert _kinds_accounts(owner.get(url, {"account": "ads"}).content.decode()) == {("ad_spend", "ads")}
    a = history["a"]
    html = owner.get(url, {"order": a.number}).content.decode()
    expected = set(LedgerEntry.objects.for_shop(shop).filter(order_id=a.pk).values_list("pk", flat=True))
    assert set(_entry_ids(html)) == expected and {k for k, _a in _kinds_accounts(html)} == {"sale", "settle", "refund"}
    assert f'value="{a.number}"' in html and 'id="clear-filters"' in html  # the filter stays in its field
    day = _day(shop, 2).isoformat()
    html = owner.get(url, {"date_from": day, "date_to": day}).content.decode()
    assert {k for k, _a in _kinds_accounts(html)} == {"refund"}
    html = owner.get(url, {"kind": "sale", "account": "commission", "order": history["b"].number}).content.decode()
    assert _entry_ids(html) == list(LedgerEntry.objects.for_shop(shop).filter(
        order_id=history["b"].pk, kind=Kind.SALE, account=Account.COMMISSION).values_list("pk", flat=True))  # fmt: skip
    html = owner.get(url, {"order": "NO-SUCH"}).content.decode()
    assert _entry_ids(html) == [] and "No entries match these filters." in html


def test_ledger_empty_state(shop, owner):
    html = owner.get(_ledger_url(shop)).content.decode()
    assert 'id="ledger-empty"' in html and "No entries yet" in html


@pytest.mark.parametrize(
    ("query", "field"),
    [({"kind": "bogus"}, "kind"), ({"account": "cash"}, "account"), ({"date_from": "2026-02-30"}, "date_from"),
     ({"date_to": "yesterday"}, "date_to"), ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
     ({"cursor": "x12"}, "cursor"), ({"cursor": "o99999999999999999999"}, "cursor")],
)  # fmt: skip
def test_a_bad_ledger_filter_is_a_400_beside_its_field(shop, owner, query, field):
    delivered(shop, "100.00")
    response = owner.get(_ledger_url(shop), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="{field}_error"' in html
    assert _entry_ids(html) == [] and "Correct the filters above" in html


def _adjust(shop, n: int) -> None:
    """``n`` postings of two entries each (a platform adjustment): cheap rows for deep pages."""
    start = LedgerEntry.objects.for_shop(shop).count()
    for i in range(n):
        services.post(shop=shop, kind=Kind.ADJUSTMENT, key=f"page-{start}-{i}",
                      entries=[(Account.ADJUSTMENTS, D("-1.00")), (Account.AVAILABLE, D("1.00"))])  # fmt: skip


def _follow(client, url: str, html: str, link: str) -> tuple[str, str] | None:
    match = re.search(rf'id="{link}" href="([^"]+)"', html)
    if not match:
        return None
    page_url = url + match.group(1).replace("&amp;", "&")
    response = client.get(page_url)
    assert response.status_code == 200
    return page_url, response.content.decode()


def test_ledger_cursor_pages_walk_every_entry_once_and_back(shop, owner):
    _adjust(shop, 130)  # 260 entries: pages of 50
    url = _ledger_url(shop)
    html = owner.get(url).content.decode()
    pages = [_entry_ids(html)]
    while step := _follow(owner, url, html, "older"):
        _page_url, html = step
        pages.append(_entry_ids(html))
    assert [len(p) for p in pages] == [50, 50, 50, 50, 50, 10]
    everything = sorted(LedgerEntry.objects.for_shop(shop).values_list("pk", flat=True), reverse=True)
    assert [pk for p in pages for pk in p] == everything
    back = []
    while step := _follow(owner, url, html, "newer"):
        _page_url, html = step
        back.append(_entry_ids(html))
    assert back == pages[-2::-1]  # Newer retraces the same pages to the first
    assert 'id="newer"' not in html


def test_a_posting_between_two_page_loads_does_not_shift_the_older_pages(shop, owner):
    _adjust(shop, 60)  # 120 entries
    url = _ledger_url(shop)
    first = owner.get(url).content.decode()
    older_link = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    before = _entry_ids(owner.get(url + older_link).content.decode())
    _adjust(shop, 3)  # six new entries land on top meanwhile
    after_html = owner.get(url + older_link).content.decode()
    assert _entry_ids(after_html) == before  # the same rows: nothing slid from page 1 onto page 2
    assert before[0] == _entry_ids(first)[-1] - 1
    # The newest page now starts with the new entries; "Newer" from page 2 leads back above it.
    newer = _follow(owner, url, after_html, "newer")[1]
    assert _entry_ids(newer) == sorted(LedgerEntry.objects.for_shop(shop).filter(pk__gt=before[0])
                                       .values_list("pk", flat=True), reverse=True)[-50:]  # fmt: skip


def test_a_stale_cursor_shows_an_empty_page_with_the_way_back(shop, owner):
    _adjust(shop, 30)
    url = _ledger_url(shop)
    ids = sorted(LedgerEntry.objects.for_shop(shop).values_list("pk", flat=True))
    below = owner.get(url, {"cursor": f"o{ids[0]}"}).content.decode()  # nothing is older than the oldest entry
    assert _entry_ids(below) == [] and 'id="older"' not in below
    assert _entry_ids(_follow(owner, url, below, "newer")[1]) == ids[:50][::-1]  # the oldest page, newest first
    above = owner.get(url, {"cursor": f"n{ids[-1] + 1000}"}).content.decode()  # nothing is newer than that
    assert _entry_ids(above) == [] and 'id="newer"' not in above
    assert _entry_ids(_follow(owner, url, above, "older")[1]) == ids[-50:][::-1]


def test_cursor_pages_keep_the_filters(shop, history, owner):
    _adjust(shop, 60)  # 60 available entries of adjustments, plus the history's three
    url = _ledger_url(shop)
    html = owner.get(url, {"account": "available"}).content.decode()
    assert re.search(r'id="older" href="\?account=available&amp;cursor=o\d+"', html)
    _page_url, html = _follow(owner, url, html, "older")
    assert {a for _k, a in _kinds_accounts(html)} == {"available"}
    total = LedgerEntry.objects.for_shop(shop).filter(account=Account.AVAILABLE).count()
    assert len(_entry_ids(html)) == total - 50


def test_ledger_costs_the_same_queries_for_more_entries(shop, owner):
    sku, _wh = make_sku(shop, stock=5, price="10.00")
    with _at(1):
        c = campaign(shop, sku.product)
        push_spend(shop, c, _day(shop, 1), "5.00")
        services.ad_spend_sync(actor=system_actor(shop))
    delivered(shop, "100.00")
    few, response = count_queries(owner, _ledger_url(shop))
    assert len(_entry_ids(response.content.decode())) == 6  # one order's sale, one ad charge
    _adjust(shop, 40)
    for price in ("110.00", "120.00", "130.00"):
        delivered(shop, price)
    push_spend(shop, c, _day(shop), "6.00")
    services.ad_spend_sync(actor=system_actor(shop))
    many, response = count_queries(owner, _ledger_url(shop))
    html = response.content.decode()
    assert len(_entry_ids(html)) == 50 and 'id="older"' in html
    assert html.count("data-order=") == 12 and html.count("data-campaign=") == 2  # three orders, one charge
    deep, response = count_queries(owner, _ledger_url(shop), cursor=f"o{min(_entry_ids(html))}")
    assert "data-order=" in response.content.decode() and "data-campaign=" in response.content.decode()
    assert few == many
    assert deep == many + 1  # below the first page: one more query, whether a newer page exists


# -- who sees what ---------------------------------------------------------------------------------------------
def test_dashboard_cards_show_available_and_the_next_settlement(shop, history, owner):
    html = owner.get(reverse("accounts:dashboard", args=[shop.pk])).content.decode()
    assert re.search(r'data-card="payouts_available"[^>]*><div class="label">Available balance</div>'
                     r'<div class="value">825.00 RUB</div>', html)  # fmt: skip
    b_day = _day(shop, 3, later=14)
    match = re.search(r'data-card="payouts_next_settlement"[^>]*>.*?<div class="value">([^<]*)</div>', html)
    assert match.group(1) == f"475.00 RUB on {b_day:%m/%d/%Y}"


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_roles_with_payouts_view_see_the_amounts(shop, history, members, role):
    client = web_client_for(members[role].user)
    html = client.get(reverse("accounts:dashboard", args=[shop.pk])).content.decode()
    assert "825.00 RUB" in html and 'data-nav="payouts-balance"' in html
    assert client.get(_balance_url(shop)).status_code == 200
    assert client.get(_ledger_url(shop)).status_code == 200


@pytest.mark.parametrize("role", ["operator", "support", "viewer"])
def test_roles_without_payouts_view_see_no_amount_anywhere(shop, history, members, role):
    client = web_client_for(members[role].user)
    pages = [reverse("accounts:dashboard", args=[shop.pk]), reverse("orders:order_list", args=[shop.pk]),
             reverse("orders:order_detail", args=[shop.pk, history["a"].pk])]  # fmt: skip
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "payouts_" not in html and 'data-nav="payouts-' not in html and "/payouts/" not in html, url
        for amount in ("825.00", "665.00", "475.00"):  # available, pending, the next settlement
            assert amount not in html, (url, amount)
    for url in (_balance_url(shop), _balance_url(shop, days=90), _ledger_url(shop),
                _ledger_url(shop) + f"?order={history['a'].number}"):  # fmt: skip
        assert client.get(url).status_code == 403, url


def test_a_role_with_payouts_view_alone_reads_orders_numbers_without_links(shop, history):
    """The ledger names each entry's order (the reader may read those rows and finds them by number), but links
    only the orders the reader may open."""
    role = accounts.role_create(actor=owner_actor(shop), name="Bookkeeper", permissions=["payouts.view"])
    client = web_client_for(make_member(shop, role.key).user)
    html = client.get(_ledger_url(shop), {"order": history["a"].number}).content.decode()
    assert len(_entry_ids(html)) == 9
    assert f'<span data-order="{history["a"].number}">Order {history["a"].number}</span>' in html
    assert "/orders/" not in html.split('id="ledger-table"')[1]
    assert 'data-card="payouts_available"' in client.get(reverse("accounts:dashboard", args=[shop.pk])).content.decode()


def test_another_shops_pages_are_404(shop, history):
    other = make_shop("Other")
    client = web_client_for(other.owner)
    for url in (_balance_url(shop), _ledger_url(shop), _ledger_url(shop) + "?kind=sale"):
        assert client.get(url).status_code == 404
