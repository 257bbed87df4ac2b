"""Effect monitoring (promotions/effect.py): the figures of the orders in a promotion's scope during its window and
in the same-length period before, measured by one SQL statement per period; uplift; the snapshot the page and the
endpoint read and the beat's task refreshes. Orders go through the real intake (pricing included)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from catalog import services as catalog
from orders import services as order_services
from orders.tests.factories import make_sku
from promotions import effect, services
from promotions.models import PromotionEffect
from promotions.tasks import refresh_promotion_effects, refresh_promotion_effects_for_shop
from promotions.tests.factories import intake, make_promotion
from tests.fixtures import api_client_for, make_member, make_shop, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")  # the test shops' zone (the default one)


def msk(day: int, hour: int = 12, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def cancel(shop, order) -> None:
    order_services.order_cancel(actor=owner_actor(shop), order=order, reason="buyer_request")


@pytest.fixture
def phones(shop):
    """A category tree Phones > Android > Pixel and Garden, a SKU in each (Phones 100, Android 50, Pixel 20,
    Garden 30), and 10% off Phones from 10 Oct 00:00 to 12 Oct 00:00 (Moscow), with orders before, during,
    outside, out of scope and cancelled."""
    owner = owner_actor(shop)
    top = catalog.category_create(actor=owner, name="Phones")
    android = catalog.category_create(actor=owner, name="Android", parent=top)
    pixel = catalog.category_create(actor=owner, name="Pixel", parent=android)
    garden = catalog.category_create(actor=owner, name="Garden")
    a, _wh = make_sku(shop, price="100.00", stock=50, category=top)
    b, _wh = make_sku(shop, price="50.00", stock=50, category=android)
    p, _wh = make_sku(shop, price="20.00", stock=50, category=pixel)
    c, _wh = make_sku(shop, price="30.00", stock=50, category=garden)
    promotion = make_promotion(shop, name="Phones week", value="10", scope={"categories": [top.pk]},
                               starts_at=msk(10, 0).isoformat(), ends_at=msk(12, 0).isoformat())  # fmt: skip
    # Before [8 Oct, 10 Oct): one order in scope; one out of scope; one cancelled; one earlier than the period.
    intake(shop, [(a, 2)], buyer_id="b1", at=msk(9, 12))
    intake(shop, [(c, 1)], buyer_id="b3", at=msk(9, 13))
    cancel(shop, intake(shop, [(a, 1)], buyer_id="b4", at=msk(9, 14)))
    intake(shop, [(a, 1)], buyer_id="b5", at=msk(7, 23))
    # During [10 Oct, 12 Oct): at the very start (10% off the Phones line only, the Garden line is out of scope);
    # a subcategory's SKU at 01:30 Moscow (22:30 UTC the day before: the shop's day counts); a sub-subcategory's
    # SKU with no buyer id; a cancelled order (its discount given back); one at the end (outside: [start, end)).
    intake(shop, [(a, 1), (c, 2)], buyer_id="b1", at=msk(10, 0))
    intake(shop, [(b, 2)], buyer_id="b2", at=datetime(2026, 10, 10, 22, 30, tzinfo=ZoneInfo("UTC")))
    intake(shop, [(p, 1)], at=msk(11, 10))
    cancel(shop, intake(shop, [(a, 5)], buyer_id="b6", at=msk(11, 11)))
    intake(shop, [(a, 1)], buyer_id="b7", at=msk(12, 0))
    return {"promotion": promotion, "skus": (a, b, p, c), "categories": (top, android, pixel, garden)}


def test_figures_of_both_periods_with_scope_subcategories_cancelled_and_out_of_scope_orders(shop, phones):
    got = effect.promotion_effect_compute(promotion=phones["promotion"])
    during, before = got["during"], got["before"]
    bounds = [datetime.fromisoformat(f[k]) for f in (before, during) for k in ("start", "end")]
    assert bounds == [msk(8, 0), msk(10, 0), msk(10, 0), msk(12, 0)]
    # During: the three orders in scope, 10% off each in-scope line (Phones 100 → 90, Android 2 × 50 → 90, Pixel
    # 20 → 18; the Garden line is neither units nor revenue), two buyers (the third order names none).
    assert {k: during[k] for k in effect.FIGURES} == {
        "orders": 3, "units": 4, "revenue": "198.00", "discount": "22.00", "buyers": 2, "average_order_value": "66.00",
    }  # fmt: skip
    # Before: the one order in scope; the discount is 0 (it had not started).
    assert {k: before[k] for k in effect.FIGURES} == {
        "orders": 1, "units": 2, "revenue": "200.00", "discount": "0.00", "buyers": 1, "average_order_value": "200.00",
    }  # fmt: skip
    assert effect.uplift(during, before) == {"orders": 200.0, "units": 100.0, "revenue": -1.0, "discount": None,
                                             "buyers": 100.0, "average_order_value": -67.0}  # fmt: skip
    # Days in the shop's zone: the order placed at 22:30 UTC on the 10th is Moscow's 11th.
    assert got["daily"] == [
        {"day": "2026-10-10", "orders": 1, "units": 1, "revenue": "90.00", "discount": "10.00", "buyers": 1},
        {"day": "2026-10-11", "orders": 2, "units": 3, "revenue": "108.00", "discount": "12.00", "buyers": 1},
    ]


def test_scope_by_product_and_sku_and_the_whole_shop(shop, phones):
    a, b, p, c = phones["skus"]
    window = {"starts_at": msk(10, 0).isoformat(), "ends_at": msk(12, 0).isoformat()}

    def during(**scope):
        promotion = make_promotion(shop, scope=scope, **window)
        return effect.promotion_effect_compute(promotion=promotion)["during"]

    by_product = during(products=[b.product_id])
    assert (by_product["orders"], by_product["units"], by_product["revenue"]) == (1, 2, "90.00")
    by_sku = during(skus=[p.pk, c.pk])  # the Pixel order (18 paid) and the Garden line of the first one (60)
    assert (by_sku["orders"], by_sku["units"], by_sku["revenue"]) == (2, 3, "78.00")
    shop_wide = during()
    assert (shop_wide["orders"], shop_wide["units"], shop_wide["revenue"]) == (3, 6, "258.00")


def test_gift_lines_are_not_units_and_their_value_is_discount_given(shop):
    a, _wh = make_sku(shop, price="100.00", stock=10)
    gift, _wh = make_sku(shop, price="40.00", stock=10)
    promotion = make_promotion(shop, kind="gift_with_purchase", value=None, gift_sku=gift.code, min_spend="50",
                               starts_at=(timezone.now() - timedelta(hours=2)).isoformat())  # fmt: skip
    order = intake(shop, [(a, 1)], buyer_id="g1")
    assert order.lines.filter(is_gift=True).count() == 1  # the gift was given
    during = effect.promotion_effect_compute(promotion=promotion)["during"]
    assert (during["orders"], during["units"], during["revenue"], during["discount"]) == (1, 1, "100.00", "40.00")


def test_uplift_is_none_when_before_is_zero_and_rounds_to_one_decimal():
    zero = {"orders": 0, "units": 0, "revenue": "0.00", "discount": "0.00", "buyers": 0, "average_order_value": None}
    some = {"orders": 3, "units": 7, "revenue": "10.00", "discount": "1.00", "buyers": 3, "average_order_value": "3.33"}
    assert effect.uplift(some, zero) == dict.fromkeys(effect.FIGURES)
    assert effect.uplift(zero, some) == {"orders": -100.0, "units": -100.0, "revenue": -100.0, "discount": -100.0,
                                         "buyers": -100.0, "average_order_value": None}  # fmt: skip
    assert effect.uplift({**some, "units": 8}, some)["units"] == 14.3  # 1/7 = 14.2857… %
    assert effect.uplift(some, None) is None


def test_two_queries_per_period_whatever_the_number_of_orders(shop):
    sku, _wh = make_sku(shop, price="10.00", stock=100)
    promotion = make_promotion(shop, starts_at=(timezone.now() - timedelta(hours=2)).isoformat())
    intake(shop, [(sku, 1)], buyer_id="q0")
    promotion.shop = shop  # the zone is read from the shop: loaded once, as the callers do
    with CaptureQueriesContext(connection) as one:
        effect.promotion_effect_compute(promotion=promotion)
    for i in range(8):
        intake(shop, [(sku, 1)], buyer_id=f"q{i % 3}", at=timezone.now() - timedelta(hours=3 if i % 2 else 1))
    with CaptureQueriesContext(connection) as many:
        got = effect.promotion_effect_compute(promotion=promotion)
    assert len(one.captured_queries) == len(many.captured_queries) == 4
    # Both periods read by the same statements (the in-scope lines, then the uses), only the bounds differ.
    during, before = many.captured_queries[:2], many.captured_queries[2:]
    for a, b in zip(during, before, strict=True):
        assert a["sql"].split("WHERE")[0] == b["sql"].split("WHERE")[0]
    assert (got["during"]["orders"], got["before"]["orders"]) == (5, 4)


def test_nothing_to_measure_before_the_start_or_for_a_draft(shop):
    later = make_promotion(shop, starts_at=(timezone.now() + timedelta(days=1)).isoformat())
    draft = make_promotion(shop, activate=False, starts_at=(timezone.now() - timedelta(days=1)).isoformat())
    for promotion in (later, draft):
        assert effect.promotion_effect_compute(promotion=promotion) == {"during": None, "before": None, "daily": []}


# ------------------------------------------------------------------------------------------ snapshots and the task


def test_read_path_stores_once_and_recomputes_when_the_promotion_is_used_or_edited(shop):
    sku, _wh = make_sku(shop, price="100.00", stock=20)
    promotion = make_promotion(shop, starts_at=(timezone.now() - timedelta(hours=1)).isoformat())
    owner = owner_actor(shop)
    first = effect.promotion_effect_current(actor=owner, promotion=promotion)
    assert first.during["orders"] == 0
    with CaptureQueriesContext(connection) as ctx:
        again = effect.promotion_effect_current(actor=owner, promotion=promotion)
    assert len(ctx.captured_queries) == 1 and again.computed_at == first.computed_at  # read, not recomputed
    intake(shop, [(sku, 1)], buyer_id="r1")  # uses it: used_count moves, the snapshot is stale
    promotion.refresh_from_db()
    used = effect.promotion_effect_current(actor=owner, promotion=promotion)
    assert used.during["orders"] == 1 and used.during["discount"] == "10.00"
    assert effect.promotion_effect_current(actor=owner, promotion=promotion).computed_at == used.computed_at
    edited = services.promotion_update(actor=owner, promotion=promotion, data={"name": "Renamed"})
    assert effect.promotion_effect_current(actor=owner, promotion=edited).computed_at > used.computed_at
    assert PromotionEffect.objects.for_shop(shop).filter(promotion=promotion).count() == 1


def test_task_refreshes_a_stale_snapshot_of_running_and_recent_promotions_only(
    shop, django_capture_on_commit_callbacks
):
    sku, _wh = make_sku(shop, price="100.00", stock=20)
    now = timezone.now()
    # Needs a code: orders without it are in scope but leave the promotion (and its counters) untouched.
    coded = make_promotion(shop, code="SPRING", starts_at=(now - timedelta(hours=1)).isoformat())
    intake(shop, [(sku, 1)], buyer_id="t1", codes=["SPRING"])
    coded.refresh_from_db()
    owner = owner_actor(shop)
    assert effect.promotion_effect_current(actor=owner, promotion=coded).during["orders"] == 1
    intake(shop, [(sku, 2)], buyer_id="t2")
    stale = effect.promotion_effect_current(actor=owner, promotion=coded)
    assert stale.during["orders"] == 1  # nothing in the promotion changed: the snapshot stands until the beat
    long_ended = make_promotion(shop, starts_at=(now - timedelta(days=50)).isoformat(),
                                ends_at=(now - timedelta(days=40)).isoformat())  # fmt: skip
    make_promotion(shop, activate=False, starts_at=(now - timedelta(days=1)).isoformat())  # a draft
    other = make_shop("Gamma")
    elsewhere = make_promotion(other, starts_at=(now - timedelta(hours=1)).isoformat())
    assert shop.pk in effect.shops_with_effects_to_refresh() and other.pk in effect.shops_with_effects_to_refresh()

    with django_capture_on_commit_callbacks(execute=True):
        queued = refresh_promotion_effects.delay().get()
    assert queued >= 2  # one per shop with promotions to refresh (the eager per-shop tasks ran on commit)
    fresh = PromotionEffect.objects.for_shop(shop).get(promotion=coded)
    assert fresh.computed_at > stale.computed_at
    assert (fresh.during["orders"], fresh.during["units"], fresh.during["discount"]) == (2, 3, "10.00")
    # Only the running one in this shop: not the draft, nor the one that ended 40 days ago.
    assert list(PromotionEffect.objects.for_shop(shop).values_list("promotion_id", flat=True)) == [coded.pk]
    assert not PromotionEffect.objects.for_shop(shop).filter(promotion=long_ended).exists()
    assert PromotionEffect.objects.for_shop(other).filter(promotion=elsewhere).exists()
    # Safe to run twice: still one snapshot per promotion.
    assert refresh_promotion_effects_for_shop(shop_id=shop.pk) == 1
    assert PromotionEffect.objects.for_shop(shop).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_refreshes_the_shops_snapshots(celery_worker):
    shop = make_shop()
    sku, _wh = make_sku(shop, price="100.00", stock=5)
    promotion = make_promotion(shop, starts_at=(timezone.now() - timedelta(hours=1)).isoformat())
    intake(shop, [(sku, 2)], buyer_id="w1")
    assert refresh_promotion_effects_for_shop.delay(shop_id=shop.pk).get(timeout=30) == 1
    snapshot = PromotionEffect.objects.for_shop(shop).get(promotion=promotion)
    assert (snapshot.during["orders"], snapshot.during["units"], snapshot.during["discount"]) == (1, 2, "20.00")


def test_refresh_is_on_the_beat_schedule():
    from backoffice.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-promotion-effects"]
    assert entry["task"] == refresh_promotion_effects.name == "promotions.tasks.refresh_promotion_effects"
    assert entry["schedule"] == timedelta(minutes=15)
    assert {refresh_promotion_effects.name, refresh_promotion_effects_for_shop.name} <= set(app.tasks)


# ------------------------------------------------------------------------------------------- endpoint and page


def effect_url(shop, pk) -> str:
    return f"/api/v1/shops/{shop.pk}/promotions/{pk}/effect/"


def test_endpoint_returns_both_periods_uplift_and_days(shop, phones):
    promotion = phones["promotion"]
    viewer = make_member(shop, "viewer")
    got = api_client_for(viewer.user).get(effect_url(shop, promotion.pk))
    assert got.status_code == 200, got.content
    body = got.json()
    assert set(body) == {"promotion", "computed_at", "currency", "orders", "units", "revenue", "discount", "buyers",
                         "baseline", "during", "before", "uplift", "daily"}  # fmt: skip
    # SPEC §10's contract: the window's figures at the top, the period before as "baseline".
    assert (body["orders"], body["units"], body["revenue"], body["discount"], body["buyers"]) == (
        3, 4, "198.00", "22.00", 2)  # fmt: skip
    assert body["baseline"] == body["before"]
    assert body["promotion"] == promotion.pk and body["currency"] == shop.currency
    # Times in the shop's zone, money as strings.
    assert body["during"] == {"start": "2026-10-10T00:00:00+03:00", "end": "2026-10-12T00:00:00+03:00", "orders": 3,
                              "units": 4, "revenue": "198.00", "discount": "22.00", "buyers": 2,
                              "average_order_value": "66.00"}  # fmt: skip
    assert body["before"]["start"] == "2026-10-08T00:00:00+03:00" and body["before"]["orders"] == 1
    assert body["uplift"] == {"orders": 200.0, "units": 100.0, "revenue": -1.0, "discount": None, "buyers": 100.0,
                              "average_order_value": -67.0}  # fmt: skip
    assert [d["day"] for d in body["daily"]] == ["2026-10-10", "2026-10-11"]
    assert body["daily"][1] == {"day": "2026-10-11", "orders": 2, "units": 3, "revenue": "108.00",
                                "discount": "12.00", "buyers": 1}  # fmt: skip


def test_endpoint_refuses_without_view_and_hides_other_shops(shop, other_shop):
    promotion = make_promotion(shop)
    nothing = accounts.role_create(actor=owner_actor(shop), name="Catalogue only", permissions=["catalog.view"])
    refused = api_client_for(make_member(shop, nothing.key).user).get(effect_url(shop, promotion.pk))
    assert refused.status_code == 403
    owner = api_client_for(shop.owner)
    assert owner.get(effect_url(shop, 999999999)).status_code == 404
    theirs = make_promotion(other_shop)
    assert owner.get(effect_url(shop, theirs.pk)).status_code == 404  # another shop's promotion under this shop
    assert owner.get(effect_url(other_shop, promotion.pk)).status_code == 404  # a shop they are not a member of
    assert not PromotionEffect.objects.for_shop(other_shop).exists()


def test_effect_is_in_the_openapi_schema(shop):
    schema = api_client_for(shop.owner).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    doc = schema.json()
    ref = doc["paths"]["/api/v1/shops/{shop}/promotions/{id}/effect/"]["get"]["responses"]["200"]["content"]
    name = ref["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][name]["properties"]) >= {"during", "before", "uplift", "daily"}


def test_page_shows_before_uplift_periods_chart_and_as_of(shop, phones):
    promotion = phones["promotion"]
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/promotions/{promotion.pk}/").content.decode()
    rows = dict(
        (key, cells)
        for key, *cells in re.findall(
            r'data-figure="([a-z]+)"><th scope="row">[^<]*</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>', html
        )
    )
    assert rows == {"orders": ["3", "1", "200.0%"], "units": ["4", "2", "100.0%"],
                    "revenue": ["198.00", "200.00", "-1.0%"], "discount": ["22.00", "0.00", "—"],
                    "buyers": ["2", "1", "100.0%"], "aov": ["66.00", "200.00", "-67.0%"]}  # fmt: skip
    assert "During 2026-10-10 00:00 – 2026-10-12 00:00, compared with 2026-10-08 00:00 – 2026-10-10 00:00." in html
    snapshot = PromotionEffect.objects.for_shop(shop).get(promotion=promotion)
    as_of = timezone.localtime(snapshot.computed_at, MSK).strftime("%Y-%m-%d %H:%M")
    assert f"Figures as of {as_of}." in html
    # The daily chart and its table: orders, revenue, discount per day.
    assert 'data-chart="chart-effect"' in html
    assert re.search(r'<th scope="row">2026-10-11</th><td>2</td><td>108.00</td><td>12.00</td>', html)


def test_page_empty_state_without_orders(shop):
    promotion = make_promotion(shop, name="Quiet")
    html = web_client_for(shop.owner, reauth=False).get(f"/shops/{shop.pk}/promotions/{promotion.pk}/").content
    html = html.decode()
    assert 'id="effect-empty"' in html and 'id="effect-table"' not in html and 'id="effect-as-of"' in html


def test_page_query_count_does_not_grow_with_orders(shop):
    sku, _wh = make_sku(shop, price="10.00", stock=100)
    promotion = make_promotion(shop, starts_at=(timezone.now() - timedelta(hours=2)).isoformat())
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/promotions/{promotion.pk}/"
    assert web.get(url).status_code == 200  # warms the access cache

    def computing_get() -> int:
        """Queries of a GET that computes the snapshot (none stored)."""
        PromotionEffect.objects.for_shop(shop).filter(promotion=promotion).delete()
        with CaptureQueriesContext(connection) as ctx:
            assert web.get(url).status_code == 200
        return len(ctx.captured_queries)

    intake(shop, [(sku, 1)], buyer_id="p0")
    one = computing_get()
    for i in range(6):
        intake(shop, [(sku, 1)], buyer_id=f"p{i}")
    assert computing_get() == one
    assert PromotionEffect.objects.for_shop(shop).get(promotion=promotion).during["revenue"] == "63.00"
