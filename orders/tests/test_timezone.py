"""The shop's time zone in orders: pages and the API show the shop's local time (two shops of one owner,
Europe/Moscow and UTC, through the same code path, and no zone left behind between requests); a day in
``date_from``/``date_to`` is the shop's day; "due today" is the shop's today while "overdue" is the same
instant everywhere; the overdue scan and an export built by a task use the shop's zone with no request."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services as accounts
from backoffice.authz import load_actor
from backoffice.tenancy.zones import shop_today
from orders import selectors, services
from orders.models import ExportJob, Order, OrderEvent
from orders.services.deadlines import due_today_count
from orders.tasks import scan_overdue_for_shop
from orders.tests.factories import intake, make_sku
from tests.fixtures import api_client_for, make_shop, web_client_for

pytestmark = pytest.mark.django_db

# 22:30 UTC on the 1st is 01:30 on the 2nd in Moscow (UTC+03:00 all year).
MOMENT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
MOSCOW_TEXT, UTC_TEXT = "2026-03-02 01:30", "2026-03-01 22:30"


@pytest.fixture
def shops(db):
    """One owner, two shops: Moscow and UTC, each with one open order created (and due) at MOMENT."""
    moscow = make_shop("Moscow Goods")
    owner = moscow.owner
    utc = accounts.shop_open(user=owner, shop_name="UTC Goods")
    accounts.shop_update(actor=load_actor(owner, moscow), timezone="Europe/Moscow")
    accounts.shop_update(actor=load_actor(owner, utc), timezone="UTC")
    orders = {}
    for shop in (moscow, utc):
        shop.refresh_from_db()
        sku, _wh = make_sku(shop, stock=5)
        order = intake(shop, sku)
        Order.objects.for_shop(shop).filter(pk=order.pk).update(created_at=MOMENT, ship_by=MOMENT)
        orders[shop.timezone] = order
    return moscow, utc, orders


def _active_zone() -> str:
    return timezone.get_current_timezone_name()


# The server's zone, what is active outside a shop's request or task (the test run's is not UTC: tests/settings.py).
SERVER_ZONE = timezone.get_default_timezone_name()


def test_pages_show_each_shops_local_time_and_leave_no_zone_behind(shops):
    moscow, utc, orders = shops
    web = web_client_for(moscow.owner, reauth=False)
    # The test client serves the request on this thread: a zone left active would show here.
    for shop, mine, other in [(moscow, MOSCOW_TEXT, UTC_TEXT), (utc, UTC_TEXT, MOSCOW_TEXT),
                              (moscow, MOSCOW_TEXT, UTC_TEXT)]:  # fmt: skip
        order = orders[shop.timezone]
        html = web.get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
        assert f"<dt>Created</dt><dd>{mine}</dd>" in html and f"<dt>Ship by</dt><dd>{mine}</dd>" in html
        assert other not in html
        listing = web.get(f"/shops/{shop.pk}/orders/").content.decode()
        assert mine in listing and other not in listing
        assert _active_zone() == SERVER_ZONE
    # Whatever was active around a request is what is active after it (restored, not reset).
    with timezone.override("Asia/Tokyo"):
        web.get(f"/shops/{moscow.pk}/orders/{orders['Europe/Moscow'].pk}/")
        assert _active_zone() == "Asia/Tokyo"


def test_a_refused_page_action_is_shown_in_the_shops_zone_and_leaves_none_behind(shops):
    moscow, _utc, orders = shops
    order = orders["Europe/Moscow"]
    web = web_client_for(moscow.owner, reauth=False)
    # Delivering an order that was never packed: the service refuses (409), the page says why.
    r = web.post(f"/shops/{moscow.pk}/orders/{order.pk}/deliver/")
    assert r.status_code == 409 and _active_zone() == SERVER_ZONE


def test_the_api_gives_iso_datetimes_with_the_shops_offset(shops):
    moscow, utc, orders = shops
    api = api_client_for(moscow.owner)
    expected = {moscow: "2026-03-02T01:30:00+03:00", utc: "2026-03-01T22:30:00Z"}
    for shop in (moscow, utc, moscow):
        order = orders[shop.timezone]
        detail = api.get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/").json()
        listed = api.get(f"/api/v1/shops/{shop.pk}/orders/").json()["results"][0]  # the list's own fast path
        for body in (detail, listed):
            assert body["created_at"] == body["ship_by"] == expected[shop]
            assert datetime.fromisoformat(body["created_at"]) == MOMENT  # the same instant, with its offset
        assert _active_zone() == SERVER_ZONE


def test_the_lists_fast_path_and_the_serializer_agree_in_the_shops_zone(shops):
    """``order_rows`` (the list's fast path) renders in the active zone, as DRF's fields do: in the shop's
    zone both give the API's answer."""
    from backoffice.tenancy.zones import shop_timezone
    from orders.api.serializers import ORDER_LIST_FIELDS, OrderListSerializer, order_rows

    moscow, _utc, _orders = shops
    actor = load_actor(moscow.owner, moscow)
    listed = api_client_for(moscow.owner).get(f"/api/v1/shops/{moscow.pk}/orders/").json()["results"]
    with shop_timezone(moscow):
        orders = list(Order.objects.for_shop(moscow).prefetch_related("lines").order_by("-id"))
        expected = [dict(x) for x in OrderListSerializer(orders, many=True, context={"actor": actor}).data]
        rows = list(Order.objects.for_shop(moscow).order_by("-id").values(*ORDER_LIST_FIELDS))
        fast = order_rows(rows, selectors.lines_by_order(shop=moscow, order_ids=[o.pk for o in orders]), visible=True)
    assert listed == fast == expected and listed[0]["created_at"].endswith("+03:00")


@pytest.mark.parametrize(
    ("params", "in_moscow", "in_utc"),
    [
        ({"date_from": "2026-03-02"}, True, False),  # the 2nd in Moscow, still the 1st in UTC
        ({"date_to": "2026-03-01"}, False, True),
        ({"date_from": "2026-03-01", "date_to": "2026-03-01"}, False, True),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, True, False),
        # A moment with its offset means that instant everywhere.
        ({"date_from": "2026-03-01T23:00:00Z"}, False, False),
        ({"date_from": "2026-03-02T01:00:00+03:00"}, True, True),
    ],
)
def test_date_filters_mean_the_shops_days(shops, params, in_moscow, in_utc):
    moscow, utc, orders = shops
    api = api_client_for(moscow.owner)
    web = web_client_for(moscow.owner, reauth=False)
    for shop, expected in ((moscow, in_moscow), (utc, in_utc)):
        order = orders[shop.timezone]
        ids = [o["id"] for o in api.get(f"/api/v1/shops/{shop.pk}/orders/", params).json()["results"]]
        assert ids == ([order.pk] if expected else [])
        html = web.get(f"/shops/{shop.pk}/orders/", params).content.decode()
        assert html.count("data-order=") == (1 if expected else 0)


