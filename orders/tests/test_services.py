"""Order services: intake, the state machine, stock effects, timeline, returns, refunds."""

from decimal import Decimal

import pytest

from accounts.models import AuditEntry
from backoffice.authz import can, load_actor, system_actor
from backoffice.errors import Conflict, Forbidden, NotFound, ValidationFailed
from catalog.models import Stock
from orders import selectors, services
from orders.models import Order, OrderEvent, Refund, Return
from orders.tests.factories import BUYER, intake, make_sku, order_in, return_in
from tests.fixtures import make_member, owner_actor

pytestmark = pytest.mark.django_db
S = Order.State


def stock_of(sku, wh):
    return Stock.objects.for_shop(sku.shop_id).get(sku=sku, warehouse=wh)


def test_intake_reserves_keeps_prices_and_logs(shop):
    sku, wh = make_sku(shop, stock=5, price="1000.00")
    order = intake(shop, sku, quantity=2, unit_price="990.00")
    assert order.state == S.AWAITING_PACKAGING  # auto-confirm is on by default
    assert order.total == Decimal("1980.00") and order.number == f"{order.pk:08d}"
    line = order.lines.get()
    assert (line.sku_code, line.quantity, line.unit_price) == (sku.code, 2, Decimal("990.00"))
    assert order.allocations.get().warehouse == wh
    st = stock_of(sku, wh)
    assert (st.on_hand, st.reserved, st.available) == (5, 2, 3)
    assert order.ship_by > order.created_at
    assert OrderEvent.objects.for_shop(shop).filter(order=order, kind="created", to_state=S.AWAITING_PACKAGING).exists()
    assert AuditEntry.objects.for_shop(shop).filter(action="order.created", target_id=str(order.pk)).count() == 1


def test_intake_waits_for_confirmation_when_auto_confirm_is_off(shop):
    shop.auto_confirm_orders = False
    shop.save()
    sku, _wh = make_sku(shop)
    order = intake(shop, sku)
    assert order.state == S.AWAITING_CONFIRMATION
    order = services.order_confirm(actor=owner_actor(shop), order=order)
    assert order.state == S.AWAITING_PACKAGING


def test_intake_same_external_id_returns_the_existing_order(shop):
    sku, wh = make_sku(shop, stock=5)
    first = intake(shop, sku, external_id="MP-1")
    again, created = services.order_intake(
        actor=system_actor(shop),
        external_id="MP-1",
        delivery_method="express",
        buyer=BUYER,
        lines=[{"sku": sku.code, "quantity": 3, "unit_price": "1.00"}],
    )
    assert not created and again.pk == first.pk
    assert Order.objects.for_shop(shop).count() == 1 and stock_of(sku, wh).reserved == 1


def test_intake_refuses_whole_order_when_one_line_lacks_stock(shop):
    a, wa = make_sku(shop, stock=5)
    b, wb = make_sku(shop, stock=1)
    with pytest.raises(Conflict) as exc:
        services.order_intake(
            actor=system_actor(shop),
            external_id="X",
            delivery_method="standard",
            buyer=BUYER,
            lines=[
                {"sku": a.code, "quantity": 2, "unit_price": "1.00"},
                {"sku": b.code, "quantity": 2, "unit_price": "1.00"},
            ],
        )
    assert exc.value.code == "out_of_stock" and "lines.1.quantity" in exc.value.fields
    assert stock_of(a, wa).reserved == 0 and stock_of(b, wb).reserved == 0
    assert not Order.objects.for_shop(shop).exists()


@pytest.mark.parametrize(
    "lines,buyer,method,field",
    [
        ([{"sku": "NOPE", "quantity": 1, "unit_price": "1"}], BUYER, "standard", "lines.0.sku"),
        ([{"sku": "{code}", "quantity": 0, "unit_price": "1"}], BUYER, "standard", "lines.0.quantity"),
        ([{"sku": "{code}", "quantity": 1, "unit_price": "-1"}], BUYER, "standard", "lines.0.unit_price"),
        ([{"sku": "{code}", "quantity": 1, "unit_price": "1"}], BUYER, "teleport", "delivery_method"),
        (
            [{"sku": "{code}", "quantity": 1, "unit_price": "1"}],
            {"name": "A", "phone": "1"},
            "standard",
            "buyer.address",
        ),
        ([], BUYER, "standard", "lines"),
    ],
)
def test_intake_validates_meaning(shop, lines, buyer, method, field):
    sku, _wh = make_sku(shop)
    lines = [{**line, "sku": line["sku"].format(code=sku.code)} for line in lines]
    with pytest.raises(ValidationFailed) as exc:
        services.order_intake(
            actor=system_actor(shop), external_id="V1", delivery_method=method, buyer=buyer, lines=lines
        )
    assert field in exc.value.fields


