"""Issue 11, "Shipping" gaps: the shop's carrier list (with a tracking-URL pattern), the tracking number
corrected after packing (audited), a confirmation before handing over, and the "due today" deadline filter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import shop_update
from backoffice.authz import load_actor
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from orders import selectors, services
from orders.models import Carrier, Order, OrderEvent
from orders.tests.factories import intake, make_carrier, make_sku, order_in
from tests.fixtures import api_client_for, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
S = Order.State
URL = "https://carrier.example/track/{tracking}"


def _audit(shop, action: str, target) -> AuditEntry:
    return AuditEntry.objects.for_shop(shop).filter(action=action, target_id=str(target.pk)).latest("id")


# -- services: the carrier list ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("https://carrier.example/track/", "Put {tracking} where the tracking number goes."),
        ("javascript:alert({tracking})", "Use a web address starting with http:// or https://."),
        ("ftp://carrier.example/{tracking}", "Use a web address starting with http:// or https://."),
        ("carrier.example/{tracking}", "Use a web address starting with http:// or https://."),
        ("https:///{tracking}", "Use a web address starting with http:// or https://."),
    ],
)
def test_a_tracking_url_pattern_is_an_http_address_with_the_placeholder(shop, pattern, problem):
    with pytest.raises(ValidationFailed) as caught:
        services.carrier_create(actor=owner_actor(shop), name="CDEK", code="cdek", tracking_url=pattern)
    assert caught.value.fields == {"tracking_url": [problem]}
    assert not Carrier.objects.for_shop(shop).exists()


def test_carrier_names_and_codes_are_unique_in_the_shop_and_every_change_is_audited(shop, other_shop):
    actor = owner_actor(shop)
    cdek = services.carrier_create(actor=actor, name="CDEK", code="cdek", tracking_url=URL)
    assert _audit(shop, "carrier.created", cdek).changes["tracking_url"] == [None, URL]
    with pytest.raises(ValidationFailed) as name_taken:
        services.carrier_create(actor=actor, name=" cdek ", code="other")
    assert list(name_taken.value.fields) == ["name"]
    with pytest.raises(ValidationFailed) as code_taken:
        services.carrier_create(actor=actor, name="Other", code="CDEK")
    assert list(code_taken.value.fields) == ["code"]
    # Another shop may use the same name and code.
    services.carrier_create(actor=owner_actor(other_shop), name="CDEK", code="cdek")
    post = services.carrier_create(actor=actor, name="Russian Post", code="post")
    with pytest.raises(ValidationFailed):
        services.carrier_update(actor=actor, carrier=post, name="CDEK", code="post")
    services.carrier_update(actor=actor, carrier=post, name="Pochta", code="post", tracking_url=URL)
    assert _audit(shop, "carrier.updated", post).changes == {"name": ["Russian Post", "Pochta"],
                                                             "tracking_url": ["", URL]}  # fmt: skip
    services.carrier_deactivate(actor=actor, carrier=post)
    assert _audit(shop, "carrier.deactivated", post).changes == {"is_active": [True, False]}
    assert [c.name for c in selectors.carrier_choices(shop=shop)] == ["CDEK"]


@pytest.mark.parametrize("role", ["operator", "support", "finance", "viewer"])
def test_only_who_manages_shop_settings_keeps_the_list(shop, members, role):
    actor = load_actor(members[role].user, shop)
    with pytest.raises(Forbidden):
        services.carrier_create(actor=actor, name="CDEK", code="cdek")
    carrier = make_carrier(shop)
    with pytest.raises(Forbidden):
        services.carrier_deactivate(actor=actor, carrier=carrier)
    admin = load_actor(members["admin"].user, shop)
    assert services.carrier_deactivate(actor=admin, carrier=carrier).is_active is False
    with pytest.raises(TypeError):
        services.carrier_create(actor=shop.owner, name="X", code="x")


def test_a_pack_names_a_carrier_of_the_list_by_name_or_code_and_free_text_without_a_list(shop):
    sku, _wh = make_sku(shop, stock=10)
    actor = owner_actor(shop)
    free = services.order_pack(actor=actor, order=intake(shop, sku), carrier="Any Courier", tracking_number="F-1")
    assert (free.carrier, free.carrier_ref_id) == ("Any Courier", None)  # no list: free text, as before
    cdek = make_carrier(shop, "CDEK", code="cdek")
    by_code = services.order_pack(actor=actor, order=intake(shop, sku), carrier=" CDEK ", tracking_number="C-1")
    by_name = services.order_pack(actor=actor, order=intake(shop, sku), carrier="cdek", tracking_number="C-2")
    by_object = services.order_pack(actor=actor, order=intake(shop, sku), carrier=cdek, tracking_number="C-3")
    assert {(o.carrier, o.carrier_ref_id) for o in (by_code, by_name, by_object)} == {("CDEK", cdek.pk)}
    waiting = intake(shop, sku)
    with pytest.raises(ValidationFailed) as unknown:
        services.order_pack(actor=actor, order=waiting, carrier="Any Courier", tracking_number="F-2")
    assert list(unknown.value.fields) == ["carrier"] and "CDEK" in unknown.value.fields["carrier"][0]
    services.carrier_deactivate(actor=actor, carrier=cdek)
    with pytest.raises(ValidationFailed):  # an inactive carrier is off the list, by name or as an object
        services.order_pack(actor=actor, order=waiting, carrier=cdek, tracking_number="C-4")
    waiting.refresh_from_db()
    assert waiting.state == S.AWAITING_PACKAGING
    # The packed orders keep their carrier (and its tracking page) when it is deactivated.
    by_name.refresh_from_db()
    assert by_name.carrier_ref == cdek and by_name.carrier_ref.tracking_link("C 2/x") == (
        "https://carrier.example/track/C%202%2Fx"
    )


# -- services: correcting the tracking number ----------------------------------------------------------


def test_the_tracking_number_is_corrected_while_packed_or_shipped_and_audited(shop):
    actor = owner_actor(shop)
    sku, _wh = make_sku(shop, stock=10)
    packed = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    old = packed.tracking_number
    fixed = services.order_tracking_correct(actor=actor, order=packed, tracking_number=" NEW-1 ")
    assert fixed.tracking_number == "NEW-1" and fixed.state == S.AWAITING_DELIVER
    assert _audit(shop, "order.tracking_corrected", packed).changes == {"tracking_number": [old, "NEW-1"]}
    event = OrderEvent.objects.for_shop(shop).get(order=packed, kind="tracking_corrected")
    assert event.data == {"tracking_number": [old, "NEW-1"]} and event.actor == shop.owner
    shipped = order_in(shop, S.DELIVERING, sku=sku)
    assert services.order_tracking_correct(actor=actor, order=shipped, tracking_number="NEW-2").tracking_number == (
        "NEW-2"
    )
    for state in (S.AWAITING_PACKAGING, S.DELIVERED, S.CANCELLED):
        order = order_in(shop, state, sku=sku)
        with pytest.raises(Conflict) as caught:
            services.order_tracking_correct(actor=actor, order=order, tracking_number="NEW-3")
        assert caught.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed) as same:
        services.order_tracking_correct(actor=actor, order=packed, tracking_number="new-1")
    assert list(same.value.fields) == ["tracking_number"]
    with pytest.raises(TypeError):
        services.order_tracking_correct(actor=shop.owner, order=packed, tracking_number="NEW-4")


def test_a_corrected_number_is_still_unique_per_carrier_in_the_shop(shop, other_shop, members):
    actor = owner_actor(shop)
    sku, _wh = make_sku(shop, stock=10)
    first, second = order_in(shop, S.AWAITING_DELIVER, sku=sku), order_in(shop, S.AWAITING_DELIVER, sku=sku)
    with pytest.raises(Conflict) as caught:
        services.order_tracking_correct(actor=actor, order=second, tracking_number=first.tracking_number.lower())
    assert caught.value.code == "tracking_number_taken" and list(caught.value.fields) == ["tracking_number"]
    # The same number with another carrier, or in another shop, is someone else's parcel.
    other = services.order_pack(actor=actor, order=intake(shop, sku), carrier="DPD", tracking_number="SHARED")
    assert services.order_tracking_correct(actor=actor, order=second, tracking_number="SHARED").tracking_number == (
        "SHARED"
    )
    assert other.tracking_number == "SHARED"
    # A viewer may not correct it; a member of another shop does not find the order.
    with pytest.raises(Forbidden):
        services.order_tracking_correct(actor=load_actor(members["viewer"].user, shop), order=first,
                                        tracking_number="X-1")  # fmt: skip
    first.refresh_from_db()
    assert first.tracking_number != "X-1"


# -- services and selectors: due today -----------------------------------------------------------------


def test_due_today_is_the_shops_day_and_overdue_is_past(shop):
    shop_update(actor=owner_actor(shop), timezone="Asia/Vladivostok")  # UTC+10: "today" is not UTC's
    shop.refresh_from_db()
    sku, _wh = make_sku(shop, stock=10)
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 06:00 on the 2nd in Vladivostok
    today_late, tomorrow, past, yesterday_utc = (intake(shop, sku) for _ in range(4))
    shipped = order_in(shop, S.DELIVERING, sku=sku)
    times = {today_late: datetime(2026, 3, 2, 13, 0, tzinfo=UTC),  # 23:00 on the 2nd there
             tomorrow: datetime(2026, 3, 2, 14, 30, tzinfo=UTC),  # 00:30 on the 3rd there
             past: datetime(2026, 3, 1, 15, 0, tzinfo=UTC),  # 01:00 on the 2nd: today, and already late
             yesterday_utc: datetime(2026, 3, 1, 13, 0, tzinfo=UTC),  # 23:00 on the 1st there: not today
             shipped: datetime(2026, 3, 2, 1, 0, tzinfo=UTC)}  # today, but handed over: not waiting  # fmt: skip
    for order, ship_by in times.items():
        Order.objects.for_shop(shop).filter(pk=order.pk).update(ship_by=ship_by)
    orders = Order.objects.for_shop(shop)
    assert set(orders.filter(selectors.due_q(shop=shop, value="today", now=now))) == {today_late, past}
    assert set(orders.filter(selectors.due_q(shop=shop, value="overdue", now=now))) == {past, yesterday_utc}
    assert services.due_today_count(actor=owner_actor(shop), now=now) == 2  # the dashboard's figure agrees
    with pytest.raises(ValidationFailed) as bad:
        selectors.order_list(shop=shop, actor=owner_actor(shop), filters={"due": "tomorrow"})
    assert list(bad.value.fields) == ["due"]


# -- pages ---------------------------------------------------------------------------------------------


def test_carrier_pages_add_edit_and_deactivate_after_confirming(shop, members):
    web = web_client_for(shop.owner, reauth=False)
    base = f"/shops/{shop.pk}/orders/carriers/"
    page = web.get(base).content.decode()
    assert 'id="carrier-form"' in page and 'name="once_token"' in page and "No carriers yet" in page
    assert web.post(base, {"name": "CDEK", "code": "cdek", "tracking_url": URL}).status_code == 302
    taken = web.post(base, {"name": "cdek", "code": "x"})
    assert taken.status_code == 400 and "The shop already has a carrier with this name." in taken.content.decode()
    bad = web.post(base, {"name": "Post", "code": "post", "tracking_url": "javascript:{tracking}"})
    assert bad.status_code == 400 and "http:// or https://" in bad.content.decode()
    assert Carrier.objects.for_shop(shop).count() == 1
    cdek = Carrier.objects.for_shop(shop).get()
    edit = f"{base}{cdek.pk}/"
    assert f'value="{URL}"' in web.get(edit).content.decode()
    assert (
        web.post(edit, {"name": "CDEK Express", "code": "cdek", "tracking_url": URL, "is_active": "on"}).status_code
        == 302
    )
    confirm = web.get(f"{edit}deactivate/")
    assert confirm.status_code == 200 and 'id="confirm-deactivate-carrier"' in confirm.content.decode()
    cdek.refresh_from_db()
    assert (cdek.name, cdek.is_active) == ("CDEK Express", True)  # opening the confirmation changed nothing
    assert web.post(f"{edit}deactivate/").status_code == 302
    cdek.refresh_from_db()
    assert cdek.is_active is False
    # Who sees orders reads the list, without the forms; only the settings keeper changes it.
    viewer = web_client_for(members["viewer"].user, reauth=False)
    listing = viewer.get(base).content.decode()
    assert "CDEK Express" in listing and 'id="carrier-form"' not in listing and "data-edit-carrier" not in listing
    assert viewer.post(base, {"name": "X", "code": "x"}).status_code == 403
    assert viewer.get(edit).status_code == 403
    operator = web_client_for(members["operator"].user, reauth=False)
    assert operator.post(f"{edit}deactivate/").status_code == 403


def test_the_carrier_list_paginates(shop):
    for n in range(27):
        make_carrier(shop, f"Carrier {n:02d}", code=f"c{n:02d}")
    web = web_client_for(shop.owner, reauth=False)
    first = web.get(f"/shops/{shop.pk}/orders/carriers/").content.decode()
    second = web.get(f"/shops/{shop.pk}/orders/carriers/", {"page": "2"}).content.decode()
    assert first.count("data-carrier=") == 25 and second.count("data-carrier=") == 2
    assert "Carrier 26" in second and "Page 2 of 2" in second


def test_pack_pages_offer_the_active_carriers_and_the_order_links_to_the_carriers_page(shop, other_shop, members):
    cdek = make_carrier(shop, "CDEK", code="cdek")
    retired = make_carrier(shop, "Retired Post", code="retired")
    services.carrier_deactivate(actor=owner_actor(shop), carrier=retired)
    foreign = make_carrier(other_shop, "Foreign", code="foreign")
    sku, _wh = make_sku(shop, stock=10)
    order = intake(shop, sku)
    web = web_client_for(members["operator"].user, reauth=False)
    base = f"/shops/{shop.pk}/orders/{order.pk}"
    form = web.get(f"{base}/pack/").content.decode()
    assert f'<option value="{cdek.pk}">CDEK</option>' in form and "Retired Post" not in form
    for refused in (str(retired.pk), str(foreign.pk), "CDEK"):
        assert web.post(f"{base}/pack/", {"carrier": refused, "tracking_number": "CD-1"}).status_code == 400
    assert web.post(f"{base}/pack/", {"carrier": str(cdek.pk), "tracking_number": "CD 1/2"}).status_code == 302
    order.refresh_from_db()
    assert (order.carrier, order.carrier_ref_id, order.state) == ("CDEK", cdek.pk, S.AWAITING_DELIVER)
    detail = web.get(f"{base}/").content.decode()
    assert 'href="https://carrier.example/track/CD%201%2F2"' in detail and 'id="tracking-link"' in detail
    # Bulk pack: the same select; another shop's carrier is refused on the carrier field, nothing packed.
    batch = [intake(shop, sku), intake(shop, sku)]
    ids = ",".join(str(o.pk) for o in batch)
    page = web.get(f"/shops/{shop.pk}/orders/bulk-pack/", {"ids": ids}).content.decode()
    assert '<select id="carrier" name="carrier"' in page and "Retired Post" not in page
    rows = {f"tracking_{o.pk}": f"B-{o.pk}" for o in batch}
    r = web.post(f"/shops/{shop.pk}/orders/bulk-pack/", {"ids": ids, "carrier": str(foreign.pk), **rows})
    assert r.status_code == 400 and 'id="carrier-error"' in r.content.decode()
    assert (
        web.post(f"/shops/{shop.pk}/orders/bulk-pack/", {"ids": ids, "carrier": str(cdek.pk), **rows}).status_code
        == 302
    )
    assert {(o.carrier_ref_id, o.state) for o in Order.objects.for_shop(shop).filter(pk__in=[o.pk for o in batch])} == {
        (cdek.pk, S.AWAITING_DELIVER)
    }


def test_correct_tracking_from_the_order_page(shop, members):
    sku, _wh = make_sku(shop, stock=10)
    packed, other = order_in(shop, S.AWAITING_DELIVER, sku=sku), order_in(shop, S.AWAITING_DELIVER, sku=sku)
    web = web_client_for(members["operator"].user, reauth=False)
    base = f"/shops/{shop.pk}/orders/{packed.pk}"
    assert 'id="correct-tracking-form"' in web.get(f"{base}/").content.decode()
    taken = web.post(f"{base}/correct-tracking/", {"tracking_number": other.tracking_number})
    assert taken.status_code == 400 and "is already used with carrier" in taken.content.decode()
    assert web.post(f"{base}/correct-tracking/", {"tracking_number": "FIXED-9"}).status_code == 302
    packed.refresh_from_db()
    assert packed.tracking_number == "FIXED-9"
    assert 'data-kind="tracking_corrected"' in web.get(f"{base}/").content.decode()
    delivered = order_in(shop, S.DELIVERED, sku=sku)
    assert 'id="correct-tracking-form"' not in web.get(f"/shops/{shop.pk}/orders/{delivered.pk}/").content.decode()
    r = web.post(f"/shops/{shop.pk}/orders/{delivered.pk}/correct-tracking/", {"tracking_number": "LATE-1"})
    assert r.status_code == 400 and "Cannot correct the tracking number of an order that is delivered." in (
        r.content.decode()
    )
    viewer = web_client_for(members["viewer"].user, reauth=False)
    assert viewer.post(f"{base}/correct-tracking/", {"tracking_number": "V-1"}).status_code == 403


def test_hand_over_asks_for_confirmation_first(shop, members):
    make_carrier(shop, "CDEK", code="cdek")
    sku, _wh = make_sku(shop, stock=10)
    order = order_in(shop, S.AWAITING_DELIVER, sku=sku)
    web = web_client_for(members["operator"].user, reauth=False)
    base = f"/shops/{shop.pk}/orders/{order.pk}"
    detail = web.get(f"{base}/").content.decode()
    assert re.search(rf'<a class="btn btn-primary" href="{base}/ship/" id="ship">', detail)  # a link, not a POST
    confirm = web.get(f"{base}/ship/").content.decode()
    assert 'id="handover-carrier">CDEK<' in confirm and f">{order.tracking_number}<" in confirm
    for unconfirmed in ({}, {"confirm": "no"}):
        assert web.post(f"{base}/ship/", unconfirmed).status_code == 400
        order.refresh_from_db()
        assert order.state == S.AWAITING_DELIVER
    assert web.post(f"{base}/ship/", {"confirm": "yes"}).status_code == 302
    order.refresh_from_db()
    assert order.state == S.DELIVERING
    assert web.get(f"{base}/ship/").status_code == 409  # nothing left to confirm


def test_due_today_card_links_to_the_filtered_list(shop):
    sku, _wh = make_sku(shop, stock=10)
    due, later, late = intake(shop, sku), intake(shop, sku), intake(shop, sku)
    now = timezone.now()
    Order.objects.for_shop(shop).filter(pk=later.pk).update(ship_by=now + timedelta(days=3))
    Order.objects.for_shop(shop).filter(pk=late.pk).update(ship_by=now - timedelta(days=3))
    # "Today" ends at the shop's midnight: a deadline a minute from now may already be tomorrow there.
    Order.objects.for_shop(shop).filter(pk=due.pk).update(ship_by=now)
    web = web_client_for(shop.owner, reauth=False)
    home = web.get(f"/shops/{shop.pk}/").content.decode()
    card = re.search(r'data-card="due_today".*?</a>', home, re.S)
    assert card and f"/shops/{shop.pk}/orders/?due=today" in home
    listed = web.get(f"/shops/{shop.pk}/orders/", {"due": "today"}).content.decode()
    assert due.number in listed and later.number not in listed and late.number not in listed
    assert 'name="due"' in listed and '<option value="today" selected>' in listed
    overdue = web.get(f"/shops/{shop.pk}/orders/", {"due": "overdue"}).content.decode()
    assert late.number in overdue and later.number not in overdue
    bad = web.get(f"/shops/{shop.pk}/orders/", {"due": "someday"})
    assert bad.status_code == 302


# -- API -----------------------------------------------------------------------------------------------


def test_carriers_api_and_packing_by_name_or_code(shop, other_shop, members):
    api = api_client_for(shop.owner)
    base = f"/api/v1/shops/{shop.pk}/carriers/"
    r = api.post(base, {"name": "CDEK", "code": "cdek", "tracking_url": URL}, format="json")
    assert r.status_code == 201, r.content
    cdek_id = r.json()["id"]
    bad = api.post(base, {"name": "Post", "code": "post", "tracking_url": "https://post.example/"}, format="json")
    assert bad.status_code == 400 and "tracking_url" in bad.json()["error"]["fields"]
    r = api.patch(f"{base}{cdek_id}/", {"tracking_url": "https://cdek.example/{tracking}"}, format="json")
    assert r.status_code == 200 and r.json()["name"] == "CDEK"
    operator = api_client_for(members["operator"].user)
    assert operator.get(base).json()["results"][0]["code"] == "cdek"
    assert operator.post(base, {"name": "X", "code": "x"}, format="json").status_code == 403
    assert api_client_for(other_shop.owner).get(f"/api/v1/shops/{other_shop.pk}/carriers/{cdek_id}/").status_code == 404
    sku, _wh = make_sku(shop, stock=10)
    order, waiting = intake(shop, sku), intake(shop, sku)
    orders = f"/api/v1/shops/{shop.pk}/orders/"
    r = operator.post(f"{orders}{order.pk}/pack/", {"carrier": "CDEK", "tracking_number": "A 1"}, format="json")
    assert r.status_code == 200
    assert (r.json()["carrier_id"], r.json()["tracking_link"]) == (cdek_id, "https://cdek.example/A%201")
    unknown = operator.post(f"{orders}{waiting.pk}/pack/", {"carrier": "DPD", "tracking_number": "D-1"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()["error"]["fields"]) == ["carrier"]
    bulk = operator.post(f"{orders}bulk-pack/", {"orders": [{"id": waiting.pk, "carrier": "DPD", "tracking_number": "D-2"}]},
                         format="json")  # fmt: skip
    assert bulk.status_code == 400 and list(bulk.json()["error"]["fields"]) == ["orders.0.carrier"]
    assert api.post(f"{base}{cdek_id}/deactivate/").json()["is_active"] is False
    waiting.refresh_from_db()
    assert waiting.state == S.AWAITING_PACKAGING


def test_correct_tracking_and_due_filter_in_the_api(shop, members):
    sku, _wh = make_sku(shop, stock=10)
    packed, delivered = order_in(shop, S.AWAITING_DELIVER, sku=sku), order_in(shop, S.DELIVERED, sku=sku)
    api = api_client_for(members["operator"].user)
    orders = f"/api/v1/shops/{shop.pk}/orders/"
    r = api.post(f"{orders}{packed.pk}/correct-tracking/", {"tracking_number": "API-FIX"}, format="json")
    assert r.status_code == 200 and r.json()["tracking_number"] == "API-FIX"
    assert r.json()["timeline"][-1]["kind"] == "tracking_corrected"
    assert (
        api.post(f"{orders}{delivered.pk}/correct-tracking/", {"tracking_number": "X"}, format="json").status_code
        == 409
    )
    assert api.post(f"{orders}{packed.pk}/correct-tracking/", {}, format="json").status_code == 400
    viewer = api_client_for(members["viewer"].user)
    assert (
        viewer.post(f"{orders}{packed.pk}/correct-tracking/", {"tracking_number": "V"}, format="json").status_code
        == 403
    )
    waiting = intake(shop, sku)
    Order.objects.for_shop(shop).filter(pk=waiting.pk).update(ship_by=timezone.now())
    Order.objects.for_shop(shop).filter(pk=packed.pk).update(ship_by=timezone.now() + timedelta(days=3))
    due = [o["id"] for o in api.get(orders, {"due": "today"}).json()["results"]]
    assert due == [waiting.pk]
    bad = api.get(orders, {"due": "later"})
    assert bad.status_code == 400 and "due" in bad.json()["error"]["fields"]
