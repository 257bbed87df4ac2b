"""Order pages: list with tabs and counts, detail with timeline and allowed actions, forms, slips."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection

from backoffice.authz import system_actor
from catalog.models import Stock
from orders import services
from orders.models import ExportJob, Order, OrderEvent, Refund, Return
from orders.tests.factories import BUYER, intake, make_sku, order_in, return_in
from tests.fixtures import count_queries, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
S = Order.State


def test_list_has_state_tabs_with_counts_and_overdue_flag(shop):
    from datetime import timedelta

    from django.utils import timezone

    sku, _wh = make_sku(shop, stock=20)
    a = intake(shop, sku)
    intake(shop, sku)
    order_in(shop, S.DELIVERING, sku=sku)
    Order.objects.for_shop(shop).filter(pk=a.pk).update(ship_by=timezone.now() - timedelta(hours=1))
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/orders/").content.decode()
    assert 'data-tab="awaiting_packaging"' in html and 'Awaiting packaging <span class="count">2</span>' in html
    assert 'Delivering <span class="count">1</span>' in html and "data-overdue" in html
    only = web.get(f"/shops/{shop.pk}/orders/", {"state": "delivering"}).content.decode()
    assert only.count("data-order=") == 1
    overdue = web.get(f"/shops/{shop.pk}/orders/", {"overdue": "1"}).content.decode()
    assert overdue.count("data-order=") == 1 and a.number in overdue
    bad = web.get(f"/shops/{shop.pk}/orders/", {"state": "lost"})
    assert bad.status_code == 302


@pytest.mark.parametrize("role,masked", [("operator", False), ("support", False), ("viewer", True), ("finance", True)])
def test_detail_masks_buyer_and_shows_allowed_actions(shop, members, role, masked):
    order = order_in(shop, S.AWAITING_PACKAGING)
    web = web_client_for(members[role].user, reauth=False)
    html = web.get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
    assert (BUYER["name"] in html) is not masked and (BUYER["phone"] in html) is not masked
    assert ("Tverskaya" in html) is not masked and ('id="masked-note"' in html) is masked
    assert ('id="pack"' in html) is (role == "operator") and ('id="cancel"' in html) is (role == "operator")
    assert 'id="timeline"' in html and 'data-kind="created"' in html
    listing = web.get(f"/shops/{shop.pk}/orders/").content.decode()
    assert (BUYER["name"] in listing) is not masked


def test_pack_form_ship_and_cancel_dialog(shop, members):
    order = order_in(shop, S.AWAITING_PACKAGING)
    web = web_client_for(members["operator"].user, reauth=False)
    base = f"/shops/{shop.pk}/orders/{order.pk}"
    r = web.post(f"{base}/pack/", {"carrier": "CDEK"})
    assert r.status_code == 400 and "This field is required" in r.content.decode()
    assert web.post(f"{base}/pack/", {"carrier": "CDEK", "tracking_number": "TRK-7"}).status_code == 302
    assert web.post(f"{base}/ship/", {"confirm": "yes"}).status_code == 302
    order.refresh_from_db()
    assert (order.state, order.tracking_number) == (S.DELIVERING, "TRK-7")
    other = order_in(shop, S.AWAITING_PACKAGING)
    r = web.post(f"/shops/{shop.pk}/orders/{other.pk}/cancel/", {"reason": "other"})
    assert r.status_code == 400 and "Required when the reason is" in r.content.decode()
    assert web.post(f"/shops/{shop.pk}/orders/{other.pk}/cancel/", {"reason": "out_of_stock"}).status_code == 302
    other.refresh_from_db()
    assert other.state == S.CANCELLED
    # An illegal transition from the UI is refused with the reason (409), not a redirect.
    r = web.post(f"/shops/{shop.pk}/orders/{other.pk}/ship/", {"confirm": "yes"})
    assert r.status_code == 409 and "Cannot ship an order that is cancelled." in r.content.decode()


def test_bulk_confirm_from_the_list(shop):
    shop.auto_confirm_orders = False
    shop.save()
    sku, _wh = make_sku(shop, stock=10)
    a, b = intake(shop, sku), intake(shop, sku)
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [a.pk, b.pk]}, follow=True)
    assert "2 confirmed, 0 skipped" in r.content.decode()
    assert set(Order.objects.for_shop(shop).values_list("state", flat=True)) == {S.AWAITING_PACKAGING}
    # Some refused: the others are confirmed (302) and each refusal is named with its reason.
    c = intake(shop, sku)
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [a.pk, c.pk]}, follow=True)
    html = r.content.decode()
    assert r.redirect_chain == [(f"/shops/{shop.pk}/orders/", 302)]
    assert "1 confirmed, 1 skipped." in html
    assert f"{a.number}: Cannot confirm an order that is awaiting packaging." in html
    assert Order.objects.for_shop(shop).get(pk=c.pk).state == S.AWAITING_PACKAGING
    # All refused: 409 with every reason, nothing changes.
    events = OrderEvent.objects.for_shop(shop).count()
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [a.pk, c.pk, 99999]})
    html = r.content.decode()
    assert r.status_code == 409 and "0 confirmed, 3 skipped." in html
    for number in (a.number, c.number):
        assert f"{number}: Cannot confirm an order that is awaiting packaging." in html
    assert "99999: Not found." in html  # an order the member cannot see is named by the id they sent
    assert OrderEvent.objects.for_shop(shop).count() == events
    # Only orders out of reach (another shop's, out of scope): 404.
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [99999]})
    assert r.status_code == 404 and "99999: Not found." in r.content.decode()


def test_packing_slips_one_and_batch_masked_per_member(shop, members):
    sku, _wh = make_sku(shop, stock=10)
    a, b = intake(shop, sku), intake(shop, sku)
    web = web_client_for(members["operator"].user, reauth=False)
    one = web.get(f"/shops/{shop.pk}/orders/{a.pk}/slip/").content.decode()
    assert one.count('class="slip"') == 1 and BUYER["address"] in one
    batch = web.get(f"/shops/{shop.pk}/orders/slips/", {"ids": f"{a.pk},{b.pk}"}).content.decode()
    assert batch.count('class="slip"') == 2
    ticked = web.get(f"/shops/{shop.pk}/orders/slips/", {"ids": [a.pk, b.pk]}).content.decode()
    assert ticked.count('class="slip"') == 2
    assert 'id="no-slips"' in web.get(f"/shops/{shop.pk}/orders/slips/").content.decode()
    admin = web_client_for(members["admin"].user, reauth=False)
    assert admin.get(f"/shops/{shop.pk}/orders/{a.pk}/slip/").status_code == 200


def test_return_pages_and_refund_form(shop, members):
    sku, wh = make_sku(shop, stock=10)
    order = order_in(shop, S.DELIVERED, sku=sku, quantity=2, unit_price="100.00")
    support = web_client_for(members["support"].user, reauth=False)
    line = order.lines.get()
    r = support.post(f"/shops/{shop.pk}/orders/{order.pk}/return/", {"reason": "Broken", f"line_{line.pk}": "1"})
    assert r.status_code == 302
    ret = Return.objects.for_shop(shop).get(order=order)
    assert support.post(f"/shops/{shop.pk}/returns/{ret.pk}/approve/").status_code == 302
    html = support.get(f"/shops/{shop.pk}/returns/{ret.pk}/").content.decode()
    assert 'id="receive"' in html and 'id="return-refund"' not in html
    support.post(f"/shops/{shop.pk}/returns/{ret.pk}/receive/", {"warehouse": str(wh.pk)})
    ret.refresh_from_db()
    assert ret.state == Return.State.RECEIVED
    listing = support.get(f"/shops/{shop.pk}/returns/").content.decode()
    assert f'data-return="{ret.pk}"' in listing
    finance = web_client_for(members["finance"].user, reauth=False)
    r = finance.post(f"/shops/{shop.pk}/orders/{order.pk}/refund/", {"amount": "500.00", "reason": "Too much"})
    assert r.status_code == 400 and "can still be refunded" in r.content.decode()
    assert (
        finance.post(f"/shops/{shop.pk}/orders/{order.pk}/refund/", {"amount": "20", "reason": "Late"}).status_code
        == 302
    )
    order.refresh_from_db()
    assert str(order.refunded_total) == "20.00"


def test_export_page_starts_a_job(shop, members, django_capture_on_commit_callbacks):
    order_in(shop, S.AWAITING_PACKAGING)
    web = web_client_for(members["finance"].user, reauth=False)
    with django_capture_on_commit_callbacks(execute=True):
        r = web.post(f"/shops/{shop.pk}/orders/exports/", {"format": "csv", "state": "awaiting_packaging"})
    assert r.status_code == 302
    html = web.get(f"/shops/{shop.pk}/orders/exports/").content.decode()
    assert "Download" in html and "Buyer contact is masked" in html and "every 2s" not in html
    web.post(f"/shops/{shop.pk}/orders/exports/", {"format": "xlsx"})  # on_commit not run: stays pending
    assert 'hx-trigger="every 2s"' in web.get(f"/shops/{shop.pk}/orders/exports/").content.decode()


def _count(web, url, **params) -> int:
    return count_queries(web, url, **params)[0]


def test_pages_do_not_grow_with_rows_or_lines(shop):
    sku, _wh = make_sku(shop, stock=100)
    extra = [make_sku(shop, stock=10)[0] for _ in range(3)]
    for _ in range(27):
        intake(shop, sku)
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/orders/"
    assert _count(web, url, page=1) == _count(web, url, page=2)  # 25 rows vs 2 rows
    small = intake(shop, sku)
    big, _ = services.order_intake(
        actor=system_actor(shop),
        external_id="BIG",
        delivery_method="standard",
        buyer=BUYER,
        lines=[{"sku": s.code, "quantity": 1, "unit_price": "1.00"} for s in [sku, *extra]],
    )
    assert _count(web, f"{url}{small.pk}/") == _count(web, f"{url}{big.pk}/")
    returns = f"/shops/{shop.pk}/returns/"
    return_in(shop, "requested", order=order_in(shop, S.DELIVERED, sku=sku))
    first = _count(web, returns)
    return_in(shop, "approved", order=order_in(shop, S.DELIVERED, sku=sku))
    return_in(shop, "received", order=order_in(shop, S.DELIVERED, sku=sku))
    assert _count(web, returns) == first


def test_filtering_by_htmx_refreshes_the_tab_counts(shop):
    sku, _wh = make_sku(shop, stock=20)
    express = intake(shop, sku, delivery_method="express")
    intake(shop, sku)
    intake(shop, sku)
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/orders/", {"delivery_method": "express"}, HTTP_HX_REQUEST="true").content.decode()
    assert html.count("data-order=") == 1 and express.number in html
    # The tabs come along, swapped out of band, counting only the filtered orders.
    assert '<nav class="tabs" id="state-tabs" hx-swap-oob="true" aria-label="State">' in html
    assert 'data-tab="all">All <span class="count">1</span>' in html
    assert "delivery_method=express&state=awaiting_packaging" in html


def test_bulk_pack_takes_one_carrier_and_a_tracking_number_per_order(shop):
    sku, _wh = make_sku(shop, stock=20)
    a, b = intake(shop, sku), intake(shop, sku)
    shipped = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/orders/bulk-pack/"
    page = web.get(url, {"ids": [a.pk, b.pk, shipped.pk]}).content.decode()
    assert page.count("data-order=") == 2 and 'id="left-out"' in page  # the one already packed is left out
    ids = f"{a.pk},{b.pk}"
    # Incomplete: nothing is packed, what was typed is kept, the missing field is named.
    r = web.post(url, {"ids": ids, "carrier": "CDEK", f"tracking_{a.pk}": "TRK-A"})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'value="TRK-A"' in html and "Enter the tracking number." in html and 'value="CDEK"' in html
    assert Order.objects.for_shop(shop).filter(state=S.AWAITING_PACKAGING).count() == 2
    r = web.post(url, {"ids": ids, "carrier": "", f"tracking_{a.pk}": "TRK-A", f"tracking_{b.pk}": "TRK-B"})
    assert r.status_code == 400 and "Name the carrier." in r.content.decode()
    r = web.post(url, {"ids": ids, "carrier": "CDEK", f"tracking_{a.pk}": "TRK-A", f"tracking_{b.pk}": "TRK-B"})
    assert r.status_code == 302 and r["Location"].endswith("?state=awaiting_deliver")
    got = {
        o.pk: (o.state, o.carrier, o.tracking_number) for o in Order.objects.for_shop(shop).filter(pk__in=[a.pk, b.pk])
    }
    assert got == {a.pk: (S.AWAITING_DELIVER, "CDEK", "TRK-A"), b.pk: (S.AWAITING_DELIVER, "CDEK", "TRK-B")}


def test_bulk_pack_with_nothing_to_pack_explains_itself(shop):
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/orders/bulk-pack/").content.decode()
    assert 'id="nothing-to-pack"' in html and "bulk-pack-form" not in html


def test_a_warehouse_scoped_member_cannot_reach_an_order_outside_their_warehouses(shop):
    north_sku, north = make_sku(shop, stock=10)
    south_sku, _south = make_sku(shop, stock=10)
    mine = order_in(shop, S.AWAITING_PACKAGING, sku=north_sku)
    theirs = order_in(shop, S.AWAITING_PACKAGING, sku=south_sku)
    web = web_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user, reauth=False)
    base = f"/shops/{shop.pk}/orders"
    listing = web.get(f"{base}/").content.decode()
    assert f'data-order="{mine.number}"' in listing and f'data-order="{theirs.number}"' not in listing
    assert web.get(f"{base}/{theirs.pk}/").status_code == 404
    assert web.get(f"{base}/{theirs.pk}/slip/").status_code == 404
    assert web.post(f"{base}/{theirs.pk}/pack/", {"carrier": "C", "tracking_number": "T"}).status_code == 404
    assert web.post(f"{base}/{theirs.pk}/cancel/", {"reason": "buyer_request"}).status_code == 404
    web.post(f"{base}/bulk-pack/", {"ids": str(theirs.pk), "carrier": "C", f"tracking_{theirs.pk}": "T"})
    theirs.refresh_from_db()
    assert theirs.state == S.AWAITING_PACKAGING and OrderEvent.objects.for_shop(shop).filter(order=theirs).count() == 1
    html = web.get(f"{base}/{mine.pk}/").content.decode()
    assert 'id="pack"' in html


def test_export_page_follows_the_job_visibility_rule(shop, django_capture_on_commit_callbacks):
    north_sku, north = make_sku(shop, stock=10)
    south_sku, south = make_sku(shop, stock=10)
    order_in(shop, S.AWAITING_PACKAGING, sku=north_sku)
    order_in(shop, S.AWAITING_PACKAGING, sku=south_sku)
    owner = web_client_for(shop.owner, reauth=False)
    clerk = web_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user, reauth=False)
    colleague = web_client_for(make_member(shop, "operator", scopes={"warehouse": [north.pk]}).user, reauth=False)
    url = f"/shops/{shop.pk}/orders/exports/"

    def export(client) -> ExportJob:
        before = set(ExportJob.objects.for_shop(shop).values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(url, {"format": "csv"}).status_code == 302
        return ExportJob.objects.for_shop(shop).exclude(pk__in=before).get()

    everything, own, within = export(owner), export(clerk), export(colleague)
    html = clerk.get(url).content.decode()

    def download(job) -> str:
        return f"/shops/{shop.pk}/orders/exports/{job.pk}/download/"

    assert download(own) in html and download(within) in html and download(everything) not in html
    assert clerk.get(download(everything)).status_code == 404
    assert clerk.get(download(own)).status_code == 200 and clerk.get(download(within)).status_code == 200
    assert owner.get(download(everything)).status_code == 200


# -- a refused action says so: the reason and a 4xx, never a silent redirect -------------------------


def _stock(shop) -> list[tuple]:
    return list(Stock.objects.for_shop(shop).order_by("id").values_list("on_hand", "reserved"))


def test_a_refused_order_move_answers_409_with_the_reason_and_changes_nothing(shop):
    shop.auto_confirm_orders = False
    shop.save()
    sku, _wh = make_sku(shop, stock=10)
    waiting = intake(shop, sku)
    packing = order_in(shop, S.AWAITING_PACKAGING, sku=sku)
    handover = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    web = web_client_for(shop.owner, reauth=False)
    stock, events = _stock(shop), OrderEvent.objects.for_shop(shop).count()
    for order, verb, reason in (
        (waiting, "ship", "Cannot ship an order that is awaiting confirmation."),
        (packing, "confirm", "Cannot confirm an order that is awaiting packaging."),
        (handover, "deliver", "Cannot deliver an order that is awaiting handover."),
    ):
        # (the hand-over is sent confirmed, as its confirmation page sends it)
        r = web.post(f"/shops/{shop.pk}/orders/{order.pk}/{verb}/", {"confirm": "yes"} if verb == "ship" else {})
        html = r.content.decode()
        assert (r.status_code, reason in html) == (409, True), (verb, r.status_code)
        assert f'href="/shops/{shop.pk}/orders/{order.pk}/"' in html  # Back leads to the order
        assert Order.objects.for_shop(shop).get(pk=order.pk).state == order.state
    assert (_stock(shop), OrderEvent.objects.for_shop(shop).count()) == (stock, events)


def test_a_refused_return_action_answers_4xx_with_the_reason_and_changes_nothing(shop):
    sku, wh = make_sku(shop, stock=10)
    rejected, requested, approved = (
        return_in(shop, state, order=order_in(shop, S.DELIVERED, sku=sku))
        for state in (Return.State.REJECTED, Return.State.REQUESTED, Return.State.APPROVED)
    )
    web = web_client_for(shop.owner, reauth=False)
    stock, events = _stock(shop), OrderEvent.objects.for_shop(shop).count()
    for ret, verb, data, status, reason in (
        (rejected, "approve", {}, 409, "This return is rejected: not possible now."),
        (approved, "reject", {"note": "Too late"}, 409, "This return is approved: not possible now."),
        (requested, "reject", {}, 400, "Say why the return is rejected."),
        (requested, "receive", {"warehouse": wh.pk}, 409, "This return is requested: not possible now."),
        (approved, "receive", {"warehouse": "99999"}, 400, "Unknown warehouse."),
        (approved, "exchange", {}, 409, "This return is approved: not possible now."),
        (requested, "refund", {}, 409, "This return is requested: not possible now."),
    ):
        r = web.post(f"/shops/{shop.pk}/returns/{ret.pk}/{verb}/", data)
        html = r.content.decode()
        assert (r.status_code, reason in html) == (status, True), (verb, ret.state, r.status_code)
        assert f'href="/shops/{shop.pk}/returns/{ret.pk}/"' in html
        assert Return.objects.for_shop(shop).get(pk=ret.pk).state == ret.state
    assert (_stock(shop), OrderEvent.objects.for_shop(shop).count()) == (stock, events)
    assert not Refund.objects.for_shop(shop).exists()


@contextmanager
def cancelled_meanwhile(shop, orders):
    """A colleague cancels these orders (the real service) right after the bulk pack page has read them
    as awaiting packaging and before it packs them: the race the page reports, made deterministic."""
    pending = list(orders)

    def cancel_after_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if pending and '"orders_order"' in sql and S.AWAITING_PACKAGING in (params or ()):
            cancel, pending[:] = list(pending), []
            for order in cancel:
                services.order_cancel(actor=owner_actor(shop), order=order, reason="buyer_request")
        return result

    with connection.execute_wrapper(cancel_after_read):
        yield


def test_bulk_pack_names_what_was_cancelled_meanwhile_and_answers_409_when_nothing_packed(shop):
    sku, _wh = make_sku(shop, stock=10)
    a, b, c, d = (intake(shop, sku) for _ in range(4))
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/orders/bulk-pack/"

    def pack(*orders):
        data = {"ids": ",".join(str(o.pk) for o in orders), "carrier": "CDEK"}
        return web.post(url, {**data, **{f"tracking_{o.pk}": f"T{o.pk}" for o in orders}}, follow=True)

    with cancelled_meanwhile(shop, [b]):
        r = pack(a, b)
    html = r.content.decode()
    assert r.redirect_chain[0][1] == 302 and "1 packed." in html
    assert f"{b.number}: Cannot pack an order that is cancelled." in html
    with cancelled_meanwhile(shop, [c, d]):
        r = pack(c, d)
    html = r.content.decode()
    assert r.status_code == 409 and r.redirect_chain == [] and "0 packed." in html
    for order in (c, d):
        assert f"{order.number}: Cannot pack an order that is cancelled." in html
    states = dict(Order.objects.for_shop(shop).values_list("pk", "state"))
    assert states == {a.pk: S.AWAITING_DELIVER, b.pk: S.CANCELLED, c.pk: S.CANCELLED, d.pk: S.CANCELLED}
    assert not OrderEvent.objects.for_shop(shop).filter(order__in=[b, c, d], kind="packed").exists()


def test_refund_buttons_only_for_roles_that_may_refund(shop, members):
    """SPEC's matrix: ``orders.refund`` is the owner's, admin's and finance's; the others never see the
    order page's Refund button nor the return page's, and the refund form answers them 403."""
    order = order_in(shop, S.DELIVERED, unit_price="100.00")
    ret = return_in(shop, Return.State.RECEIVED, order=order)
    for role, member in members.items():
        web = web_client_for(member.user, reauth=False)
        may = role in ("owner", "admin", "finance")
        page = web.get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
        assert ('id="refund"' in page, f"/orders/{order.pk}/refund/" in page) == (may, may), role
        assert ('id="return-refund"' in web.get(f"/shops/{shop.pk}/returns/{ret.pk}/").content.decode()) is may, role
        assert web.get(f"/shops/{shop.pk}/orders/{order.pk}/refund/").status_code == (200 if may else 403), role
    # Nothing left to refund: the button goes for everyone.
    services.refund_create(actor=owner_actor(shop), order=order, amount="100.00", reason="Full")
    finance = web_client_for(members["finance"].user, reauth=False)
    assert 'id="refund"' not in finance.get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