def test_pickup_needs_no_address(shop):
    sku, _wh = make_sku(shop)
    order = intake(shop, sku, delivery_method="pickup", buyer={"name": "A", "phone": "1"})
    assert order.buyer_address == ""


def test_full_path_ships_stock_and_builds_timeline(shop):
    sku, wh = make_sku(shop, stock=3)
    actor = owner_actor(shop)
    order = intake(shop, sku, quantity=2)
    order = services.order_pack(actor=actor, order=order, carrier="CDEK", tracking_number="T1")
    assert (order.state, order.carrier, order.tracking_number) == (S.AWAITING_DELIVER, "CDEK", "T1")
    order = services.order_ship(actor=actor, order=order)
    st = stock_of(sku, wh)
    assert order.state == S.DELIVERING and (st.on_hand, st.reserved) == (1, 0)
    services.order_tracking_event(actor=system_actor(shop), order=order, status="in_transit", message="Sorting centre")
    services.order_tracking_event(actor=system_actor(shop), order=order, status="delivered")
    order.refresh_from_db()
    assert order.state == S.DELIVERED and order.delivered_at
    kinds = list(OrderEvent.objects.for_shop(shop).filter(order=order).order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "packed", "shipped", "tracking", "tracking", "delivered"]
    shipped = OrderEvent.objects.for_shop(shop).get(order=order, kind="shipped")
    assert (shipped.from_state, shipped.to_state, shipped.actor) == (S.AWAITING_DELIVER, S.DELIVERING, shop.owner)


def test_illegal_transitions_answer_conflict(shop):
    actor = owner_actor(shop)
    order = order_in(shop, S.AWAITING_PACKAGING)
    for call in (
        lambda: services.order_ship(actor=actor, order=order),
        lambda: services.order_deliver(actor=actor, order=order),
        lambda: services.order_confirm(actor=actor, order=order),
    ):
        with pytest.raises(Conflict):
            call()
    delivering = order_in(shop, S.DELIVERING)
    with pytest.raises(Conflict):
        services.order_cancel(actor=actor, order=delivering, reason="buyer_request")


def test_pack_split_must_cover_every_unit(shop):
    actor = owner_actor(shop)
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku, quantity=3)
    line = order.lines.get()
    with pytest.raises(ValidationFailed):
        services.order_pack(
            actor=actor,
            order=order,
            carrier="C",
            tracking_number="T",
            packages=[{"tracking_number": "P1", "lines": [{"line": line.pk, "quantity": 2}]}],
        )
    order = services.order_pack(
        actor=actor,
        order=order,
        carrier="C",
        tracking_number="T",
        packages=[
            {"tracking_number": "P1", "lines": [{"line": line.pk, "quantity": 2}]},
            {"tracking_number": "P2", "lines": [{"line": line.pk, "quantity": 1}]},
        ],
    )
    assert [p["tracking_number"] for p in order.packages] == ["P1", "P2"]


def test_cancel_releases_reservation_and_needs_reason(shop):
    sku, wh = make_sku(shop, stock=2)
    actor = owner_actor(shop)
    order = intake(shop, sku, quantity=2)
    with pytest.raises(ValidationFailed):
        services.order_cancel(actor=actor, order=order, reason="bored")
    with pytest.raises(ValidationFailed):
        services.order_cancel(actor=actor, order=order, reason="other")
    order = services.order_cancel(actor=actor, order=order, reason="other", comment="Fraud check")
    st = stock_of(sku, wh)
    assert order.state == S.CANCELLED and (order.cancel_reason, order.cancel_comment) == ("other", "Fraud check")
    assert (st.on_hand, st.reserved) == (2, 0)