@pytest.mark.parametrize(
    ("now", "moscow_due", "utc_due"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 0, 1),  # 15:00 on the 1st in Moscow: it is due tomorrow there
        (datetime(2026, 3, 1, 21, 30, tzinfo=UTC), 1, 1),  # 00:30 on the 2nd in Moscow
        (datetime(2026, 3, 2, 21, 30, tzinfo=UTC), 0, 0),  # the 3rd in Moscow, the 2nd in UTC
    ],
)
def test_due_today_is_the_shops_today(shops, now, moscow_due, utc_due):
    moscow, utc, _orders = shops
    assert due_today_count(actor=load_actor(moscow.owner, moscow), now=now) == moscow_due
    assert due_today_count(actor=load_actor(utc.owner, utc), now=now) == utc_due
    # The same answer whatever zone the caller happens to have active (a worker has UTC, a request its shop's).
    with timezone.override("Pacific/Kiritimati"):
        assert due_today_count(actor=load_actor(moscow.owner, moscow), now=now) == moscow_due


def test_shop_today_and_overdue(shops):
    moscow, utc, _orders = shops
    late_evening = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
    assert shop_today(shop=moscow, now=late_evening).isoformat() == "2026-03-02"
    assert shop_today(shop=utc, now=late_evening).isoformat() == "2026-03-01"
    # Overdue compares instants: the same in both shops, a minute either side of the deadline.
    for minutes, late in ((-1, 0), (1, 1)):
        with time_machine.travel(MOMENT + timedelta(minutes=minutes), tick=False):
            for shop in (moscow, utc):
                assert selectors.overdue_count(shop=shop, actor=load_actor(shop.owner, shop)) == late


