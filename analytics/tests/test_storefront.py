"""Storefront events through the integration API: a batch is checked row by row and written at once, as daily
counters per SKU in the shop's zone; a replayed batch adds nothing; another shop's SKU is unknown."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from analytics.models import StorefrontBatch, StorefrontDay
from analytics.services import storefront_events_record
from backoffice.authz import system_actor
from backoffice.errors import Forbidden
from orders.tests.factories import make_sku, platform_user
from tests.fixtures import api_client_for, make_shop, owner_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform():
    return api_client_for(platform_user(), reauth=False)


def url(shop) -> str:
    return f"/api/v1/integration/shops/{shop.pk}/storefront-events/"


def counters(shop) -> dict:
    rows = StorefrontDay.objects.for_shop(shop).values_list("day", "sku_id", "views", "carts", "orders")
    return {(day, sku): (v, c, o) for day, sku, v, c, o in rows}


def test_batch_counts_per_day_in_the_shop_zone_and_a_replay_adds_nothing(shop, platform):
    shop.timezone = "Asia/Vladivostok"  # UTC+10: 20:00Z is the next day there
    shop.save(update_fields=["timezone"])
    a, _wh = make_sku(shop, stock=0)
    b, _wh = make_sku(shop, stock=0)
    day = timezone.now().date() - timedelta(days=3)
    at = f"{day.isoformat()}T20:00:00Z"
    early = f"{day.isoformat()}T09:00:00+10:00"
    events = [
        {"sku": a.code, "kind": "view", "at": at, "session": "s1"},
        {"sku": a.code, "kind": "view", "at": at},
        {"sku": a.code, "kind": "cart", "at": at},
        {"sku": a.code, "kind": "order", "at": at},
        {"sku": b.code, "kind": "view", "at": early},
    ]
    r = platform.post(url(shop), {"batch": "b-1", "events": events}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["events"] == 5 and r.json()["skus"] == 2 and r.json()["batch"] == "b-1"
    expected = {(day + timedelta(days=1), a.pk): (2, 1, 1), (day, b.pk): (1, 0, 0)}
    assert counters(shop) == expected
    # The same batch again (a retry, another integration user): 200, the first answer, nothing added.
    again = api_client_for(platform_user(), reauth=False).post(url(shop), {"batch": "b-1", "events": events},
                                                                format="json")  # fmt: skip
    assert again.status_code == 200 and again.json()["events"] == 5
    assert counters(shop) == expected
    # A new batch adds to the same day rows.
    r = platform.post(url(shop), {"batch": "b-2", "events": events[:1]}, format="json")
    assert r.status_code == 201
    assert counters(shop)[(day + timedelta(days=1), a.pk)] == (3, 1, 1)
    assert StorefrontBatch.objects.for_shop(shop).count() == 2


def test_the_idempotency_key_is_the_batch_key_without_a_batch_id(shop, platform):
    sku, _wh = make_sku(shop, stock=0)
    body = {"events": [{"sku": sku.code, "kind": "view", "at": timezone.now().isoformat()}]}
    assert platform.post(url(shop), body, format="json").status_code == 400  # no key at all
    first = platform.post(url(shop), body, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
    assert first.status_code == 201, first.content
    # Another user (the mixin's replay is per user): the batch key still holds.
    other = api_client_for(platform_user(), reauth=False)
    assert other.post(url(shop), body, format="json", HTTP_IDEMPOTENCY_KEY="k-7").status_code == 200
    assert StorefrontDay.objects.for_shop(shop).get().views == 1


def test_a_batch_id_reused_with_other_events_is_409(shop, platform):
    sku, _wh = make_sku(shop, stock=0)
    now = timezone.now().isoformat()
    assert platform.post(url(shop), {"batch": "x", "events": [{"sku": sku.code, "kind": "view", "at": now}]},
                         format="json").status_code == 201  # fmt: skip
    r = platform.post(url(shop), {"batch": "x", "events": [{"sku": sku.code, "kind": "cart", "at": now}]},
                      format="json")  # fmt: skip
    assert (
        r.status_code == 409 and r.json()["error"]["code"] == "batch_reused" and "batch" in r.json()["error"]["fields"]
    )
    assert StorefrontDay.objects.for_shop(shop).get().carts == 0


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda e: e.update(kind="click"), "events.1.kind"),
        (lambda e: e.update(sku="NOPE"), "events.1.sku"),
        (lambda e: e.pop("sku"), "events.1.sku"),
        (lambda e: e.update(at="2026-11-30T10:00:00"), "events.1.at"),  # no offset
        (lambda e: e.update(at="yesterday"), "events.1.at"),
        (lambda e: e.update(at="2999-01-01T00:00:00Z"), "events.1.at"),
        (lambda e: e.update(at="2001-01-01T00:00:00Z"), "events.1.at"),
        (lambda e: e.update(session=["x"]), "events.1.session"),
        (lambda e: e.update(price="1"), "events.1.price"),
    ],
)
def test_a_bad_row_is_400_naming_it_and_nothing_is_written(shop, platform, mutate, field):
    sku, _wh = make_sku(shop, stock=0)
    now = timezone.now().isoformat()
    events = [{"sku": sku.code, "kind": "view", "at": now}, {"sku": sku.code, "kind": "cart", "at": now}]
    mutate(events[1])
    r = platform.post(url(shop), {"batch": "bad", "events": events}, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"], r.json()
    assert not StorefrontDay.objects.for_shop(shop).exists()
    assert not StorefrontBatch.objects.for_shop(shop).exists()
    # The key was not taken by the refused batch: the corrected batch goes through under it.
    events[1] = {"sku": sku.code, "kind": "cart", "at": now}
    assert platform.post(url(shop), {"batch": "bad", "events": events}, format="json").status_code == 201


@pytest.mark.parametrize(
    "body,field",
    [
        ({"batch": "e", "events": []}, "events"),
        ({"batch": "e", "events": "view"}, "events"),
        ({"batch": "e"}, "events"),
        ({"batch": "x" * 65, "events": [{}]}, "batch"),
        ({"batch": 7, "events": [{}]}, "batch"),
        ({"batch": "e", "events": [7]}, "events.0.event"),
    ],
)
def test_bad_batches_are_400(shop, platform, body, field):
    r = platform.post(url(shop), body, format="json")
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content


def test_a_batch_over_the_limit_is_400(shop, platform):
    sku, _wh = make_sku(shop, stock=0)
    event = {"sku": sku.code, "kind": "view", "at": timezone.now().isoformat()}
    r = platform.post(url(shop), {"batch": "big", "events": [event] * 1001}, format="json")
    assert r.status_code == 400 and "events" in r.json()["error"]["fields"]
    assert platform.post(url(shop), {"batch": "big", "events": [event] * 1000}, format="json").status_code == 201
    assert StorefrontDay.objects.for_shop(shop).get().views == 1000


def test_another_shops_sku_is_unknown_and_changes_neither_shop(shop, platform):
    other = make_shop()
    theirs, _wh = make_sku(other, stock=0)
    mine, _wh = make_sku(shop, stock=0)
    now = timezone.now().isoformat()
    events = [{"sku": mine.code, "kind": "view", "at": now}, {"sku": theirs.code, "kind": "view", "at": now}]
    r = platform.post(url(shop), {"batch": "cross", "events": events}, format="json")
    assert r.status_code == 400 and "events.1.sku" in r.json()["error"]["fields"]
    assert not StorefrontDay.unscoped.filter(shop__in=[shop, other]).exists()


def test_only_platform_staff_and_a_real_shop(shop, platform):
    sku, _wh = make_sku(shop, stock=0)
    body = {"batch": "p", "events": [{"sku": sku.code, "kind": "view", "at": timezone.now().isoformat()}]}
    assert api_client_for(shop.owner).post(url(shop), body, format="json").status_code == 403
    assert platform.post("/api/v1/integration/shops/999999/storefront-events/", body, format="json").status_code == 404
    assert platform.post(url(shop), [body], format="json").status_code == 400
    with pytest.raises(Forbidden):
        storefront_events_record(actor=owner_actor(shop), batch="p", events=body["events"])
    with pytest.raises(TypeError):
        storefront_events_record(actor=shop.owner, batch="p", events=body["events"])
    assert not StorefrontDay.objects.for_shop(shop).exists()


@pytest.mark.django_db(transaction=True)
def test_two_pushes_of_one_batch_racing_count_once():
    shop = make_shop()
    sku, _wh = make_sku(shop, stock=0)
    events = [{"sku": sku.code, "kind": "view", "at": timezone.now().isoformat()}] * 3
    barrier = threading.Barrier(2)
    created = []

    def push():
        try:
            barrier.wait()
            created.append(storefront_events_record(actor=system_actor(shop), batch="race", events=events)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [False, True]
    assert StorefrontDay.objects.for_shop(shop).get().views == 3
    assert isinstance(StorefrontDay.objects.for_shop(shop).get().day, date)