def test_overdue_flag(shop):
    from datetime import timedelta

    from django.utils import timezone

    sku, _wh = make_sku(shop)
    order = intake(shop, sku, delivery_method="express")
    assert not order.is_overdue
    from orders.selectors import overdue_count

    assert overdue_count(shop=shop, actor=owner_actor(shop)) == 0
    Order.objects.for_shop(shop).filter(pk=order.pk).update(ship_by=timezone.now() - timedelta(minutes=1))
    order.refresh_from_db()
    assert order.is_overdue and overdue_count(shop=shop, actor=owner_actor(shop)) == 1
    services.order_pack(actor=owner_actor(shop), order=order, carrier="C", tracking_number="T")
    services.order_ship(actor=owner_actor(shop), order=order)
    assert overdue_count(shop=shop, actor=owner_actor(shop)) == 0  # handed over: no longer late


def test_partial_return_restocks_and_refunds(shop):
    sku, wh = make_sku(shop, stock=5)
    actor = owner_actor(shop)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=3, unit_price="100.00")
    assert stock_of(sku, wh).on_hand == 2
    line = order.lines.get()
    ret = services.return_request(actor=actor, order=order, lines=[{"line": line.pk, "quantity": 2}], reason="Size")
    with pytest.raises(ValidationFailed):  # only one unit left to return
        services.return_request(actor=actor, order=order, lines=[{"line": line.pk, "quantity": 2}], reason="More")
    with pytest.raises(Conflict):
        services.return_receive(actor=actor, ret=ret, warehouse=wh)  # not approved yet
    ret = services.return_approve(actor=actor, ret=ret)
    ret = services.return_receive(actor=actor, ret=ret, warehouse=wh)
    assert stock_of(sku, wh).on_hand == 4
    line.refresh_from_db()
    assert line.returned_quantity == 2
    ret, refund = services.return_refund(actor=actor, ret=ret)
    order.refresh_from_db()
    assert ret.state == Return.State.REFUNDED and refund.amount == Decimal("200.00")
    assert order.refunded_total == Decimal("200.00")


def test_return_written_off_does_not_restock(shop):
    sku, wh = make_sku(shop, stock=5)
    order = order_in(shop, S.DELIVERED, sku=sku)
    ret = return_in(shop, Return.State.APPROVED, order=order)
    services.return_receive(actor=owner_actor(shop), ret=ret, warehouse=None)
    assert stock_of(sku, wh).on_hand == 4
    assert ret.lines.get().disposition == "write_off"


def test_return_only_for_delivered_orders(shop):
    order = order_in(shop, S.DELIVERING)
    with pytest.raises(Conflict):
        services.return_request(
            actor=owner_actor(shop), order=order, lines=[{"line": order.lines.get().pk, "quantity": 1}], reason="x"
        )


def test_rejected_return_frees_its_units(shop):
    ret = return_in(shop, Return.State.REJECTED)
    again = services.return_request(
        actor=owner_actor(shop),
        order=ret.order,
        lines=[{"line": ret.order.lines.get().pk, "quantity": 1}],
        reason="Second try",
    )
    assert again.state == Return.State.REQUESTED


def test_refunds_never_exceed_paid(shop):
    actor = owner_actor(shop)
    order = order_in(shop, S.DELIVERED, unit_price="100.00")
    services.refund_create(actor=actor, order=order, amount="60.00", reason="Late")
    with pytest.raises(Conflict) as exc:
        services.refund_create(actor=actor, order=order, amount="40.01", reason="More")
    assert exc.value.code == "refund_exceeds_paid"
    services.refund_create(actor=actor, order=order, amount="40.00", reason="Rest")
    order.refresh_from_db()
    assert order.refunded_total == order.total == Decimal("100.00")
    with pytest.raises(ValidationFailed):
        services.refund_create(actor=actor, order=order, amount="0", reason="Zero")
    assert Refund.objects.for_shop(shop).filter(order=order).count() == 2
    assert AuditEntry.objects.for_shop(shop).filter(action="refund.created").count() == 2


def test_a_warehouse_scoped_member_puts_returns_back_only_into_their_warehouses(shop):
    sku, north = make_sku(shop, stock=5)
    _other_sku, south = make_sku(shop, stock=5)
    ret = return_in(shop, Return.State.APPROVED, order=order_in(shop, Order.State.DELIVERED, sku=sku))
    clerk = load_actor(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user, shop)
    with pytest.raises(Forbidden) as exc:
        services.return_receive(actor=clerk, ret=ret, warehouse=south)
    assert exc.value.code == "out_of_scope"
    assert not Stock.objects.for_shop(shop).filter(sku=sku, warehouse=south).exists()
    ret = services.return_receive(actor=clerk, ret=ret, warehouse=north)
    assert ret.state == Return.State.RECEIVED


