"""Races on PostgreSQL through the real API (and the services where no client calls them): threads
released together, each with its own connection (``tests.races.race``). A 500, a deadlock or any other
unexpected error in a thread fails the test; every race asserts its exact outcome."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from backoffice.errors import Conflict
from catalog import services as catalog
from catalog.models import Stock, StockMovement
from orders import services
from orders.models import Order, OrderAllocation, OrderEvent, Refund, Return
from orders.tests.factories import BUYER, make_sku, order_in, platform_user, return_in
from tests.fixtures import api_client_for, owner_actor
from tests.races import race, require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)

INTAKE = "/api/v1/integration/shops/{shop}/orders/"


@pytest.fixture(autouse=True)
def _postgresql():
    require_postgresql()


def _post(client, url: str, body: dict | None = None, **headers) -> tuple[int, dict]:
    r = client.post(url, body or {}, format="json", **headers)
    return r.status_code, r.json()


def _codes(results) -> Counter:
    return Counter(code for code, _body in results)


def _error_codes(results) -> set[str]:
    return {body["error"]["code"] for code, body in results if code >= 400}


def test_thirty_intakes_for_five_units_create_exactly_five_orders(shop):
    sku, wh = make_sku(shop, stock=5)
    clients = [api_client_for(platform_user(), reauth=False) for _ in range(30)]
    url = INTAKE.format(shop=shop.pk)

    def one(i):
        body = {
            "external_id": f"RACE-{i}",
            "delivery_method": "standard",
            "buyer": BUYER,
            "lines": [{"sku": sku.code, "quantity": 1, "unit_price": "990.00"}],
        }
        return _post(clients[i], url, body)

    results = race(30, one)
    assert _codes(results) == {201: 5, 409: 25}, results
    assert _error_codes(results) == {"out_of_stock"}
    st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert (st.on_hand, st.reserved, st.available) == (5, 5, 0)
    assert Order.objects.for_shop(shop).count() == 5


def test_same_external_id_sent_concurrently_makes_one_order(shop):
    sku, wh = make_sku(shop, stock=50)
    clients = [api_client_for(platform_user(), reauth=False) for _ in range(8)]
    body = {
        "external_id": "MP-TWIN",
        "delivery_method": "express",
        "buyer": BUYER,
        "lines": [{"sku": sku.code, "quantity": 2, "unit_price": "10.00"}],
    }

    results = race(8, lambda i: _post(clients[i], INTAKE.format(shop=shop.pk), body))
    assert _codes(results) == {201: 1, 200: 7}, results
    assert len({body["id"] for _code, body in results}) == 1
    assert Order.objects.for_shop(shop).count() == 1
    assert Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh).reserved == 2


def test_multi_line_intakes_in_opposite_sku_order_never_deadlock(shop):
    """Orders [A, B] against orders [B, A], at once, round after round: each intake locks the stock rows of
    both SKUs; in line order the two halves would wait on each other (PostgreSQL reports a deadlock, the
    client a 500). Every answer is a 201 or an out_of_stock 409, and the totals are exact."""
    actor = owner_actor(shop)
    a, wh1 = make_sku(shop, stock=5)
    b, _ = make_sku(shop, stock=5, warehouse=wh1)
    wh2 = catalog.warehouse_create(actor=actor, name="Second", code="second")
    for sku in (b, a):  # a second warehouse, its rows created in the other order
        catalog.stock_adjust(actor=actor, sku=sku, warehouse=wh2, delta=5, reason="receipt")
    clients = [api_client_for(platform_user(), reauth=False) for _ in range(8)]
    url = INTAKE.format(shop=shop.pk)
    rounds, results = 4, []
    for r in range(rounds):

        def one(i, r=r):
            pair = [a, b] if i % 2 == 0 else [b, a]
            body = {
                "external_id": f"PAIR-{r}-{i}",
                "delivery_method": "standard",
                "buyer": BUYER,
                "lines": [{"sku": s.code, "quantity": 1, "unit_price": "10.00"} for s in pair],
            }
            return _post(clients[i], url, body)

        results += race(8, one)
    # 32 orders each wanting one A and one B, 10 of each in stock: exactly 10 get through.
    assert _codes(results) == {201: 10, 409: 22}, _codes(results)
    assert _error_codes(results) == {"out_of_stock"}
    for sku in (a, b):
        rows = Stock.objects.for_shop(shop).filter(sku=sku)
        assert sum(s.on_hand for s in rows) == 10
        assert sum(s.reserved for s in rows) == 10
        assert sum(s.available for s in rows) == 0
        assert sum(x.quantity for x in OrderAllocation.objects.for_shop(shop).filter(line__sku=sku)) == 10
    assert Order.objects.for_shop(shop).count() == 10
    # A refused order left nothing behind.
    assert OrderAllocation.objects.for_shop(shop).count() == 20


def test_confirm_racing_cancel_leaves_a_cancelled_order_and_released_stock(shop):
    """Confirm and cancel of one order at once (two of each, several rounds). Cancel is open from both
    awaiting states, so exactly one cancel wins every round, and a confirm wins only if it took the
    lock first (the cancel then starts from awaiting_packaging); the units are released exactly once."""
    sku, wh = make_sku(shop, stock=10)
    clients = [api_client_for(shop.owner) for _ in range(4)]
    for _round in range(3):
        order = order_in(shop, Order.State.AWAITING_CONFIRMATION, sku=sku)
        base = f"/api/v1/shops/{shop.pk}/orders/{order.pk}"

        def one(i, base=base):
            if i % 2 == 0:
                return "confirm", *_post(clients[i], f"{base}/confirm/")
            return "cancel", *_post(clients[i], f"{base}/cancel/", {"reason": "buyer_request"})

        results = race(4, one)
        won = Counter(verb for verb, code, _body in results if code == 200)
        assert won["cancel"] == 1 and won["confirm"] <= 1, results
        assert {(code, body["error"]["code"]) for _v, code, body in results if code != 200} == {
            (409, "invalid_transition")
        }
        order.refresh_from_db()
        assert order.state == Order.State.CANCELLED
        events = list(
            OrderEvent.objects.for_shop(shop)
            .filter(order=order, kind__in=["confirmed", "cancelled"])
            .order_by("id")
            .values_list("kind", "from_state")
        )
        if won["confirm"]:
            assert events == [("confirmed", "awaiting_confirmation"), ("cancelled", "awaiting_packaging")]
        else:
            assert events == [("cancelled", "awaiting_confirmation")]
        moves = StockMovement.objects.for_shop(shop).filter(reference=f"order:{order.number}")
        assert sorted(moves.values_list("kind", flat=True)) == ["release", "reservation"]
        st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
        assert (st.on_hand, st.reserved) == (10, 0)


def test_ship_racing_cancel_has_one_winner_per_round(shop):
    """Two ships and two cancels of one order at once, each round a fresh order: one 200 per round, the
    rest 409, and stock follows the winner (shipped units leave, cancelled ones come back)."""
    sku, wh = make_sku(shop, stock=4)
    clients = [api_client_for(shop.owner) for _ in range(4)]
    winners = []
    for _round in range(4):
        order = order_in(shop, Order.State.AWAITING_DELIVER, sku=sku)
        base = f"/api/v1/shops/{shop.pk}/orders/{order.pk}"

        def one(i, base=base):
            if i % 2 == 0:
                return "ship", *_post(clients[i], f"{base}/ship/")
            return "cancel", *_post(clients[i], f"{base}/cancel/", {"reason": "buyer_request"})

        results = race(4, one)
        wins = [(verb, body) for verb, code, body in results if code == 200]
        assert len(wins) == 1, results
        assert {(code, body["error"]["code"]) for _v, code, body in results if code != 200} == {
            (409, "invalid_transition")
        }
        verb, body = wins[0]
        expected_state = Order.State.DELIVERING if verb == "ship" else Order.State.CANCELLED
        order.refresh_from_db()
        assert order.state == body["state"] == expected_state
        transitions = OrderEvent.objects.for_shop(shop).filter(order=order, kind__in=["shipped", "cancelled"])
        assert transitions.count() == 1
        moves = StockMovement.objects.for_shop(shop).filter(reference=f"order:{order.number}")
        assert sorted(moves.values_list("kind", flat=True)) == sorted(
            ["reservation", "shipment" if verb == "ship" else "release"]
        )
        winners.append(verb)
    st = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    assert (st.on_hand, st.reserved) == (4 - winners.count("ship"), 0)


def test_concurrent_refunds_never_exceed_paid(shop):
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    actor = owner_actor(shop)
    results = race(
        10,
        lambda i: services.refund_create(actor=actor, order=order, amount="30.00", reason=f"r{i}"),
        expected=(Conflict,),
    )
    assert sum(isinstance(r, Refund) for r in results) == 3
    assert {r.code for r in results if isinstance(r, Conflict)} == {"refund_exceeds_paid"}
    assert sum(isinstance(r, Conflict) for r in results) == 7
    order.refresh_from_db()
    assert order.refunded_total == Decimal("90.00")
    assert sum(r.amount for r in Refund.objects.for_shop(shop).filter(order=order)) == Decimal("90.00")


def test_return_refund_racing_manual_refunds_never_exceeds_paid(shop):
    """A received return's refund (worth 100.00) against manual refunds of the same order, paid 200.00:
    at most 200.00 goes back, every refusal is a 409 and only for a request that no longer fits. Round 1
    asks the return for 100.00; in round 2 it defaults to what is left, and a full manual refund usually
    gets in first (the last thread to reach the barrier tends to win), so nothing is left for it."""
    clients = [api_client_for(shop.owner) for _ in range(4)]
    rounds = [
        [("manual", "60.00"), ("manual", "60.00"), ("manual", "60.00"), ("return", "100.00")],
        [("return", None), ("manual", "60.00"), ("manual", "200.00"), ("manual", "200.00")],
    ]
    for requests in rounds:
        order = order_in(shop, Order.State.DELIVERED, quantity=2, unit_price="100.00")
        ret = return_in(shop, Return.State.RECEIVED, order=order)
        # What each request needs to fit: a defaulted return refund fits while anything is left.
        asked = [Decimal(amount or "0.01") for _kind, amount in requests]
        by_return = next(i for i, (kind, _amount) in enumerate(requests) if kind == "return")

        def one(i, order=order, ret=ret, requests=requests):
            kind, amount = requests[i]
            if kind == "return":
                body = {"reason": "return", **({"amount": amount} if amount else {})}
                return _post(clients[i], f"/api/v1/shops/{shop.pk}/returns/{ret.pk}/refund/", body)
            body = {"order": order.pk, "amount": amount, "reason": f"manual {i}"}
            return _post(clients[i], f"/api/v1/shops/{shop.pk}/refunds/", body)

        results = race(len(requests), one)
        ok = {i for i, (code, _body) in enumerate(results) if code in (200, 201)}
        assert {(code, body["error"]["code"]) for i, (code, body) in enumerate(results) if i not in ok} <= {
            (409, "refund_exceeds_paid")
        }, results
        order.refresh_from_db()
        rows = Refund.objects.for_shop(shop).filter(order=order)
        refunded = sum((r.amount for r in rows), Decimal("0.00"))
        assert order.refunded_total == refunded <= Decimal("200.00")
        assert sorted(r.amount for r in rows if r.ret_id is None) == sorted(asked[i] for i in ok - {by_return})
        # Refunded totals only grow: a refused request did not fit even at the end.
        assert all(asked[i] > Decimal("200.00") - refunded for i in range(len(results)) if i not in ok), results
        ret.refresh_from_db()
        assert ret.state == (Return.State.REFUNDED if by_return in ok else Return.State.RECEIVED)
        assert rows.filter(ret=ret).count() == (1 if by_return in ok else 0)
        if by_return in ok and requests[by_return][1]:
            assert rows.get(ret=ret).amount == Decimal(requests[by_return][1])

    # The interleaving round 2 usually finds, pinned: with nothing left, the defaulted return refund is a
    # 409 like any refund that does not fit (it was a 400 on an "amount" the client never sent).
    order = order_in(shop, Order.State.DELIVERED, quantity=2, unit_price="100.00")
    ret = return_in(shop, Return.State.RECEIVED, order=order)
    full = {"order": order.pk, "amount": "200.00", "reason": "goodwill"}
    assert _post(clients[0], f"/api/v1/shops/{shop.pk}/refunds/", full)[0] == 201
    code, body = _post(clients[1], f"/api/v1/shops/{shop.pk}/returns/{ret.pk}/refund/", {})
    assert (code, body["error"]["code"]) == (409, "refund_exceeds_paid")
    ret.refresh_from_db()
    assert ret.state == Return.State.RECEIVED


def test_same_idempotency_key_retried_concurrently_refunds_once(shop):
    """Eight retries of one refund with one Idempotency-Key at once: one refund; every answer is that
    refund (201, the first or a replay) or 409 idempotency_in_progress; a later retry replays it."""
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    clients = [api_client_for(shop.owner) for _ in range(8)]
    url = f"/api/v1/shops/{shop.pk}/refunds/"
    body = {"order": order.pk, "amount": "30.00", "reason": "late"}

    results = race(8, lambda i: _post(clients[i], url, body, HTTP_IDEMPOTENCY_KEY="refund-once"))
    assert set(_codes(results)) <= {201, 409} and _codes(results)[201] >= 1, results
    assert _error_codes(results) <= {"idempotency_in_progress"}
    assert len({body["id"] for code, body in results if code == 201}) == 1
    refunds = Refund.objects.for_shop(shop).filter(order=order)
    assert [r.amount for r in refunds] == [Decimal("30.00")]
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")

    replay = clients[0].post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="refund-once")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replay"] == "true"
    assert replay.json()["id"] == refunds[0].pk
    # The same key with another body is a client error, not a replay of the first answer.
    other = _post(clients[1], url, {**body, "amount": "40.00"}, HTTP_IDEMPOTENCY_KEY="refund-once")
    assert other[0] == 409 and other[1]["error"]["code"] == "idempotency_key_reused"
    assert Refund.objects.for_shop(shop).filter(order=order).count() == 1


def test_one_idempotency_key_with_two_bodies_at_once_never_answers_with_the_other_body(shop):
    """Six requests share a key, half asking 10.00 and half 20.00: one refund is made; a request is
    answered 201 only with a refund of its own amount, the others 409 (in progress, or key reused)."""
    order = order_in(shop, Order.State.DELIVERED, unit_price="100.00")
    clients = [api_client_for(shop.owner) for _ in range(6)]
    url = f"/api/v1/shops/{shop.pk}/refunds/"
    amounts = ["10.00", "20.00"] * 3

    def one(i):
        body = {"order": order.pk, "amount": amounts[i], "reason": "split"}
        return _post(clients[i], url, body, HTTP_IDEMPOTENCY_KEY="refund-two-bodies")

    results = race(6, one)
    refunds = list(Refund.objects.for_shop(shop).filter(order=order))
    assert len(refunds) == 1
    made = refunds[0]
    for i, (code, body) in enumerate(results):
        if code == 201:
            assert Decimal(body["amount"]) == Decimal(amounts[i]) == made.amount and body["id"] == made.pk
        else:
            assert code == 409 and body["error"]["code"] in {"idempotency_in_progress", "idempotency_key_reused"}
    assert _codes(results)[201] >= 1
    # Once the first answer is stored, the other body is refused as a reused key.
    other = "20.00" if made.amount == Decimal("10.00") else "10.00"
    late = _post(
        clients[0],
        url,
        {"order": order.pk, "amount": other, "reason": "split"},
        HTTP_IDEMPOTENCY_KEY="refund-two-bodies",
    )
    assert late[0] == 409 and late[1]["error"]["code"] == "idempotency_key_reused"
    order.refresh_from_db()
    assert order.refunded_total == made.amount
