"""The shop's time zone: the settings form offers the real zones and currencies and refuses others with a
400 on the field; the audit trail (page, API, date filters) is read in the shop's zone; the kernel's zone
helpers (``backoffice.tenancy.zones``): tasks run in the zone of the shop they name and put the previous one
back, a day's bounds across a DST change, a streamed answer produced in the zone, an unknown stored zone."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from celery import shared_task
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts import services
from accounts.models import Shop
from backoffice.authz import load_actor
from backoffice.tenancy.zones import day_bounds, finish_in_zone, local_today, shop_zone
from tests.fixtures import api_client_for, make_shop, web_client_for

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # the 2nd, 01:30, in Moscow
LONG_AGO = datetime(2020, 6, 1, 12, 0, tzinfo=UTC)


def _active_zone() -> str:
    return timezone.get_current_timezone_name()


# The server's zone, what is active outside a shop's request or task (the test run's is not UTC: tests/settings.py).
SERVER_ZONE = timezone.get_default_timezone_name()


@pytest.fixture
def shops(db):
    """One owner, a Moscow shop and a UTC shop, each with one ``shop.updated`` audit entry at MOMENT (and
    everything else long before)."""
    with time_machine.travel(LONG_AGO, tick=False):
        moscow = make_shop("Moscow Goods")
        utc = services.shop_open(user=moscow.owner, shop_name="UTC Goods")
        services.shop_update(actor=load_actor(moscow.owner, moscow), timezone="Europe/Moscow")
        services.shop_update(actor=load_actor(moscow.owner, utc), timezone="UTC")
    with time_machine.travel(MOMENT, tick=False):
        for shop in (moscow, utc):
            services.shop_update(actor=load_actor(moscow.owner, shop), low_stock_default=7)
    moscow.refresh_from_db()
    utc.refresh_from_db()
    return moscow, utc


# ---------------------------------------------------------------- the settings form


def _settings_data(shop: Shop, **changes) -> dict:
    data = {"name": shop.name, "currency": shop.currency, "timezone": shop.timezone, "language": shop.language,
            "low_stock_default": shop.low_stock_default, "return_window_days": shop.return_window_days}  # fmt: skip
    if shop.auto_confirm_orders:
        data["auto_confirm_orders"] = "on"
    return {**data, **changes}


def test_settings_form_offers_the_zones_grouped_and_the_iso_currencies(shops):
    moscow, _utc = shops
    html = web_client_for(moscow.owner).get(f"/shops/{moscow.pk}/settings/").content.decode()
    assert '<optgroup label="Europe">' in html and '<optgroup label="America">' in html
    assert '<option value="Europe/Moscow" selected>Europe/Moscow (UTC+03:00)</option>' in html
    assert '<option value="UTC">UTC</option>' in html and 'value="America/New_York"' in html
    assert 'value="localtime"' not in html and 'value="Factory"' not in html  # not a place a shop is in
    assert '<option value="RUB" selected>RUB</option>' in html
    assert '<option value="EUR">EUR</option>' in html and '<option value="JPY">JPY</option>' in html


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("currency", "ZZZ"),
        ("timezone", "localtime"),
        ("timezone", ""),
        ("currency", "rub"),
    ],  # fmt: skip
)
def test_settings_form_refuses_what_is_not_a_zone_or_a_currency(shops, field, value):
    moscow, _utc = shops
    web = web_client_for(moscow.owner)
    r = web.post(f"/shops/{moscow.pk}/settings/", _settings_data(moscow, **{field: value}))
    assert r.status_code == 400
    html = r.content.decode()
    errors = html.split(f'id="field-{field}"', 1)[1].split('<div class="field', 1)[0]
    assert 'class="errorlist"' in errors
    fresh = Shop.objects.get(pk=moscow.pk)
    assert (fresh.timezone, fresh.currency) == ("Europe/Moscow", "RUB")


def test_a_new_zone_is_used_from_the_next_request(shops):
    moscow, _utc = shops
    web = web_client_for(moscow.owner)
    r = web.post(f"/shops/{moscow.pk}/settings/", _settings_data(moscow, timezone="Asia/Tokyo", currency="EUR"))
    assert r.status_code == 302
    fresh = Shop.objects.get(pk=moscow.pk)
    assert (fresh.timezone, fresh.currency) == ("Asia/Tokyo", "EUR")
    entries = api_client_for(moscow.owner).get(f"/api/v1/shops/{moscow.pk}/audit-log/",
                                               {"action": "shop.updated"}).json()["results"]  # fmt: skip
    assert entries and all(e["created_at"].endswith("+09:00") for e in entries)


# ---------------------------------------------------------------- the audit trail in the shop's zone


def test_audit_page_and_api_read_in_the_shops_zone(shops):
    moscow, utc = shops
    web = web_client_for(moscow.owner)
    api = api_client_for(moscow.owner)
    expected = {moscow: ("2026-03-02 01:30:00", "2026-03-02T01:30:00+03:00"),
                utc: ("2026-03-01 22:30:00", "2026-03-01T22:30:00Z")}  # fmt: skip
    for shop in (moscow, utc, moscow):
        page_text, api_text = expected[shop]
        html = web.get(f"/shops/{shop.pk}/audit/", {"action": "shop.updated"}).content.decode()
        assert f"<td>{page_text}</td>" in html
        first = api.get(f"/api/v1/shops/{shop.pk}/audit-log/", {"action": "shop.updated"}).json()["results"][0]
        assert first["created_at"] == api_text
        assert _active_zone() == SERVER_ZONE


@pytest.mark.parametrize(
    ("params", "in_moscow", "in_utc"),
    [
        ({"date_from": "2026-03-02"}, 1, 0),
        ({"date_to": "2026-03-01", "date_from": "2026-03-01"}, 0, 1),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, 1, 0),
    ],  # fmt: skip
)
def test_audit_date_filters_mean_the_shops_days(shops, params, in_moscow, in_utc):
    moscow, utc = shops
    web = web_client_for(moscow.owner)
    api = api_client_for(moscow.owner)
    for shop, expected in ((moscow, in_moscow), (utc, in_utc)):
        found = api.get(f"/api/v1/shops/{shop.pk}/audit-log/", params).json()["results"]
        assert len(found) == expected
        html = web.get(f"/shops/{shop.pk}/audit/", params).content.decode()
        assert html.count("<td>2026-03-0") == expected


def test_a_shop_with_an_unknown_stored_zone_is_shown_in_utc_not_a_500(shops, caplog):
    moscow, _utc = shops
    Shop.objects.filter(pk=moscow.pk).update(timezone="Mars/Olympus")  # a row from before the check
    with caplog.at_level(logging.WARNING, logger="backoffice.tenancy.zones"):
        r = web_client_for(moscow.owner).get(f"/shops/{moscow.pk}/audit/", {"action": "shop.updated"})
    assert r.status_code == 200 and "<td>2026-03-01 22:30:00</td>" in r.content.decode()
    assert "Mars/Olympus" in caplog.text


# ---------------------------------------------------------------- kernel: tasks, days, streamed answers


@shared_task(name="accounts.tests.test_timezone.zone_probe")
def zone_probe(*, shop_id=None, fail: bool = False) -> str:
    name = timezone.get_current_timezone_name()
    if fail:
        raise RuntimeError(name)
    return name


def test_a_task_runs_in_the_zone_of_the_shop_it_names_and_puts_the_previous_one_back(shops):
    moscow, utc = shops
    assert zone_probe.apply(kwargs={"shop_id": moscow.pk}).get() == "Europe/Moscow"
    assert _active_zone() == SERVER_ZONE
    assert zone_probe.apply(kwargs={"shop_id": utc.pk}).get() == "UTC"
    # Run eagerly inside a request (or another task) of another zone: that zone is back afterwards.
    with timezone.override("Asia/Tokyo"):
        assert zone_probe.apply(kwargs={"shop_id": moscow.pk}).get() == "Europe/Moscow"
        assert _active_zone() == "Asia/Tokyo"
        with pytest.raises(RuntimeError, match="Europe/Moscow"):
            zone_probe.apply(kwargs={"shop_id": moscow.pk, "fail": True}, throw=True)
        assert _active_zone() == "Asia/Tokyo"
        # No shop, or one that does not exist or is not an id: the task keeps what is active.
        for kwargs in ({}, {"shop_id": 2**62}, {"shop_id": "1"}, {"shop_id": True}):
            assert zone_probe.apply(kwargs=kwargs).get() == "Asia/Tokyo"
    assert _active_zone() == SERVER_ZONE


def test_day_bounds_and_today():
    from zoneinfo import ZoneInfo

    moscow, new_york = ZoneInfo("Europe/Moscow"), ZoneInfo("America/New_York")
    start, end = day_bounds(date(2026, 3, 2), moscow)
    assert (start, end) == (datetime(2026, 3, 1, 21, 0, tzinfo=UTC), datetime(2026, 3, 2, 21, 0, tzinfo=UTC))
    assert start <= MOMENT < end
    # The day the clocks go forward is 23 hours long; the day they go back, 25.
    spring, autumn = day_bounds(date(2026, 3, 8), new_york), day_bounds(date(2026, 11, 1), new_york)
    assert spring[1] - spring[0] == timedelta(hours=23) and autumn[1] - autumn[0] == timedelta(hours=25)
    assert local_today(moscow, now=MOMENT) == date(2026, 3, 2) and local_today(UTC, now=MOMENT) == date(2026, 3, 1)
    with timezone.override(moscow):
        assert local_today(now=MOMENT) == date(2026, 3, 2) and day_bounds(date(2026, 3, 2))[0] == start


def test_a_streamed_answer_is_produced_in_the_zone_and_releases_it_between_chunks():
    from zoneinfo import ZoneInfo

    seen_between: list[str] = []

    def body():
        for _ in range(3):
            yield timezone.get_current_timezone_name() + "\n"

    response = finish_in_zone(StreamingHttpResponse(body()), ZoneInfo("Europe/Moscow"))
    chunks = []
    for chunk in response.streaming_content:
        chunks.append(chunk)
        seen_between.append(_active_zone())
    assert chunks == [b"Europe/Moscow\n"] * 3 and seen_between == [SERVER_ZONE] * 3


def test_shop_zone_of_a_shop():
    class Row:
        pk = 1
        timezone = "Asia/Kolkata"

    assert str(shop_zone(Row())) == "Asia/Kolkata"
    Row.timezone = "../../etc/passwd"
    assert shop_zone(Row()) is not None and str(shop_zone(Row())) == "UTC"