# -- the one checker: scope, actors, the state machine as offered -------------------------------


def _north_and_south(shop):
    """An order allocated in the north warehouse, one in the south, and an operator limited to the north."""
    north_sku, north = make_sku(shop, stock=10)
    south_sku, south = make_sku(shop, stock=10)
    mine = order_in(shop, S.AWAITING_PACKAGING, sku=north_sku)
    theirs = order_in(shop, S.AWAITING_PACKAGING, sku=south_sku)
    clerk = load_actor(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user, shop)
    return mine, theirs, clerk


def test_can_places_an_order_in_a_warehouse_scope_by_its_allocations(shop):
    mine, theirs, clerk = _north_and_south(shop)
    assert can(clerk, "orders.process", mine) and not can(clerk, "orders.process", theirs)
    assert can(owner_actor(shop), "orders.process", theirs)
    assert [o.pk for o in selectors.order_list(shop=shop, actor=clerk)] == [mine.pk]
    assert selectors.order_get(shop=shop, actor=clerk, pk=theirs.pk) is None


def test_a_warehouse_scoped_member_cannot_act_on_an_order_outside_their_warehouses(shop):
    mine, theirs, clerk = _north_and_south(shop)
    for call in (
        lambda: services.order_pack(actor=clerk, order=theirs, carrier="C", tracking_number="T"),
        lambda: services.order_cancel(actor=clerk, order=theirs, reason="buyer_request"),
    ):
        with pytest.raises(Forbidden) as exc:
            call()
        assert exc.value.code == "out_of_scope"
    theirs.refresh_from_db()
    assert theirs.state == S.AWAITING_PACKAGING and not theirs.tracking_number
    assert services.order_pack(actor=clerk, order=mine, carrier="C", tracking_number="T").state == S.AWAITING_DELIVER
    # Bulk moves reach only what the member may process: the other order reads as missing.
    result = services.order_confirm_many(actor=clerk, ids=[theirs.pk])
    assert result == {"done": [], "failed": {str(theirs.pk): {"code": "not_found", "message": "Not found."}}}


def test_services_refuse_a_bare_user(shop):
    order = order_in(shop, S.AWAITING_PACKAGING)
    for call in (
        lambda: services.order_confirm(actor=shop.owner, order=order),
        lambda: services.order_pack(actor=shop.owner, order=order, carrier="C", tracking_number="T"),
        lambda: services.order_cancel(actor=shop.owner, order=order, reason="buyer_request"),
        lambda: services.refund_create(actor=shop.owner, order=order, amount="1.00", reason="x"),
        lambda: services.order_intake(
            actor=shop.owner, external_id="U1", delivery_method="standard", buyer=BUYER, lines=[]
        ),
        lambda: services.export_create(actor=shop.owner, fmt="csv"),
        lambda: services.overdue_scan(actor=shop.owner),
        lambda: services.order_confirm(actor=None, order=order),
    ):
        with pytest.raises(TypeError):
            call()
    order.refresh_from_db()
    assert order.state == S.AWAITING_PACKAGING and not Refund.objects.for_shop(shop).exists()


def test_services_refuse_another_shops_order_and_a_missing_action(shop, other_shop, members):
    order = order_in(shop, S.AWAITING_PACKAGING)
    with pytest.raises(NotFound):
        services.order_cancel(actor=owner_actor(other_shop), order=order, reason="buyer_request")
    viewer = load_actor(members["viewer"].user, shop)
    with pytest.raises(Forbidden):
        services.order_cancel(actor=viewer, order=order, reason="buyer_request")
    order.refresh_from_db()
    assert order.state == S.AWAITING_PACKAGING


def test_intake_and_tracking_are_for_the_integration_only(shop):
    sku, _wh = make_sku(shop)
    with pytest.raises(Forbidden):
        services.order_intake(actor=owner_actor(shop), external_id="M1", delivery_method="standard", buyer=BUYER,
                              lines=[{"sku": sku.code, "quantity": 1, "unit_price": "1.00"}])  # fmt: skip
    order = order_in(shop, S.DELIVERING, sku=sku)
    with pytest.raises(Forbidden):
        services.order_tracking_event(actor=owner_actor(shop), order=order, status="delivered")
    assert not Order.objects.for_shop(shop).filter(external_id="M1").exists()


