"""Orders API: integration intake and tracking, member lists with filters and masking, transitions,
returns, refunds, exports, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.authz import system_actor
from catalog.models import Stock
from orders import services
from orders.models import ExportJob, Order, OrderEvent, Return
from orders.tests.factories import BUYER, intake, make_sku, order_in, platform_user, return_in
from tests.fixtures import api_client_for, count_queries, make_member, make_shop, owner_actor

pytestmark = pytest.mark.django_db
S = Order.State


@pytest.fixture
def platform():
    return api_client_for(platform_user(), reauth=False)


def intake_body(sku, external_id="MP-1001", quantity=1, **extra):
    return {"external_id": external_id, "delivery_method": "standard", "buyer": BUYER,
            "lines": [{"sku": sku.code, "quantity": quantity, "unit_price": "990.00"}], **extra}  # fmt: skip


# -- integration --------------------------------------------------------------------------------


def test_intake_contract(shop, platform):
    sku, wh = make_sku(shop, stock=2)
    url = f"/api/v1/integration/shops/{shop.pk}/orders/"
    r = platform.post(url, intake_body(sku), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "awaiting_packaging" and body["number"] and body["id"]
    assert body["lines"][0]["unit_price"] == "990.00" and body["buyer"]["name"] == BUYER["name"]
    again = platform.post(url, intake_body(sku), format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    short = platform.post(url, intake_body(sku, external_id="MP-1002", quantity=5), format="json")
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "out_of_stock" and "lines.0.quantity" in short.json()["error"]["fields"]
    assert Stock.objects.for_shop(shop).get(sku=sku).reserved == 1


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda b: b.update(delivery_method="drone"), "delivery_method"),
        (lambda b: b.update(lines=[]), "lines"),
        (lambda b: b["lines"][0].update(quantity=0), "lines.0.quantity"),
        (lambda b: b["lines"][0].update(unit_price="abc"), "lines.0.unit_price"),
        (lambda b: b["lines"][0].update(sku="NOPE"), "lines.0.sku"),
        (lambda b: b.pop("buyer"), "buyer"),
    ],
)
def test_intake_bad_input_is_400_with_fields(shop, platform, mutate, field):
    sku, _wh = make_sku(shop)
    body = intake_body(sku)
    mutate(body)
    r = platform.post(f"/api/v1/integration/shops/{shop.pk}/orders/", body, format="json")
    assert r.status_code == 400, r.content
    assert any(key.startswith(field) for key in r.json()["error"]["fields"]), r.json()


def test_integration_needs_platform_staff_and_a_real_shop(shop):
    sku, _wh = make_sku(shop)
    owner = api_client_for(shop.owner)
    url = f"/api/v1/integration/shops/{shop.pk}/orders/"
    assert owner.post(url, intake_body(sku), format="json").status_code == 403
    order = intake(shop, sku)
    assert owner.post(f"{url}{order.pk}/tracking-events/", {"status": "in_transit"}, format="json").status_code == 403
    assert owner.post(f"{url}{order.pk}/returns/", {}, format="json").status_code == 403
    platform = api_client_for(platform_user(), reauth=False)
    assert platform.post("/api/v1/integration/shops/999999/orders/", intake_body(sku), format="json").status_code == 404
    other = make_shop()
    r = platform.post(f"/api/v1/integration/shops/{other.pk}/orders/{order.pk}/tracking-events/",
                      {"status": "in_transit"}, format="json")  # fmt: skip
    assert r.status_code == 404
    assert not Order.objects.for_shop(other).exists()


def test_tracking_events_join_the_timeline(shop, platform):
    order = order_in(shop, S.DELIVERING)
    url = f"/api/v1/integration/shops/{shop.pk}/orders/{order.pk}/tracking-events/"
    r = platform.post(url, {"status": "in_transit", "location": "Kazan", "message": "Sorting"}, format="json")
    assert r.status_code == 201 and r.json()["kind"] == "tracking"
    assert platform.post(url, {"status": "teleported"}, format="json").status_code == 400
    assert platform.post(url, {"status": "delivered"}, format="json").status_code == 201
    detail = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/").json()
    assert detail["state"] == "delivered"
    tracking = [e for e in detail["timeline"] if e["kind"] == "tracking"]
    assert [e["data"]["status"] for e in tracking] == ["in_transit", "delivered"]
    assert tracking[0]["data"]["location"] == "Kazan"
    pending = order_in(shop, S.AWAITING_PACKAGING)
    r = platform.post(f"/api/v1/integration/shops/{shop.pk}/orders/{pending.pk}/tracking-events/",
                      {"status": "in_transit"}, format="json")  # fmt: skip
    assert r.status_code == 409


def test_integration_return_request(shop, platform):
    order = order_in(shop, S.DELIVERED, quantity=2)
    line = order.lines.get()
    url = f"/api/v1/integration/shops/{shop.pk}/orders/{order.pk}/returns/"
    r = platform.post(url, {"reason": "Too big", "lines": [{"line": line.pk, "quantity": 2}]}, format="json")
    assert r.status_code == 201 and r.json()["state"] == "requested"
    r = platform.post(url, {"reason": "Again", "lines": [{"line": line.pk, "quantity": 1}]}, format="json")
    assert r.status_code == 400


# -- member API ---------------------------------------------------------------------------------


def test_transition_contract_and_409(shop):
    api = api_client_for(shop.owner)
    order = order_in(shop, S.AWAITING_PACKAGING)
    base = f"/api/v1/shops/{shop.pk}/orders/{order.pk}"
    assert api.post(f"{base}/ship/", {}, format="json").status_code == 409
    r = api.post(f"{base}/pack/", {"carrier": "CDEK"}, format="json")
    assert r.status_code == 400 and "tracking_number" in r.json()["error"]["fields"]
    r = api.post(f"{base}/pack/", {"carrier": "CDEK", "tracking_number": "T-9"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_deliver"
    r = api.post(f"{base}/ship/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "delivering"
    r = api.post(f"{base}/cancel/", {"reason": "buyer_request"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert api.post(f"{base}/deliver/", {}, format="json").json()["state"] == "delivered"
    kinds = [e["kind"] for e in api.get(f"{base}/").json()["timeline"]]
    assert kinds == ["created", "packed", "shipped", "delivered"]


def test_cancel_contract(shop):
    api = api_client_for(shop.owner)
    order = order_in(shop, S.AWAITING_DELIVER)
    url = f"/api/v1/shops/{shop.pk}/orders/{order.pk}/cancel/"
    assert api.post(url, {"reason": "nope"}, format="json").status_code == 400
    assert api.post(url, {"reason": "other"}, format="json").status_code == 400
    r = api.post(url, {"reason": "other", "comment": "Duplicate"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["cancel_reason"] == "other"


@pytest.mark.parametrize(
    "role,masked", [("owner", False), ("admin", False), ("operator", False), ("support", False),
                    ("finance", True), ("viewer", True)],
)  # fmt: skip
def test_buyer_contact_masked_per_role(shop, members, role, masked):
    order = order_in(shop, S.AWAITING_PACKAGING)
    api = api_client_for(members[role].user)
    listed = api.get(f"/api/v1/shops/{shop.pk}/orders/").json()["results"][0]["buyer"]
    detail = api.get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/").json()["buyer"]
    for buyer in (listed, detail):
        assert buyer["masked"] is masked
        if masked:
            assert (
                BUYER["name"] not in str(buyer) and "345" not in buyer["phone"] and "Tverskaya" not in buyer["address"]
            )
            assert buyer["phone"].endswith("89")
        else:
            assert (buyer["name"], buyer["phone"], buyer["address"]) == (
                BUYER["name"],
                BUYER["phone"],
                BUYER["address"],
            )
    # Masked members cannot find orders by the buyer's name either.
    found = api.get(f"/api/v1/shops/{shop.pk}/orders/", {"search": "Petrov"}).json()["results"]
    assert len(found) == (0 if masked else 1)


def test_list_filters_sort_and_cursor(shop):
    sku, wh = make_sku(shop, stock=100)
    sku2, wh2 = make_sku(shop, stock=100)
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/orders/"
    a = intake(shop, sku, delivery_method="express", external_id="EXT-A")
    b = intake(shop, sku2, delivery_method="pickup", external_id="EXT-B")
    c = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    Order.objects.for_shop(shop).filter(pk=a.pk).update(ship_by=timezone.now() - timedelta(hours=1),
                                                        created_at=timezone.now() - timedelta(days=3))  # fmt: skip

    def ids(**params):
        r = api.get(url, params)
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["results"]]

    assert ids() == [c.pk, b.pk, a.pk]
    assert ids(sort="id") == [a.pk, b.pk, c.pk]
    assert ids(state="awaiting_deliver") == [c.pk]
    assert ids(state="awaiting_packaging,awaiting_deliver") == [c.pk, b.pk, a.pk]
    assert ids(delivery_method="pickup") == [b.pk]
    assert ids(overdue="true") == [a.pk] and set(ids(overdue="false")) == {b.pk, c.pk}
    assert ids(warehouse=wh2.pk) == [b.pk]
    assert ids(search=sku2.code) == [b.pk] and ids(search="EXT-A") == [a.pk] and ids(search=c.number) == [c.pk]
    assert ids(date_to=(timezone.now() - timedelta(days=2)).date().isoformat()) == [a.pk]
    assert set(ids(date_from=timezone.now().date().isoformat())) == {b.pk, c.pk}
    assert api.get(url, {"state": "lost"}).status_code == 400
    assert api.get(url, {"sort": "buyer_name"}).status_code == 400
    assert api.get(url, {"date_from": "yesterday"}).status_code == 400
    for bad in ({"date_from": "2026-02-30"}, {"warehouse": "²"}, {"warehouse": "99999999999999999999"}):
        r = api.get(url, bad)
        assert r.status_code == 400 and set(r.json()["error"]["fields"]) == set(bad), r.content
    assert api.get(f"/api/v1/shops/{shop.pk}/returns/", {"order": "x"}).status_code == 400
    listed = api.get(url, {"overdue": "1"}).json()["results"][0]
    assert listed["is_overdue"] is True
    # cursor pagination
    first = api.get(url, {"page_size": 2}).json()
    assert [o["id"] for o in first["results"]] == [c.pk, b.pk] and first["next"]
    second = api.get(first["next"]).json()
    assert [o["id"] for o in second["results"]] == [a.pk] and second["next"] is None


def test_member_limited_to_a_warehouse_sees_only_its_orders(shop):
    from accounts import services as accounts
    from tests.fixtures import owner_actor

    sku, wh = make_sku(shop, stock=10)
    sku2, wh2 = make_sku(shop, stock=10)
    mine = intake(shop, sku)
    theirs = intake(shop, sku2)
    member = make_member(shop, "operator")
    accounts.staff_update(actor=owner_actor(shop), membership=member, scopes={"warehouse": [wh.pk]})
    api = api_client_for(member.user)
    listed = [o["id"] for o in api.get(f"/api/v1/shops/{shop.pk}/orders/").json()["results"]]
    assert listed == [mine.pk]
    assert api.get(f"/api/v1/shops/{shop.pk}/orders/{theirs.pk}/").status_code == 404
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/{theirs.pk}/cancel/", {"reason": "buyer_request"}, format="json")
    assert r.status_code == 404
    for verb, body in (("pack", {"carrier": "C", "tracking_number": "T"}), ("confirm", {}), ("ship", {})):
        assert api.post(f"/api/v1/shops/{shop.pk}/orders/{theirs.pk}/{verb}/", body, format="json").status_code == 404
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-pack/",
                 {"orders": [{"id": theirs.pk, "carrier": "C", "tracking_number": "T"}]}, format="json")  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["fields"] == {str(theirs.pk): ["Not found."]}
    theirs.refresh_from_db()
    assert theirs.state == S.AWAITING_PACKAGING and not theirs.tracking_number
    assert OrderEvent.objects.for_shop(shop).filter(order=theirs).count() == 1  # created, nothing since
    assert api.post(f"/api/v1/shops/{shop.pk}/orders/{mine.pk}/cancel/", {"reason": "buyer_request"},
                    format="json").status_code == 200  # fmt: skip


def test_bulk_confirm_and_pack(shop):
    shop.auto_confirm_orders = False
    shop.save()
    sku, _wh = make_sku(shop, stock=10)
    api = api_client_for(shop.owner)
    a, b = intake(shop, sku), intake(shop, sku)
    done = order_in(shop, S.DELIVERING, sku=sku)
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-confirm/", {"ids": [a.pk, b.pk, done.pk, 99999]}, format="json")
    assert r.status_code == 200
    assert sorted(r.json()["done"]) == sorted([a.pk, b.pk])
    assert r.json()["failed"][str(done.pk)]["code"] == "invalid_transition" and "99999" in r.json()["failed"]
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-pack/",
                 {"orders": [{"id": a.pk, "carrier": "C", "tracking_number": "T1"},
                             {"id": b.pk, "carrier": "C", "tracking_number": "T2"}]}, format="json")  # fmt: skip
    assert sorted(r.json()["done"]) == sorted([a.pk, b.pk])
    assert set(Order.objects.for_shop(shop).filter(pk__in=[a.pk, b.pk]).values_list("state", flat=True)) == {
        S.AWAITING_DELIVER
    }
    # Nothing done: an error naming each refusal, not a 200 (409; 404 when no id named a reachable order).
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-confirm/", {"ids": [a.pk, 99999]}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "nothing_done")
    assert r.json()["error"]["message"] == "0 confirmed, 2 skipped."
    assert r.json()["error"]["fields"] == {str(a.pk): ["Cannot confirm an order that is awaiting handover."],
                                           "99999": ["Not found."]}  # fmt: skip
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-pack/",
                 {"orders": [{"id": 99999, "carrier": "C", "tracking_number": "T3"}]}, format="json")  # fmt: skip
    assert (r.status_code, r.json()["error"]["fields"]) == (404, {"99999": ["Not found."]})


def test_returns_api_flow(shop):
    sku, wh = make_sku(shop, stock=10)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=2, unit_price="50.00")
    api = api_client_for(shop.owner)
    base = f"/api/v1/shops/{shop.pk}/returns/"
    line = order.lines.get()
    r = api.post(
        base, {"order": order.pk, "reason": "Size", "lines": [{"line": line.pk, "quantity": 1}]}, format="json"
    )
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert api.post(f"{base}{rid}/receive/", {"warehouse": wh.pk}, format="json").status_code == 409
    assert api.post(f"{base}{rid}/approve/", {}, format="json").json()["state"] == "approved"
    r = api.post(f"{base}{rid}/receive/", {"lines": [{"id": r.json()["lines"][0]["id"], "warehouse": wh.pk}]},
                 format="json")  # fmt: skip
    assert r.status_code == 200 and r.json()["lines"][0]["disposition"] == "restock"
    assert Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh).on_hand == 9
    r = api.post(f"{base}{rid}/refund/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "refunded"
    refunds = api.get(f"/api/v1/shops/{shop.pk}/refunds/", {"order": order.pk}).json()["results"]
    assert [x["amount"] for x in refunds] == ["50.00"]
    assert api.get(base, {"state": "refunded"}).json()["results"][0]["id"] == rid
    assert api.get(base, {"state": "nonsense"}).status_code == 400


def test_refund_api_caps_at_paid(shop):
    order = order_in(shop, S.DELIVERED, unit_price="100.00")
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/refunds/"
    r = api.post(url, {"order": order.pk, "amount": "100.01", "reason": "x"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "refund_exceeds_paid"
    r = api.post(url, {"order": order.pk, "amount": "100.00", "reason": "Full"}, format="json")
    assert r.status_code == 201 and r.json()["actor"] == shop.owner.username
    assert api.post(url, {"order": order.pk, "amount": "-1", "reason": "x"}, format="json").status_code == 400
    assert api.post(url, {"order": 0, "amount": "1", "reason": "x"}, format="json").status_code == 400


def _download(api, shop, job_id):
    r = api.get(f"/api/v1/shops/{shop.pk}/order-exports/{job_id}/download/")
    return r.status_code, b"".join(r.streaming_content) if r.status_code == 200 else b""


def test_exports_mask_per_creator(shop, members, django_capture_on_commit_callbacks):
    order_in(shop, S.AWAITING_PACKAGING)
    operator = api_client_for(members["operator"].user)
    finance = api_client_for(members["finance"].user)
    with django_capture_on_commit_callbacks(execute=True):
        r = operator.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "csv"}, format="json")
    assert r.status_code == 201
    job = ExportJob.objects.for_shop(shop).get(pk=r.json()["id"])
    assert job.status == "done" and job.rows == 1 and job.contact_visible
    status, content = _download(operator, shop, job.pk)
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert status == 200 and rows[1][7] == BUYER["name"]
    assert _download(finance, shop, job.pk)[0] == 403  # finance may not see buyer contact
    with django_capture_on_commit_callbacks(execute=True):
        r = finance.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "xlsx", "filters": {"state": "awaiting_packaging"}},
                         format="json")  # fmt: skip
    status, content = _download(finance, shop, r.json()["id"])
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert status == 200 and values[0][7] == "buyer_name" and values[1][7] == "I•••"
    assert "Tverskaya" not in str(values)


def test_list_and_detail_queries_do_not_grow(shop):
    sku, _wh = make_sku(shop, stock=500)
    skus = [make_sku(shop, stock=50)[0] for _ in range(4)]
    for _ in range(30):
        intake(shop, sku)
    api = api_client_for(shop.owner)
    url = f"/api/v1/shops/{shop.pk}/orders/"

    def count(u, **params):
        return count_queries(api, u, **params)[0]

    assert count(url, page_size=2) == count(url, page_size=30)
    small = intake(shop, sku)
    big, _ = services.order_intake(
        actor=system_actor(shop),
        external_id="BIG",
        delivery_method="standard",
        buyer=BUYER,
        lines=[{"sku": s.code, "quantity": 1, "unit_price": "1.00"} for s in [sku, *skus]],
    )
    for o in (small, big):
        OrderEvent.objects.for_shop(shop).create(shop=shop, order=o, kind="note")
    assert count(f"{url}{small.pk}/") == count(f"{url}{big.pk}/")


def _walk(api, url, page_size: int) -> list[list[int]]:
    """Every page of a cursor-paginated list, following ``next`` to the end: the ids per page."""
    pages, r = [], api.get(url, {"page_size": page_size})
    while True:
        assert r.status_code == 200, r.content
        body = r.json()
        pages.append([row["id"] for row in body["results"]])
        if body["next"] is None:
            return pages
        assert len(pages) < 20, "next never ends"
        r = api.get(body["next"])


def test_order_return_and_refund_lists_page_through_everything_once(shop):
    """Cursor pages: full pages then the rest, no row on two pages, together every row, newest first."""
    sku, _wh = make_sku(shop, stock=50)
    owner = owner_actor(shop)
    delivered = [order_in(shop, S.DELIVERED, sku=sku) for _ in range(5)]
    returns = [return_in(shop, "requested", order=o) for o in delivered]
    refunds = [services.refund_create(actor=owner, order=o, amount="1.00", reason="Late") for o in delivered]
    orders = [*delivered, *(intake(shop, sku) for _ in range(2))]
    api = api_client_for(shop.owner)
    for path, made in (("orders", orders), ("returns", returns), ("refunds", refunds)):
        pages = _walk(api, f"/api/v1/shops/{shop.pk}/{path}/", page_size=3)
        expected = sorted((x.pk for x in made), reverse=True)
        assert [len(p) for p in pages] == [3] * (len(made) // 3) + [len(made) % 3] * (len(made) % 3 > 0), path
        flat = [pk for page in pages for pk in page]
        assert len(set(flat)) == len(flat) == len(made) and flat == expected, path


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_fast_list_matches_the_serializer(shop, members, role):
    from orders.api.serializers import OrderListSerializer, order_rows
    from orders.selectors import may_see_contact

    sku, _wh = make_sku(shop, stock=20)
    intake(shop, sku, quantity=2)
    order_in(shop, S.AWAITING_DELIVER, sku=sku)
    order_in(shop, S.CANCELLED, sku=sku)
    from backoffice.authz import load_actor

    actor = load_actor(members[role].user, shop)
    orders = list(Order.objects.for_shop(shop).prefetch_related("lines").order_by("-id"))
    api = api_client_for(members[role].user)
    listed = api.get(f"/api/v1/shops/{shop.pk}/orders/").json()["results"]
    from backoffice.tenancy.zones import shop_timezone
    from orders.api.serializers import ORDER_LIST_FIELDS
    from orders.selectors import lines_by_order

    with shop_timezone(shop):  # the API renders times in the shop's zone
        expected = OrderListSerializer(orders, many=True, context={"actor": actor}).data
        rows = list(Order.objects.for_shop(shop).order_by("-id").values(*ORDER_LIST_FIELDS))
        fast = order_rows(
            rows, lines_by_order(shop=shop, order_ids=[o.pk for o in orders]), visible=may_see_contact(actor=actor)
        )
    assert listed == fast == [dict(x) for x in expected]


def test_exports_follow_the_job_visibility_rule(shop, django_capture_on_commit_callbacks):
    """A member limited to a warehouse who may export neither lists nor downloads an all-warehouse
    export; they see their own and another member's whose scope lies within theirs."""
    north_sku, north = make_sku(shop, stock=10)
    south_sku, south = make_sku(shop, stock=10)
    north_order = order_in(shop, S.AWAITING_PACKAGING, sku=north_sku)
    south_order = order_in(shop, S.AWAITING_PACKAGING, sku=south_sku)
    owner = api_client_for(shop.owner)
    clerk = api_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user)
    colleague = api_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user)
    wider = api_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk, south.pk]}).user)
    url = f"/api/v1/shops/{shop.pk}/order-exports/"

    def export(client) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(url, {"format": "csv"}, format="json")
        assert r.status_code == 201, r.content
        return r.json()["id"]

    everything, own, within, beyond = export(owner), export(clerk), export(colleague), export(wider)
    assert ExportJob.objects.for_shop(shop).get(pk=everything).scope == {}
    listed = {j["id"] for j in clerk.get(url).json()["results"]}
    assert listed == {own, within}
    for job_id in (everything, beyond):
        assert clerk.get(f"{url}{job_id}/").status_code == 404
        assert _download(clerk, shop, job_id)[0] == 404
    status, content = _download(clerk, shop, own)
    assert status == 200 and north_order.number in content.decode() and south_order.number not in content.decode()
    assert _download(clerk, shop, within)[0] == 200
    # The owner (not limited) sees every export.
    assert {j["id"] for j in owner.get(url).json()["results"]} == {everything, own, within, beyond}
    status, content = _download(owner, shop, everything)
    assert status == 200 and south_order.number in content.decode()


