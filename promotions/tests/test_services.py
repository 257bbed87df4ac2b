"""Promotion services and the quote/intake pricing on PostgreSQL, through the real services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.errors import Conflict, Forbidden, ValidationFailed
from orders import services as order_services
from orders.models import Order, OrderEvent, OrderLine
from orders.tests.factories import make_sku
from promotions import services
from promotions.models import Promotion, PromotionCode, PromotionUse
from promotions.tests.factories import intake, make_promotion, quote
from tests.fixtures import make_member, make_shop, owner_actor

pytestmark = pytest.mark.django_db

D = Decimal


def _fields(exc: ValidationFailed) -> set[str]:
    return set(exc.fields)


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "percent_off", "value": "0"}, "value"),
        ({"kind": "percent_off", "value": "-5"}, "value"),
        ({"kind": "percent_off", "value": "150"}, "value"),
        ({"kind": "spend_threshold", "tiers": [{"min_spend": "500", "discount": "60"},
                                                {"min_spend": "300", "discount": "30"}]}, "tiers.1"),
        ({"kind": "spend_threshold", "tiers": []}, "tiers"),
        ({"kind": "spend_threshold", "tiers": [{"min_spend": "300", "discount": "-1"}]}, "tiers.0.discount"),
        ({"kind": "gift_with_purchase", "gift_sku": "NOPE"}, "gift_sku"),
        ({"kind": "buy_x_get_y", "buy_quantity": 0, "get_quantity": 1}, "buy_quantity"),
        ({"kind": "amount_off", "value": "0"}, "value"),
        ({"kind": "bogus"}, "kind"),
        ({"ends_at": "2020-01-01T00:00:00+00:00", "starts_at": "2021-01-01T00:00:00+00:00"}, "ends_at"),
        ({"starts_at": "not a date"}, "starts_at"),
        ({"scope": {"categories": [999999999]}}, "scope.categories"),
        ({"budget": "-1"}, "budget"),
        ({"usage_limit": 0}, "usage_limit"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(shop, data, field):
    with pytest.raises(ValidationFailed) as exc:
        make_promotion(shop, activate=False, **data)
    assert field in _fields(exc.value), exc.value.fields
    assert Promotion.objects.for_shop(shop).count() == 0


def test_a_gift_sku_of_another_shop_is_unknown(shop):
    other = make_shop("Other")
    foreign, _wh = make_sku(other)
    with pytest.raises(ValidationFailed) as exc:
        make_promotion(shop, kind="gift_with_purchase", gift_sku=foreign.code, activate=False)
    assert "gift_sku" in _fields(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        make_promotion(shop, kind="gift_with_purchase", gift_sku=foreign.pk, activate=False)
    assert "gift_sku" in _fields(exc.value)


def test_a_code_is_unique_in_the_shop_case_insensitively(shop):
    make_promotion(shop, code="SALE10")
    with pytest.raises(ValidationFailed) as exc:
        make_promotion(shop, code="sale10")
    assert "code" in _fields(exc.value)


def test_services_refuse_a_bare_user_and_members_without_manage(shop):
    with pytest.raises(TypeError):
        services.promotion_create(actor=shop.owner, data={})
    viewer = make_member(shop, "viewer")
    from backoffice.authz import load_actor

    with pytest.raises(Forbidden):
        services.promotion_create(actor=load_actor(viewer.user, shop), data={"name": "x"})


# ------------------------------------------------------------------------------------------ transitions


def test_status_follows_state_and_window(shop):
    soon = make_promotion(shop, starts_at=(timezone.now() + timedelta(days=1)).isoformat())
    assert soon.state == "active" and soon.status == "scheduled"
    now = make_promotion(shop)
    assert now.status == "active"
    actor = owner_actor(shop)
    paused = services.promotion_pause(actor=actor, promotion=now)
    assert paused.status == "paused"
    with pytest.raises(Conflict):
        services.promotion_pause(actor=actor, promotion=paused)
    ended = services.promotion_end(actor=actor, promotion=paused)
    assert ended.status == "ended"
    with pytest.raises(Conflict):
        services.promotion_activate(actor=actor, promotion=ended)
    draft = make_promotion(shop, activate=False)
    assert draft.status == "draft"


# ------------------------------------------------------------------------------------------ quotes


def test_two_combinable_ten_percents_make_nineteen_percent(shop):
    sku, _wh = make_sku(shop, price="100.00")
    make_promotion(shop, value="10")
    make_promotion(shop, value="10")
    q = quote(shop, [(sku, 1)])
    assert (q["subtotal"], q["discount"], q["total"]) == ("100.00", "19.00", "81.00")
    assert len(q["applied"]) == 2


def test_spend_threshold_best_tier_and_unknown_code(shop):
    a, _wh = make_sku(shop, price="260.00")
    tiers = [{"min_spend": "300", "discount": "30"}, {"min_spend": "500", "discount": "60"}]
    promo = make_promotion(shop, kind="spend_threshold", tiers=tiers)
    q = quote(shop, [(a, 2)], codes=["NOSUCH"])
    assert q["discount"] == "60.00" and q["total"] == "460.00"
    assert q["applied"][0]["promotion"] == promo.pk
    assert {"promotion": None, "name": "", "reason": "unknown_code", "params": {"code": "NOSUCH"}} in q["not_applied"]


def test_scheduled_paused_and_code_promotions_say_why(shop):
    sku, _wh = make_sku(shop, price="100.00")
    later = make_promotion(shop, starts_at=(timezone.now() + timedelta(days=1)).isoformat())
    paused = services.promotion_pause(actor=owner_actor(shop), promotion=make_promotion(shop))
    coded = make_promotion(shop, code="VIP")
    reasons = {n["promotion"]: n["reason"] for n in quote(shop, [(sku, 1)])["not_applied"]}
    assert reasons == {later.pk: "outside_window", paused.pk: "paused", coded.pk: "code_required"}
    q = quote(shop, [(sku, 1)], codes=[" vip "])
    assert [a["promotion"] for a in q["applied"]] == [coded.pk] and q["discount"] == "10.00"


def test_floor_from_cost_caps_the_discount_and_a_set_floor_wins(shop):
    from catalog import selectors as catalog_selectors
    from catalog import services as catalog

    catalog.product_create(actor=owner_actor(shop), title="Costed",
                           skus=[{"code": "COSTED", "price": "100.00", "cost": "95.00"}])  # fmt: skip
    sku = catalog_selectors.skus_by_code(shop=shop, codes=["COSTED"])["COSTED"]
    make_promotion(shop, value="50")
    q = quote(shop, [(sku, 1)])
    assert q["discount"] == "5.00" and q["lines"][0]["capped_by_floor"] is True
    services.price_floor_set(actor=owner_actor(shop), sku="COSTED", min_price="70.00")
    q = quote(shop, [(sku, 1)])
    assert q["discount"] == "30.00" and q["lines"][0]["capped_by_floor"] is True


def test_the_shop_cap_limits_the_total_discount(shop):
    sku, _wh = make_sku(shop, price="100.00")
    make_promotion(shop, value="50")
    services.settings_update(actor=owner_actor(shop), max_discount_percent="20")
    assert quote(shop, [(sku, 1)])["discount"] == "20.00"


def test_gift_out_of_stock_is_said(shop):
    sku, _wh = make_sku(shop, price="100.00")
    gift, _wh2 = make_sku(shop, price="30.00", stock=0)
    promo = make_promotion(shop, kind="gift_with_purchase", gift_sku=gift.code, min_spend="50")
    q = quote(shop, [(sku, 1)])
    assert q["gifts"] == [] and {"promotion": promo.pk, "reason": "gift_out_of_stock"} in [
        {"promotion": n["promotion"], "reason": n["reason"]} for n in q["not_applied"]
    ]


def test_quote_reads_a_constant_number_of_queries(shop):
    skus = [make_sku(shop, price="100.00")[0] for _ in range(3)]
    make_promotion(shop)

    def count(lines):
        with CaptureQueriesContext(connection) as ctx:
            quote(shop, lines, codes=["X"], buyer="b1")
        return len(ctx.captured_queries)

    few = count([(skus[0], 1)])
    for i in range(15):
        make_promotion(shop, kind="amount_off", value="1", code=f"C{i}", usage_limit=5, per_buyer_limit=1)
    make_promotion(shop, kind="gift_with_purchase", gift_sku=skus[2].code)
    many = count([(s, 2) for s in skus])
    assert few == many, (few, many)


def test_a_quote_sees_an_edit_and_the_counters_at_once_though_rules_are_kept_per_process(shop):
    """The parsed promotions and their rules are kept per process by version: an edit (any process's) and the
    usage an order consumed must show in the very next quote."""
    sku, _wh = make_sku(shop, price="100.00", stock=10)
    promo = make_promotion(shop, kind="amount_off", value="5", usage_limit=1)
    assert quote(shop, [(sku, 1)])["discount"] == "5.00"
    assert quote(shop, [(sku, 1)])["discount"] == "5.00"  # warm
    services.promotion_update(actor=owner_actor(shop), promotion=promo, data={"value": "7"})
    assert quote(shop, [(sku, 1)])["discount"] == "7.00"
    intake(shop, [(sku, 1)])  # takes the one use
    after = quote(shop, [(sku, 1)])
    assert after["discount"] == "0.00"
    assert {"promotion": promo.pk, "reason": "limit_reached"} in [
        {"promotion": n["promotion"], "reason": n["reason"]} for n in after["not_applied"]
    ]


def test_unknown_sku_in_a_quote_names_the_line(shop):
    sku, _wh = make_sku(shop)
    with pytest.raises(ValidationFailed) as exc:
        services.promotion_quote(actor=owner_actor(shop), lines=[{"sku": sku.code, "quantity": 1},
                                                                 {"sku": "NOPE", "quantity": 1}])  # fmt: skip
    assert "lines.1.sku" in _fields(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        services.promotion_quote(actor=owner_actor(shop), lines=[{"sku": sku.code, "quantity": 0}])
    assert "lines.0.quantity" in _fields(exc.value)


# ------------------------------------------------------------------------------------------ intake


def test_an_order_without_promotions_keeps_todays_totals(shop):
    sku, _wh = make_sku(shop, price="990.00")
    order = intake(shop, [(sku, 2)], codes=["NOSUCH"])
    order.refresh_from_db()
    assert (order.total, order.subtotal, order.discount_total, order.promotions) == (D("1980.00"), D("1980.00"), 0, [])
    assert list(order.lines.values_list("discount", "is_gift")) == [(D("0.00"), False)]
    created = OrderEvent.objects.for_shop(shop).get(order=order, kind="created")
    assert created.data["codes_ignored"] == [{"code": "NOSUCH", "reason": "unknown_code"}]


def test_intake_applies_records_and_matches_the_preview(shop):
    a, _wh = make_sku(shop, price="100.00")
    b, _wh = make_sku(shop, price="33.33")
    promo = make_promotion(shop, value="15", budget="1000.00", usage_limit=5)
    make_promotion(shop, kind="spend_threshold", tiers=[{"min_spend": "150", "discount": "20"}])
    at = timezone.now()
    preview = quote(shop, [(a, 1), (b, 3)], buyer="B-1", at=at)
    order = intake(shop, [(a, 1), (b, 3)], buyer_id="B-1", at=at)
    order.refresh_from_db()
    assert str(order.discount_total) == preview["discount"] and str(order.total) == preview["total"]
    assert str(order.subtotal) == preview["subtotal"]
    assert [str(d) for d in order.lines.order_by("id").values_list("discount", flat=True)] == [
        ln["discount"] for ln in preview["lines"]
    ]
    assert order.total == order.subtotal - order.discount_total
    assert [p["promotion"] for p in order.promotions] == [a_["promotion"] for a_ in preview["applied"]]
    promo.refresh_from_db()
    use = PromotionUse.objects.for_shop(shop).get(promotion=promo, order=order)
    assert (promo.used_count, promo.spent, use.amount, use.buyer_id) == (1, use.amount, use.amount, "B-1")


def test_a_gift_line_is_added_at_zero_and_reserved(shop):
    sku, _wh = make_sku(shop, price="100.00")
    gift, gift_wh = make_sku(shop, price="30.00", stock=2)
    promo = make_promotion(shop, kind="gift_with_purchase", gift_sku=gift.code, budget="100.00")
    order = intake(shop, [(sku, 1)])
    line = OrderLine.objects.for_shop(shop).get(order=order, is_gift=True)
    assert (line.sku_id, line.quantity, line.unit_price) == (gift.pk, 1, D("0.00"))
    assert order.allocations.filter(line=line).get().quantity == 1
    order.refresh_from_db()
    assert order.total == D("100.00")
    promo.refresh_from_db()
    assert (promo.used_count, promo.spent) == (1, D("30.00"))


def test_cancel_before_delivery_gives_back_usage_budget_and_code(shop):
    sku, _wh = make_sku(shop, price="100.00")
    promo = make_promotion(shop, value="10", usage_limit=1, budget="50.00")
    order = intake(shop, [(sku, 1)], buyer_id="B-9")
    promo.refresh_from_db()
    assert (promo.used_count, promo.spent) == (1, D("10.00"))
    assert quote(shop, [(sku, 1)])["not_applied"][0]["reason"] == "limit_reached"
    order_services.order_cancel(actor=owner_actor(shop), order=order, reason="buyer_request")
    promo.refresh_from_db()
    assert (promo.used_count, promo.spent) == (0, D("0.00"))
    assert not PromotionUse.objects.for_shop(shop).filter(order=order).exists()
    again = intake(shop, [(sku, 1)], buyer_id="B-9")
    again.refresh_from_db()
    assert again.discount_total == D("10.00")


def test_a_single_use_code_serves_one_order(shop):
    sku, _wh = make_sku(shop, price="100.00")
    promo = make_promotion(shop, value="10")
    assert services.promotion_codes_generate(actor=owner_actor(shop), promotion=promo, count=3, prefix="spr") == 3
    codes = list(PromotionCode.objects.for_shop(shop).filter(promotion=promo).values_list("code", flat=True))
    assert len(set(codes)) == 3 and all(c.startswith("SPR-") and len(c) == 14 for c in codes)
    code = codes[0]
    assert quote(shop, [(sku, 1)])["discount"] == "0.00"  # a batch promotion needs one of its codes
    assert quote(shop, [(sku, 1)], codes=[code.lower()])["discount"] == "10.00"
    first = intake(shop, [(sku, 1)], codes=[code.lower()])
    second = intake(shop, [(sku, 1)], codes=[code])
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.discount_total, second.discount_total) == (D("10.00"), D("0.00"))
    assert PromotionCode.objects.for_shop(shop).get(code=code).order_id == first.pk
    # The second order and a quote say the code was used, not that it is unknown.
    created = OrderEvent.objects.for_shop(shop).get(order=second, kind="created")
    assert created.data["codes_ignored"] == [{"code": code, "reason": "code_used"}]
    unknown = [n for n in quote(shop, [(sku, 1)], codes=[code, "NOPE"])["not_applied"] if n["promotion"] is None]
    assert sorted((n["params"]["code"], n["reason"]) for n in unknown) == [
        ("NOPE", "unknown_code"),
        (code, "code_used"),
    ]
    order_services.order_cancel(actor=owner_actor(shop), order=first, reason="buyer_request")
    assert PromotionCode.objects.for_shop(shop).get(code=code).order_id is None
    with pytest.raises(ValidationFailed) as exc:
        services.promotion_codes_generate(actor=owner_actor(shop), promotion=promo, count=0)
    assert "count" in _fields(exc.value)


def test_another_shops_promotions_never_price_this_shops_orders(shop):
    other = make_shop("Other")
    make_promotion(other, value="50")
    sku, _wh = make_sku(shop, price="100.00")
    order = intake(shop, [(sku, 1)])
    order.refresh_from_db()
    assert order.discount_total == 0 and Order.objects.for_shop(shop).get(pk=order.pk).total == D("100.00")


def test_every_promotion_action_reads_as_a_sentence(shop):
    import re
    from pathlib import Path

    from accounts.models import AuditEntry
    from backoffice.audit.sentences import _ACTIONS, discover, render

    discover()
    written = set()
    for name in ("promotions.py", "quoting.py"):  # (the ads services register their own sentences)
        path = Path(__file__).resolve().parents[1] / "services" / name
        written |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text()))
    written |= {"promotion.activated", "promotion.paused", "promotion.ended"}  # built from the transition's name
    written -= {"promotions.view", "promotions.manage"}
    assert "promotion.created" in written and sorted(written - set(_ACTIONS)) == []
    actor = owner_actor(shop)
    sku, _wh = make_sku(shop)
    promo = make_promotion(shop, name="Spring sale")
    services.promotion_update(actor=actor, promotion=promo, data={"priority": 3})
    services.promotion_pause(actor=actor, promotion=promo)
    services.settings_update(actor=actor, max_discount_percent="30")
    services.price_floor_set(actor=actor, sku=sku.code, min_price="1.00")
    services.promotion_codes_generate(actor=actor, promotion=promo, count=2)
    entries = AuditEntry.objects.for_shop(shop).filter(action__startswith="p").select_related("actor")
    texts = {s.entry.action: str(s.text) for s in render(entries, reader=actor)}
    assert "Spring sale" in texts["promotion.created"] and "priority" in texts["promotion.updated"]
    assert {"promotion.activated", "promotion.paused", "promotion_settings.updated", "price_floor.updated"} <= set(
        texts
    )
    assert "30" in texts["promotion_settings.updated"] and "2" in texts["promotion.codes_generated"]


def test_the_admin_shows_promotions_read_only(shop):
    from django.contrib.auth import get_user_model

    from tests.fixtures import PASSWORD, BrowserClient

    promo = make_promotion(shop, name="Admin view")
    sku, _wh = make_sku(shop)
    intake(shop, [(sku, 1)])
    client = BrowserClient()
    client.force_login(get_user_model().objects.create_superuser(username="root", email="r@example.com",
                                                                 password=PASSWORD))  # fmt: skip
    for name in ("promotion", "promotioncode", "promotionuse"):
        assert client.get(f"/admin/promotions/{name}/").status_code == 200
    page = client.get(f"/admin/promotions/promotion/{promo.pk}/change/")
    assert page.status_code == 200 and b"Admin view" in page.content and b'name="_save"' not in page.content
    assert client.get("/admin/promotions/promotion/add/").status_code == 403


def test_intake_reads_a_constant_number_of_queries_whatever_the_promotions(shop):
    skus = [make_sku(shop, price="100.00", stock=50)[0] for _ in range(3)]
    make_promotion(shop, value="5", usage_limit=100, per_buyer_limit=5, budget="1000.00")

    def count(lines):
        with CaptureQueriesContext(connection) as ctx:
            intake(shop, lines, buyer_id="q-buyer")
        return len(ctx.captured_queries)

    lines = [(skus[0], 1), (skus[1], 2), (skus[2], 1)]
    count(lines)  # warm: the first intake of a shop reads things the next ones have cached
    few = count(lines)
    for i in range(12):
        make_promotion(shop, kind="amount_off", value="1", code=f"Q{i}", scope={"skus": [skus[1].code]})
    # The first intake after promotions were created or edited reads them in full once (one query however many),
    # then the process knows their version.
    assert count(lines) == few + 1
    many = count(lines)
    assert many == few, (few, many)  # (each promotion that applies adds its few writes; these do not apply)


def test_a_member_limited_to_categories_manages_only_promotions_within_them(shop):
    from backoffice.authz import load_actor
    from catalog import services as catalog
    from promotions import selectors

    owner = owner_actor(shop)
    mine = catalog.category_create(actor=owner, name="Mine")
    theirs = catalog.category_create(actor=owner, name="Theirs")
    sku_theirs, _wh = make_sku(shop, category=theirs)
    member = make_member(shop, "operator", scopes={"category": [mine.pk]})
    actor = load_actor(member.user, shop)
    inside = make_promotion(shop, activate=False, scope={"categories": [mine.pk]})
    whole = make_promotion(shop, activate=False)
    outside = make_promotion(shop, activate=False, scope={"skus": [sku_theirs.code]})

    inside = services.promotion_activate(actor=actor, promotion=inside)
    assert selectors.promotion_actions(actor=actor, promotion=inside) == ["pause", "end"]
    for promo in (whole, outside):
        assert selectors.promotion_actions(actor=actor, promotion=promo) == []
        with pytest.raises(Forbidden):
            services.promotion_activate(actor=actor, promotion=promo)
        with pytest.raises(Forbidden):
            services.promotion_update(actor=actor, promotion=promo, data={"name": "mine now"})
    # Still readable: the list shows all three.
    assert {p.pk for p in selectors.promotion_list(shop=shop, actor=actor)} >= {inside.pk, whole.pk, outside.pk}
    # Creating one: inside their categories only, and never whole-shop.
    body = {"name": "Mine", "kind": "percent_off", "value": "5", "starts_at": timezone.now().isoformat()}
    assert services.promotion_create(actor=actor, data={**body, "scope": {"categories": [mine.pk]}}).pk
    with pytest.raises(Forbidden):
        services.promotion_create(actor=actor, data=body)
    with pytest.raises(Forbidden):
        services.promotion_create(actor=actor, data={**body, "scope": {"categories": [mine.pk, theirs.pk]}})
    with pytest.raises(Forbidden):
        services.promotion_update(actor=actor, promotion=inside, data={"scope": {}})
    with pytest.raises(Forbidden):
        services.settings_update(actor=actor, max_discount_percent="10")
    assert Promotion.objects.for_shop(shop).get(pk=whole.pk).state == "draft"


def test_intake_writes_in_a_constant_number_of_queries_however_many_promotions_apply(shop):
    """Usage and budget of every applied promotion in one conditional UPDATE, the uses in one INSERT, the buyer's
    use numbers in one read: an order that 12 promotions discount costs what an order one discounts costs."""
    skus = [make_sku(shop, price="100.00", stock=50)[0] for _ in range(3)]
    lines = [(skus[0], 1), (skus[1], 2), (skus[2], 1)]
    make_promotion(shop, kind="amount_off", value="1", usage_limit=100, per_buyer_limit=5, budget="1000.00")

    def count(buyer="w-buyer"):
        with CaptureQueriesContext(connection) as ctx:
            order = intake(shop, lines, buyer_id=buyer)
        return len(ctx.captured_queries), order

    count()  # warm
    one, order = count()
    assert len(order.promotions) == 1
    for _ in range(11):
        make_promotion(shop, kind="amount_off", value="1", usage_limit=100, per_buyer_limit=5, budget="1000.00")
    count("w-other")  # the new promotions are read in full once (see the test above)
    twelve, order = count()
    assert len(order.promotions) == 12 and order.discount_total == D("48.00")
    assert twelve == one, (one, twelve)
    assert PromotionUse.objects.for_shop(shop).filter(order=order).count() == 12
    assert set(PromotionUse.objects.for_shop(shop).filter(order=order).values_list("buyer_n", flat=True)) == {1, 3}


def test_a_category_promotion_covers_its_subcategories(shop):
    from catalog import services as catalog

    actor = owner_actor(shop)
    phones = catalog.category_create(actor=actor, name="Phones")
    android = catalog.category_create(actor=actor, name="Android", parent=phones)
    pixel = catalog.category_create(actor=actor, name="Pixel", parent=android)
    cases = catalog.category_create(actor=actor, name="Cases")
    deep, _wh = make_sku(shop, price="100.00", stock=5, category=pixel)
    other, _wh = make_sku(shop, price="100.00", stock=5, category=cases)
    make_promotion(shop, value="10", scope={"categories": [phones.pk]})

    q = quote(shop, [(deep, 1), (other, 1)])
    assert [ln["discount"] for ln in q["lines"]] == ["10.00", "0.00"]
    order = intake(shop, [(deep, 1), (other, 1)])
    order.refresh_from_db()
    assert order.discount_total == D("10.00")


def test_the_orders_snapshot_names_the_shared_code_it_used(shop):
    sku, _wh = make_sku(shop, price="100.00", stock=5)
    make_promotion(shop, value="10", code="SAVE10")
    order = intake(shop, [(sku, 1)], codes=["save10"])
    order.refresh_from_db()
    assert [(p["code"], p["discount"]) for p in order.promotions] == [("SAVE10", "10.00")]
    plain = intake(shop, [(sku, 1)])
    plain.refresh_from_db()
    assert plain.promotions == [] and plain.discount_total == D("0.00")