def test_stock_effects_name_the_member(shop):
    from catalog.models import StockMovement

    sku, _wh = make_sku(shop, stock=3)
    order = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    services.order_ship(actor=owner_actor(shop), order=order)
    shipped = StockMovement.objects.for_shop(shop).get(reference=f"order:{order.number}", kind="shipment")
    assert shipped.actor == shop.owner
    entry = AuditEntry.objects.for_shop(shop).get(action="stock.shipped")
    assert entry.actor == shop.owner and entry.membership is None  # the system, for the member


@pytest.mark.parametrize(
    "state,offered",
    [
        # Paid orders: money can go back in any state while some is left to refund.
        (S.AWAITING_CONFIRMATION, {"confirm", "cancel", "slip", "refund"}),
        (S.AWAITING_PACKAGING, {"pack", "cancel", "slip", "refund"}),
        (S.AWAITING_DELIVER, {"ship", "cancel", "slip", "track", "correct_tracking", "refund"}),
        (S.DELIVERING, {"deliver", "slip", "track", "correct_tracking", "refund"}),
        (S.DELIVERED, {"return", "refund", "slip", "track"}),
        (S.CANCELLED, {"refund", "slip"}),
    ],
)
def test_order_actions_follow_the_state_machine(shop, state, offered):
    order = order_in(shop, state)
    may = selectors.order_actions(actor=owner_actor(shop), order=order)
    assert {name for name, ok in may.items() if ok} == offered


def test_order_actions_follow_role_and_scope(shop, members):
    mine, theirs, clerk = _north_and_south(shop)
    assert selectors.order_actions(actor=clerk, order=mine)["pack"]
    assert not any(selectors.order_actions(actor=clerk, order=theirs).values())
    viewer = load_actor(members["viewer"].user, shop)
    assert not any(selectors.order_actions(actor=viewer, order=mine).values())
    ret = return_in(shop, Return.State.RECEIVED)
    finance = load_actor(members["finance"].user, shop)
    assert {k for k, v in selectors.return_actions(actor=finance, ret=ret).items() if v} == {"refund"}
    support = load_actor(members["support"].user, shop)
    assert {k for k, v in selectors.return_actions(actor=support, ret=ret).items() if v} == {"exchange"}


# -- SPEC rules with exact numbers ------------------------------------------------------------------


def _stock_row(sku, wh) -> tuple[int, int, int]:
    st = stock_of(sku, wh)
    return st.on_hand, st.reserved, st.available


def _movements(shop, **filters) -> list[tuple]:
    from catalog.models import StockMovement

    rows = StockMovement.objects.for_shop(shop).filter(**filters).order_by("id")
    return list(rows.values_list("kind", "sku_id", "warehouse_id", "on_hand_delta", "reserved_delta", "on_hand_after",
                                 "reserved_after", "reference"))  # fmt: skip


def test_receiving_a_return_adds_stock_with_a_return_movement(shop):
    """SPEC §2: every stock change is a movement, ``return`` among them. The units go back to the
    warehouse the member chose (here not the one they were shipped from), on hand only."""
    sku, shipped_from = make_sku(shop, stock=5)
    _other, back_to = make_sku(shop, stock=0)
    actor = owner_actor(shop)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=3)
    line = order.lines.get()
    ret = services.return_request(actor=actor, order=order, lines=[{"line": line.pk, "quantity": 2}], reason="Size")
    ret = services.return_approve(actor=actor, ret=ret)
    assert _movements(shop, kind="return") == []
    services.return_receive(actor=actor, ret=ret, warehouse=back_to)
    assert _movements(shop, kind="return") == [("return", sku.pk, back_to.pk, 2, 0, 2, 0, f"return:{ret.pk}")]
    assert _stock_row(sku, shipped_from) == (2, 0, 2) and _stock_row(sku, back_to) == (2, 0, 2)
    line.refresh_from_db()
    assert line.returned_quantity == 2


def test_cancelling_an_order_awaiting_confirmation_releases_its_reservation(shop):
    shop.auto_confirm_orders = False
    shop.save()
    sku, wh = make_sku(shop, stock=5)
    order = intake(shop, sku, quantity=2)
    assert order.state == S.AWAITING_CONFIRMATION and _stock_row(sku, wh) == (5, 2, 3)
    services.order_cancel(actor=owner_actor(shop), order=order, reason="buyer_request")
    assert _stock_row(sku, wh) == (5, 0, 5)
    assert _movements(shop, reference=f"order:{order.number}") == [
        ("reservation", sku.pk, wh.pk, 0, 2, 5, 2, f"order:{order.number}"),
        ("release", sku.pk, wh.pk, 0, -2, 5, 0, f"order:{order.number}"),
    ]