def test_the_overdue_scan_task_writes_the_deadline_in_the_shops_zone(shops):
    moscow, utc, orders = shops
    with time_machine.travel(MOMENT + timedelta(hours=1), tick=False):
        for shop in (moscow, utc):
            # Through Celery's own machinery (as a worker runs it), with no request and UTC active.
            assert scan_overdue_for_shop.apply(kwargs={"shop_id": shop.pk}, throw=True).get()["overdue"] == 1
            assert _active_zone() == SERVER_ZONE
    moscow_event = OrderEvent.objects.for_shop(moscow).get(order=orders["Europe/Moscow"], kind="overdue")
    utc_event = OrderEvent.objects.for_shop(utc).get(order=orders["UTC"], kind="overdue")
    assert moscow_event.data["ship_by"] == "2026-03-02T01:30:00+03:00"
    assert utc_event.data["ship_by"] == "2026-03-01T22:30:00+00:00"


def _export_rows(shop, filters, django_capture_on_commit_callbacks) -> list[list[str]]:
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly) once the job commits
        job = services.export_create(actor=load_actor(shop.owner, shop), fmt="csv", filters=filters)
    job = ExportJob.objects.for_shop(shop).get(pk=job.pk)
    assert job.status == ExportJob.Status.DONE, job.message
    with job.file.open("rb") as fh:
        return list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))[1:]


def test_an_export_built_by_a_task_uses_the_shops_zone(shops, settings, tmp_path, django_capture_on_commit_callbacks):
    """The build runs in a task (no request: UTC active); the task takes its zone from its ``shop_id``,
    so the file's times and its ``date_from=<day>`` are the shop's, as on the page that asked for it."""
    settings.MEDIA_ROOT = tmp_path
    moscow, utc, orders = shops
    moscow_rows = _export_rows(moscow, {"date_from": "2026-03-02"}, django_capture_on_commit_callbacks)
    assert [r[0] for r in moscow_rows] == [orders["Europe/Moscow"].number]
    assert moscow_rows[0][2] == MOSCOW_TEXT and moscow_rows[0][5] == MOSCOW_TEXT  # created_at, ship_by
    assert _export_rows(utc, {"date_from": "2026-03-02"}, django_capture_on_commit_callbacks) == []
    utc_rows = _export_rows(utc, {"date_to": "2026-03-01"}, django_capture_on_commit_callbacks)
    assert [(r[0], r[2]) for r in utc_rows] == [(orders["UTC"].number, UTC_TEXT)]
    assert _active_zone() == SERVER_ZONE


@pytest.mark.worker
def test_a_real_worker_builds_the_export_in_the_shops_zone(celery_worker, settings, tmp_path):
    from tests.fixtures import wait_until

    settings.MEDIA_ROOT = tmp_path
    shop = make_shop("Moscow Worker")
    accounts.shop_update(actor=load_actor(shop.owner, shop), timezone="Europe/Moscow")
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku)
    Order.objects.for_shop(shop).filter(pk=order.pk).update(created_at=MOMENT, ship_by=MOMENT)
    job = services.export_create(actor=load_actor(shop.owner, shop), fmt="csv", filters={"date_from": "2026-03-02"})
    wait_until(lambda: ExportJob.objects.for_shop(shop).get(pk=job.pk).status in ("done", "failed"))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows == 1, job.message
    with job.file.open("rb") as fh:
        row = list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))[1]
    assert row[0] == order.number and row[2] == MOSCOW_TEXT
