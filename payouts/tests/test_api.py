"""The payouts read API (SPEC §10): the balance and the cursor-paginated, filtered ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payouts.tests.factories import delivered, refund, settle
from tests.fixtures import api_client_for, count_queries, make_member, make_shop, shop_today

pytestmark = pytest.mark.django_db


def _url(shop, what: str) -> str:
    return f"/api/v1/shops/{shop.pk}/{what}/"


def test_the_balance_answers_strings_for_finance_and_403_for_roles_without_payouts_view(shop):
    order = delivered(shop, "1000.00")
    refund(shop, order, "100.00")
    r = api_client_for(shop.owner).get(_url(shop, "balance"))
    assert r.status_code == 200
    assert r.json() == {"currency": "RUB", "pending": "855.00", "available": "0.00", "in_transit": "0.00",
                        "debt": "0.00"}  # fmt: skip
    settle(shop, days=15)
    assert api_client_for(make_member(shop, "finance").user).get(_url(shop, "balance")).json()["available"] == "855.00"
    for role in ("operator", "viewer", "support"):
        r = api_client_for(make_member(shop, role).user).get(_url(shop, "balance"))
        assert r.status_code == 403 and "available" not in r.content.decode()
    assert api_client_for(make_shop().owner).get(_url(shop, "balance")).status_code == 404


def test_the_ledger_lists_entries_newest_first_with_filters_and_a_cursor(shop):
    first = delivered(shop, "1000.00")
    second = delivered(shop, "500.00")
    r = refund(shop, first, "100.00")
    api = api_client_for(shop.owner)
    rows = api.get(_url(shop, "ledger")).json()["results"]
    assert len(rows) == 4 + 4 + 3  # a refund from pending: refunds, commission back, pending
    assert rows[0]["kind"] == "refund" and rows[0]["refund"] == r.pk and rows[0]["order"] == first.pk
    assert {k for k in rows[0]} >= {"id", "account", "amount", "kind", "order", "created_at", "memo", "transaction"}
    assert [e["id"] for e in rows] == sorted((e["id"] for e in rows), reverse=True)
    assert {e["amount"] for e in rows if e["kind"] == "sale" and e["account"] == "sales"} == {"-1000.00", "-500.00"}

    def ids(**params) -> set[int]:
        answer = api.get(_url(shop, "ledger"), params)
        assert answer.status_code == 200, answer.content
        return {e["order"] for e in answer.json()["results"]}

    assert ids(kind="refund") == {first.pk}
    assert ids(order=second.number) == {second.pk}
    assert ids(order="no-such-order") == set()
    assert ids(kind="sale,refund", account="commission") == {first.pk, second.pk}
    today = shop_today(shop)
    assert ids(date_from=today.isoformat(), date_to=today.isoformat()) == {first.pk, second.pk}
    assert ids(date_from=(today + timedelta(days=1)).isoformat()) == set()

    page = api.get(_url(shop, "ledger"), {"page_size": 5}).json()
    assert len(page["results"]) == 5 and page["next"]
    rest = api.get(page["next"]).json()
    assert not {e["id"] for e in rest["results"]} & {e["id"] for e in page["results"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"kind": "gift"}, "kind"), ({"account": "cash"}, "account"), ({"date_from": "2026-02-30"}, "date_from"),
     ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_to")],
)  # fmt: skip
def test_a_bad_ledger_filter_is_a_400_naming_it(shop, params, field):
    r = api_client_for(shop.owner).get(_url(shop, "ledger"), params)
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content


def test_ledger_and_balance_cost_the_same_queries_at_3_and_30_entries(shop):
    api = api_client_for(shop.owner)
    delivered(shop, "100.00")
    small = (count_queries(api, _url(shop, "ledger"))[0], count_queries(api, _url(shop, "balance"))[0])
    for _ in range(6):
        delivered(shop, "100.00")
    assert (count_queries(api, _url(shop, "ledger"))[0], count_queries(api, _url(shop, "balance"))[0]) == small