def test_ship_by_follows_the_delivery_method(shop):
    """Ship-by = arrival + the method's handover time (``orders.models.SHIP_WITHIN``: express 24 h,
    standard 48 h, pickup 72 h); every delivery method has one."""
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import DeliveryMethod

    sku, _wh = make_sku(shop, stock=10)
    arrived = timezone.now().replace(microsecond=0) - timedelta(hours=5)
    expected = {"express": 24, "standard": 48, "pickup": 72}
    assert set(expected) == set(DeliveryMethod.values)
    for method, hours in expected.items():
        order, _created = services.order_intake(
            actor=system_actor(shop), external_id=f"SB-{method}", delivery_method=method, buyer=BUYER,
            lines=[{"sku": sku.code, "quantity": 1, "unit_price": "1.00"}], created_at=arrived,
        )  # fmt: skip
        order.refresh_from_db()
        assert (order.created_at, order.ship_by) == (arrived, arrived + timedelta(hours=hours)), method


@pytest.mark.parametrize("final", [S.DELIVERED, S.CANCELLED])
def test_delivered_and_cancelled_are_final(shop, final):
    actor = owner_actor(shop)
    order = order_in(shop, final)
    events = OrderEvent.objects.for_shop(shop).filter(order=order).count()
    tracking = order.tracking_number
    for name, move in {
        "confirm": lambda: services.order_confirm(actor=actor, order=order),
        "pack": lambda: services.order_pack(actor=actor, order=order, carrier="C", tracking_number="T"),
        "ship": lambda: services.order_ship(actor=actor, order=order),
        "deliver": lambda: services.order_deliver(actor=actor, order=order),
        "cancel": lambda: services.order_cancel(actor=actor, order=order, reason="buyer_request"),
        "carrier delivered": lambda: services.order_tracking_event(actor=system_actor(shop), order=order,
                                                                   status="delivered"),
    }.items():  # fmt: skip
        if final == S.DELIVERED and name == "carrier delivered":
            continue  # a late tracking event joins a delivered order's timeline; it moves nothing
        with pytest.raises(Conflict) as exc:
            move()
        assert exc.value.code == "invalid_transition", name
    order.refresh_from_db()
    assert order.state == final and OrderEvent.objects.for_shop(shop).filter(order=order).count() == events
    assert order.tracking_number == tracking


def test_an_exchange_closes_the_return_with_no_money_stock_or_order_of_its_own(shop):
    """SPEC: a received return ends ``refunded`` or ``exchanged``. The replacement reaches the buyer as a
    new order from the storefront (intake), so the exchange itself refunds nothing, creates no order and
    moves no stock beyond the receipt; the exchanged units cannot be returned again."""
    sku, wh = make_sku(shop, stock=5)
    actor = owner_actor(shop)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=2, unit_price="100.00")
    ret = return_in(shop, Return.State.RECEIVED, order=order)
    stock, movements, orders = _stock_row(sku, wh), _movements(shop), Order.objects.for_shop(shop).count()
    assert stock == (4, 0, 4)  # 5 − 2 shipped + 1 received
    ret = services.return_exchange(actor=actor, ret=ret, note="Size M sent")
    assert (ret.state, ret.resolution) == (Return.State.EXCHANGED, "Size M sent")
    order.refresh_from_db()
    assert (order.state, order.refunded_total) == (S.DELIVERED, Decimal("0.00"))
    assert not Refund.objects.for_shop(shop).exists() and Order.objects.for_shop(shop).count() == orders
    assert (_stock_row(sku, wh), _movements(shop)) == (stock, movements)
    event = OrderEvent.objects.for_shop(shop).get(order=order, kind="return_exchanged")
    assert event.data["return"] == ret.pk and event.message == "Size M sent"
    assert AuditEntry.objects.for_shop(shop).filter(action="return.exchanged", target_id=str(ret.pk)).count() == 1
    for move in (
        lambda: services.return_refund(actor=actor, ret=ret),
        lambda: services.return_exchange(actor=actor, ret=ret),
    ):
        with pytest.raises(Conflict):
            move()
    with pytest.raises(ValidationFailed):  # one unit exchanged, one left to return
        services.return_request(actor=actor, order=order, lines=[{"line": order.lines.get().pk, "quantity": 2}],
                                reason="Again")  # fmt: skip