def test_export_cells_cannot_run_as_formulas(shop, django_capture_on_commit_callbacks):
    sku, _wh = make_sku(shop, stock=5)
    intake(shop, sku, buyer={"name": '=HYPERLINK("http://x")', "phone": "+7 900", "address": "@here"})
    api = api_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "csv"}, format="json").json()["id"]
    rows = list(csv.reader(io.StringIO(_download(api, shop, job_id)[1].decode("utf-8-sig"))))
    assert rows[1][7].startswith("'=") and rows[1][8] == "'+7 900" and rows[1][9] == "'@here"


@pytest.mark.parametrize("final", [S.DELIVERED, S.CANCELLED])
def test_delivered_and_cancelled_orders_refuse_every_move_with_409(shop, final):
    order = order_in(shop, final)
    api = api_client_for(shop.owner)
    base = f"/api/v1/shops/{shop.pk}/orders/{order.pk}"
    timeline = api.get(f"{base}/").json()["timeline"]
    for verb, body in (("confirm", {}), ("pack", {"carrier": "C", "tracking_number": "T"}), ("ship", {}),
                       ("deliver", {}), ("cancel", {"reason": "buyer_request"})):  # fmt: skip
        r = api.post(f"{base}/{verb}/", body, format="json")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition"), verb
    r = api.post(f"/api/v1/shops/{shop.pk}/orders/bulk-confirm/", {"ids": [order.pk]}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
    assert list(r.json()["error"]["fields"]) == [str(order.pk)]
    after = api.get(f"{base}/").json()
    assert (after["state"], after["timeline"]) == (final, timeline)


def test_a_return_after_the_return_window_is_409(shop, platform):
    """SPEC §1/§3: the shop's return window runs from delivery; after it a return is refused with 409
    (members and the storefront alike) and nothing is created."""
    from accounts import services as accounts

    accounts.shop_update(actor=owner_actor(shop), return_window_days=7)
    sku, _wh = make_sku(shop, stock=10)
    late, inside = order_in(shop, S.DELIVERED, sku=sku), order_in(shop, S.DELIVERED, sku=sku)
    now = timezone.now()
    Order.objects.for_shop(shop).filter(pk=late.pk).update(delivered_at=now - timedelta(days=7, minutes=1))
    Order.objects.for_shop(shop).filter(pk=inside.pk).update(delivered_at=now - timedelta(days=6, hours=23))
    api = api_client_for(shop.owner)

    def body(order):
        return {"order": order.pk, "reason": "Size", "lines": [{"line": order.lines.get().pk, "quantity": 1}]}

    r = api.post(f"/api/v1/shops/{shop.pk}/returns/", body(late), format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "return_window_closed")
    r = platform.post(f"/api/v1/integration/shops/{shop.pk}/orders/{late.pk}/returns/",
                      {k: v for k, v in body(late).items() if k != "order"}, format="json")  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (409, "return_window_closed")
    assert not Return.objects.for_shop(shop).filter(order=late).exists()
    assert api.post(f"/api/v1/shops/{shop.pk}/returns/", body(inside), format="json").status_code == 201
