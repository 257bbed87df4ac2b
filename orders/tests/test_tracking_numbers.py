"""Issue 11: a tracking number already used in the shop with the same carrier is refused, naming the field, by
every way of packing (the service, the pack page, the bulk-pack page, the API pack and bulk-pack), and the
rule holds when packs race (PostgreSQL: an advisory lock per shop and carrier, and a partial unique index)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from backoffice.errors import Conflict, ValidationFailed
from orders import services
from orders.models import Order, OrderEvent
from orders.tests.factories import intake, make_sku, order_in
from tests.fixtures import api_client_for, make_shop, owner_actor, web_client_for
from tests.races import race, require_postgresql

S = Order.State
TAKEN = "Tracking number {n} is already used with carrier {c}."


def _waiting(shop, n: int) -> list[Order]:
    sku, _wh = make_sku(shop, stock=20)
    return [intake(shop, sku) for _ in range(n)]


def _unchanged(order: Order) -> bool:
    order.refresh_from_db()
    return order.state == S.AWAITING_PACKAGING and order.tracking_number == "" and order.carrier == ""


@pytest.mark.django_db
def test_the_service_refuses_a_number_another_live_order_has_with_that_carrier(shop):
    first, second, third = _waiting(shop, 3)
    actor = owner_actor(shop)
    services.order_pack(actor=actor, order=first, carrier="CDEK", tracking_number="TRK-100")
    for carrier, number in (("CDEK", "TRK-100"), (" cdek ", "trk-100")):  # letter case and spaces aside
        with pytest.raises(Conflict) as caught:
            services.order_pack(actor=actor, order=second, carrier=carrier, tracking_number=number)
        assert caught.value.code == "tracking_number_taken"
        assert caught.value.fields == {"tracking_number": [TAKEN.format(n=number.strip(), c=carrier.strip())]}
        assert _unchanged(second)
    assert OrderEvent.objects.for_shop(shop).filter(order=second, kind="packed").count() == 0
    # Another carrier's number space is its own.
    assert services.order_pack(actor=actor, order=second, carrier="Boxberry", tracking_number="TRK-100").state == (
        S.AWAITING_DELIVER
    )
    # A cancelled order's parcel never went out: its number is free again.
    services.order_cancel(actor=actor, order=first, reason="buyer_request")
    assert services.order_pack(actor=actor, order=third, carrier="CDEK", tracking_number="TRK-100").state == (
        S.AWAITING_DELIVER
    )


@pytest.mark.django_db
def test_another_shop_may_use_the_same_number(shop, other_shop):
    (mine,) = _waiting(shop, 1)
    (theirs,) = _waiting(other_shop, 1)
    services.order_pack(actor=owner_actor(shop), order=mine, carrier="CDEK", tracking_number="TRK-1")
    packed = services.order_pack(actor=owner_actor(other_shop), order=theirs, carrier="CDEK", tracking_number="TRK-1")
    assert packed.state == S.AWAITING_DELIVER


@pytest.mark.django_db
def test_package_numbers_count_too_and_are_distinct_within_an_order(shop):
    sku, _wh = make_sku(shop, stock=20)
    split, plain, other = intake(shop, sku, quantity=2), intake(shop, sku), intake(shop, sku, quantity=2)
    actor = owner_actor(shop)
    line = split.lines.get().pk

    def packages(order_line, first, second, carrier=""):
        return [{"tracking_number": first, "carrier": carrier, "lines": [{"line": order_line, "quantity": 1}]},
                {"tracking_number": second, "lines": [{"line": order_line, "quantity": 1}]}]  # fmt: skip

    with pytest.raises(ValidationFailed) as caught:
        services.order_pack(actor=actor, order=split, carrier="CDEK", tracking_number="PK-1",
                            packages=packages(line, "PK-1", "pk-1"))  # fmt: skip
    assert list(caught.value.fields) == ["packages.1.tracking_number"]
    # The main number may be one of the order's own packages.
    services.order_pack(actor=actor, order=split, carrier="CDEK", tracking_number="PK-1",
                        packages=packages(line, "PK-1", "PK-2"))  # fmt: skip
    with pytest.raises(Conflict) as caught:
        services.order_pack(actor=actor, order=plain, carrier="CDEK", tracking_number="PK-2")
    assert caught.value.fields == {"tracking_number": [TAKEN.format(n="PK-2", c="CDEK")]}
    with pytest.raises(Conflict) as caught:
        services.order_pack(actor=actor, order=other, carrier="CDEK", tracking_number="NEW-1",
                            packages=packages(other.lines.get().pk, "NEW-1", "PK-2"))  # fmt: skip
    assert caught.value.fields == {"packages.1.tracking_number": [TAKEN.format(n="PK-2", c="CDEK")]}
    assert _unchanged(plain) and _unchanged(other)


@pytest.mark.django_db
def test_the_database_refuses_a_duplicate_that_bypasses_the_services(shop):
    a, b = order_in(shop, S.AWAITING_DELIVER), order_in(shop, S.AWAITING_DELIVER)
    Order.objects.for_shop(shop).filter(pk=a.pk).update(carrier="CDEK", tracking_number="T-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.for_shop(shop).filter(pk=b.pk).update(carrier="cdek", tracking_number="t-1")
    # Cancelled orders and blank numbers are outside the rule.
    Order.objects.for_shop(shop).filter(pk=a.pk).update(state=S.CANCELLED)
    assert Order.objects.for_shop(shop).filter(pk=b.pk).update(carrier="CDEK", tracking_number="T-1") == 1


@pytest.mark.django_db
def test_the_api_answers_409_naming_the_field(shop):
    first, second, third = _waiting(shop, 3)
    api = api_client_for(shop.owner)
    base = f"/api/v1/shops/{shop.pk}/orders"
    assert api.post(f"{base}/{first.pk}/pack/", {"carrier": "CDEK", "tracking_number": "T-7"},
                    format="json").status_code == 200  # fmt: skip
    r = api.post(f"{base}/{second.pk}/pack/", {"carrier": "CDEK", "tracking_number": "t-7"}, format="json")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "tracking_number_taken"
    assert r.json()["error"]["fields"] == {"tracking_number": [TAKEN.format(n="t-7", c="CDEK")]}
    # Bulk: each order its own answer; the one that would repeat a number is named, the other is packed.
    r = api.post(f"{base}/bulk-pack/", {"orders": [{"id": second.pk, "carrier": "CDEK", "tracking_number": "T-7"},
                                                   {"id": third.pk, "carrier": "CDEK", "tracking_number": "T-8"}]},
                 format="json")  # fmt: skip
    assert r.status_code == 200 and r.json()["done"] == [third.pk]
    assert r.json()["failed"] == {str(second.pk): {"code": "tracking_number_taken",
                                                   "message": TAKEN.format(n="T-7", c="CDEK")}}  # fmt: skip
    # Nothing packed: 409 with the reason per order.
    r = api.post(f"{base}/bulk-pack/", {"orders": [{"id": second.pk, "carrier": "CDEK", "tracking_number": "T-8"}]},
                 format="json")  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (409, "tracking_number_taken")
    assert r.json()["error"]["fields"] == {str(second.pk): [TAKEN.format(n="T-8", c="CDEK")]}
    assert _unchanged(second)


@pytest.mark.django_db
def test_the_pack_page_shows_the_refusal_on_the_field(shop):
    first, second = _waiting(shop, 2)
    services.order_pack(actor=owner_actor(shop), order=first, carrier="CDEK", tracking_number="TRK-5")
    web = web_client_for(shop.owner)
    r = web.post(f"/shops/{shop.pk}/orders/{second.pk}/pack/", {"carrier": "CDEK", "tracking_number": "TRK-5"})
    assert r.status_code == 400
    assert r.context["form"].errors == {"tracking_number": [TAKEN.format(n="TRK-5", c="CDEK")]}
    assert _unchanged(second)


@pytest.mark.django_db
def test_the_bulk_pack_page_names_the_rows_before_packing_anything(shop):
    packed, a, b, c = _waiting(shop, 4)
    services.order_pack(actor=owner_actor(shop), order=packed, carrier="CDEK", tracking_number="TRK-1")
    web = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/orders/bulk-pack/"
    ids = f"{a.pk},{b.pk},{c.pk}"
    r = web.post(url, {"ids": ids, "carrier": "cdek", f"tracking_{a.pk}": "trk-1", f"tracking_{b.pk}": "TRK-2",
                       f"tracking_{c.pk}": "trk-2"})  # fmt: skip
    assert r.status_code == 400
    errors = {row["order"].pk: row["error"] for row in r.context["rows"]}
    assert errors == {a.pk: TAKEN.format(n="trk-1", c="cdek"), b.pk: "Each package needs its own tracking number.",
                      c.pk: "Each package needs its own tracking number."}  # fmt: skip
    assert all(_unchanged(o) for o in (a, b, c))
    r = web.post(url, {"ids": ids, "carrier": "cdek", f"tracking_{a.pk}": "TRK-3", f"tracking_{b.pk}": "TRK-2",
                       f"tracking_{c.pk}": "TRK-4"})  # fmt: skip
    assert r.status_code == 302
    assert set(Order.objects.for_shop(shop).filter(pk__in=[a.pk, b.pk, c.pk]).values_list("state", flat=True)) == {
        S.AWAITING_DELIVER
    }


@pytest.mark.django_db(transaction=True)
def test_racing_packs_with_one_number_pack_exactly_one_order():
    require_postgresql()
    shop = make_shop()
    orders = _waiting(shop, 6)
    clients = [api_client_for(shop.owner) for _ in orders]

    def pack(i):
        r = clients[i].post(f"/api/v1/shops/{shop.pk}/orders/{orders[i].pk}/pack/",
                            {"carrier": "CDEK", "tracking_number": "RACE-1"}, format="json")  # fmt: skip
        return r.status_code, r.json()

    results = race(len(orders), pack)
    assert sorted(code for code, _body in results) == [200, 409, 409, 409, 409, 409], results
    assert {body["error"]["code"] for code, body in results if code == 409} == {"tracking_number_taken"}
    assert Order.objects.for_shop(shop).filter(tracking_number="RACE-1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_package_number_racing_a_main_number_is_given_once():
    """The unique index covers only the main number: this race is won or lost under the shop+carrier lock."""
    require_postgresql()
    shop = make_shop()
    sku, _wh = make_sku(shop, stock=20)
    rounds = 5
    pairs = [(intake(shop, sku), intake(shop, sku)) for _ in range(rounds)]
    actor = owner_actor(shop)
    for n, (split, plain) in enumerate(pairs):
        line = split.lines.get().pk
        calls = [
            lambda split=split, line=line, n=n: services.order_pack(
                actor=actor, order=split, carrier="CDEK", tracking_number=f"MAIN-{n}",
                packages=[{"tracking_number": f"PKG-{n}", "lines": [{"line": line, "quantity": 1}]}]),
            lambda plain=plain, n=n: services.order_pack(actor=actor, order=plain, carrier="cdek",
                                                         tracking_number=f"pkg-{n}"),
        ]  # fmt: skip
        results = race(2, lambda i, calls=calls: calls[i](), expected=(Conflict,))
        won = [r for r in results if isinstance(r, Order)]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert (len(won), len(lost)) == (1, 1), results
        assert lost[0].code == "tracking_number_taken"
