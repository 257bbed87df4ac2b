"""Issue 11: an export keeps the list's filters whatever the format and the export list says them in words; an
impossible date or number in a filter is refused with the filter named (pages and API, never a 500), before
an export starts; an export whose build fails for any reason ends ``failed`` with the reason; tracking
statuses read in words; the list's bulk buttons never send the CSRF token by GET."""

from __future__ import annotations

import re

import pytest
import redis
from django.test import Client

from backoffice.authz import system_actor
from backoffice.errors import ValidationFailed
from orders import selectors, services
from orders.models import ExportJob, Order
from orders.tests.factories import intake, make_sku, order_in
from tests.fixtures import api_client_for, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
S = Order.State
BAD_DATE = "Use a real date, YYYY-MM-DD, or an ISO date-time."


# -- the export page keeps the list's filters ------------------------------------------------------


def test_after_an_export_starts_the_page_keeps_the_filters_for_the_next_format(shop):
    order_in(shop, S.DELIVERED)
    web = web_client_for(shop.owner)
    page = f"/shops/{shop.pk}/orders/exports/?state=delivered&date_from=2026-11-01&sort=-id&page=1"
    html = web.get(page).content.decode()
    assert 'name="state" value="delivered"' in html and 'name="date_from" value="2026-11-01"' in html
    assert 'name="sort"' not in html and 'name="page"' not in html  # only what an export can filter by
    r = web.post(page, {"format": "csv", "state": "delivered", "date_from": "2026-11-01"})
    assert r.status_code == 302 and r["Location"].endswith("/orders/exports/?state=delivered&date_from=2026-11-01")
    html = web.get(r["Location"]).content.decode()
    assert 'name="state" value="delivered"' in html and 'name="date_from" value="2026-11-01"' in html
    r = web.post(r["Location"], {"format": "xlsx", "state": "delivered", "date_from": "2026-11-01"})
    assert r.status_code == 302
    jobs = ExportJob.objects.for_shop(shop).order_by("id")
    assert [(j.fmt, j.filters) for j in jobs] == [("csv", {"state": "delivered", "date_from": "2026-11-01"}),
                                                  ("xlsx", {"state": "delivered", "date_from": "2026-11-01"})]  # fmt: skip


def test_the_export_list_says_each_files_filters_in_words(shop):
    sku, wh = make_sku(shop)
    actor = owner_actor(shop)
    everything = services.export_create(actor=actor, fmt="csv")
    narrowed = services.export_create(actor=actor, fmt="xlsx", filters={
        "state": "delivered,cancelled", "date_from": "2026-11-01", "date_to": "2026-11-30",
        "delivery_method": "express", "overdue": "1", "warehouse": str(wh.pk), "search": "MP-1"})  # fmt: skip
    r = web_client_for(shop.owner).get(f"/shops/{shop.pk}/orders/exports/")
    cells = dict(re.findall(r'<tr data-export="(\d+)">.*?<td class="order-filters" data-filters>(.*?)</td>',
                            r.content.decode()))  # fmt: skip
    assert cells == {
        str(everything.pk): "All orders",
        str(narrowed.pk): "State: Delivered, Cancelled · From 2026-11-01 · To 2026-11-30 · Delivery: Express · "
        f"Overdue only · Warehouse: {wh.name} · Search: “MP-1”",
    }


def test_an_export_of_the_due_today_list_keeps_that_filter(shop):
    job = services.export_create(actor=owner_actor(shop), fmt="csv", filters={"due": "today", "page": "2"})
    assert job.filters == {"due": "today"}
    assert selectors.order_filters_text(filters=job.filters) == "Due today"


def test_a_warehouse_the_member_cannot_see_is_named_by_its_id():
    assert selectors.order_filters_text(filters={"warehouse": "12", "overdue": "0"}) == "Not overdue · Warehouse: #12"


# -- impossible dates and numbers in filters -------------------------------------------------------


def test_an_impossible_date_in_the_list_is_refused_naming_the_filter(shop):
    web = web_client_for(shop.owner)
    for field, label in (("date_from", "From"), ("date_to", "To")):
        r = web.get(f"/shops/{shop.pk}/orders/", {field: "2026-02-30", "state": "delivered"})
        assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/orders/"
        assert f"{label}: {BAD_DATE}" in web.get(r["Location"]).content.decode()
    r = web.get(f"/shops/{shop.pk}/returns/", {"order": "²"})
    assert r.status_code == 302 and "Order: Enter a whole number." in web.get(r["Location"]).content.decode()
    r = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/orders/", {"date_from": "2026-02-30"})
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"date_from": [BAD_DATE]}


def test_the_export_page_refuses_an_impossible_date_before_an_export_starts(shop):
    web = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/orders/exports/"
    r = web.get(url, {"state": "delivered", "date_from": "2026-02-30"})
    assert r.status_code == 302 and r["Location"] == url
    assert f"From: {BAD_DATE}" in web.get(r["Location"]).content.decode()
    r = web.post(f"{url}?date_to=2026-02-30", {"format": "csv", "date_to": "2026-02-30"})
    assert r.status_code == 400
    assert r.context["form"].non_field_errors() == [f"To: {BAD_DATE}"]
    r = api_client_for(shop.owner).post(f"/api/v1/shops/{shop.pk}/order-exports/",
                                        {"format": "xlsx", "filters": {"date_from": "2026-02-30"}}, format="json")  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"date_from": [BAD_DATE]}
    assert not ExportJob.objects.for_shop(shop).exists()


# Past the ends of the calendar in UTC, though real where they are written.
BEYOND_UTC = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]
HOSTILE = ["2026-02-30", "2026-13-01", "2026-02-28T25:00:00", "0001-01-01", "9999-12-31", *BEYOND_UTC,
           "²", "9" * 30, "-1", "0", "1e5", "1.5", "", " "]  # fmt: skip


def test_a_date_that_does_not_exist_in_utc_is_refused_like_an_impossible_one(shop):
    """On SQLite (the embedded default) such a date was a 500: its adapter converts to UTC and overflows."""
    for field in ("date_from", "date_to"):
        for value in BEYOND_UTC:
            with pytest.raises(ValidationFailed) as caught:
                selectors.order_list(shop=shop, actor=owner_actor(shop), filters={field: value})
            assert caught.value.fields == {field: [BAD_DATE]}
            with pytest.raises(ValidationFailed):
                services.export_create(actor=owner_actor(shop), fmt="csv", filters={field: value})
    assert not ExportJob.objects.for_shop(shop).exists()


def test_no_orders_list_answers_500_to_a_hostile_filter_or_page(shop):
    order_in(shop, S.DELIVERED)
    web, api = web_client_for(shop.owner), api_client_for(shop.owner)
    s = shop.pk
    lists = {
        web: [f"/shops/{s}/orders/", f"/shops/{s}/returns/", f"/shops/{s}/orders/exports/"],
        api: [f"/api/v1/shops/{s}/orders/", f"/api/v1/shops/{s}/returns/", f"/api/v1/shops/{s}/refunds/",
              f"/api/v1/shops/{s}/order-exports/"],
    }  # fmt: skip
    keys = ["date_from", "date_to", "warehouse", "order", "state", "delivery_method", "overdue", "sort", "page",
            "page_size", "cursor"]  # fmt: skip
    answers = {}
    for client, urls in lists.items():
        for url in urls:
            for key in keys:
                for value in HOSTILE:
                    answers[(url, key, value)] = client.get(url, {key: value}).status_code
    assert {k: v for k, v in answers.items() if v not in (200, 302, 400, 404)} == {}
    # A page number past the end shows the last page, however large.
    r = web.get(f"/shops/{s}/orders/", {"page": "9" * 30})
    assert r.status_code == 200 and r.context["page"].number == 1
    assert answers[(f"/api/v1/shops/{s}/orders/", "date_to", "2026-13-01")] == 400


# -- a failing export ends failed ----------------------------------------------------------------------


def test_an_export_whose_worker_cannot_read_the_member_ends_failed(shop, monkeypatch):
    """Any failure after the job was claimed, here the access cache (Redis) going away while the worker reads
    the member's permissions: the job ends failed with a reason, never left running."""
    order_in(shop, S.AWAITING_PACKAGING)
    job = services.export_create(actor=owner_actor(shop), fmt="csv")

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Redis went away")

    monkeypatch.setattr(redis.Redis, "mget", unreachable)
    finished = services.export_build(actor=system_actor(shop), job_id=job.pk)
    job.refresh_from_db()
    assert (finished.status, job.status) == ("failed", "failed") and job.finished_at is not None
    assert "could not be built" in job.message and "Redis" not in job.message


def test_an_export_whose_filter_no_longer_holds_ends_failed_naming_it(shop):
    job = services.export_create(actor=owner_actor(shop), fmt="csv")
    ExportJob.objects.for_shop(shop).filter(pk=job.pk).update(filters={"date_to": "2026-02-30"})
    job = services.export_build(actor=system_actor(shop), job_id=job.pk)
    assert job.status == "failed" and job.message == f"The export could not be built: {BAD_DATE}"


# -- tracking statuses in words -----------------------------------------------------------------------


def test_tracking_statuses_read_in_words_on_the_order_page(shop):
    order = order_in(shop, S.DELIVERING)
    platform = system_actor(shop)
    for status in ("accepted", "in_transit", "out_for_delivery", "failed_attempt"):
        services.order_tracking_event(actor=platform, order=order, status=status, location="Kazan")
    html = web_client_for(shop.owner).get(f"/shops/{shop.pk}/orders/{order.pk}/").content.decode()
    badges = re.findall(r'<span class="badge" data-status="(\w+)">([^<]*)</span>', html)
    assert badges == [("accepted", "Accepted by the carrier"), ("in_transit", "In transit"),
                      ("out_for_delivery", "Out for delivery"), ("failed_attempt", "Delivery attempt failed")]  # fmt: skip
    event = order.events.filter(kind="tracking").first()
    event.data["status"] = "lost_in_space"  # a code from a newer carrier feed: shown as it came
    assert event.status_label == "lost_in_space"


# -- the bulk buttons never send the CSRF token by GET ------------------------------------------------


def test_the_order_list_puts_the_csrf_token_only_on_the_button_that_posts(shop):
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku)
    operator = make_member(shop, "operator")
    web = Client(enforce_csrf_checks=True)
    web.force_login(operator.user)
    html = web.get(f"/shops/{shop.pk}/orders/").content.decode()
    bulk_form = re.search(r'<form method="post" action="[^"]*/orders/bulk/" id="bulk-form">(.*?)</form>', html, re.S)
    assert bulk_form and "csrfmiddlewaretoken" not in bulk_form.group(1)
    token = re.search(r'<button[^>]*name="csrfmiddlewaretoken" value="([^"]+)"[^>]*id="bulk-confirm"', html)
    assert token
    for button in ("bulk-pack", "bulk-print"):
        tag = re.search(rf'<button[^>]*id="{button}"[^>]*>', html).group(0)
        assert 'formmethod="get"' in tag and "csrfmiddlewaretoken" not in tag
    # The token from the button is the one the POST needs.
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [order.pk]})
    assert r.status_code == 403
    r = web.post(f"/shops/{shop.pk}/orders/bulk/", {"ids": [order.pk], "csrfmiddlewaretoken": token.group(1)})
    assert r.status_code in (302, 409)


def test_a_stale_page_that_sends_the_token_by_get_is_sent_to_the_address_without_it(shop):
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku)
    web = web_client_for(shop.owner)
    for path in ("bulk-pack", "slips"):
        r = web.get(f"/shops/{shop.pk}/orders/{path}/?csrfmiddlewaretoken=SECRET&ids={order.pk}")
        assert (r.status_code, r["Location"]) == (302, f"/shops/{shop.pk}/orders/{path}/?ids={order.pk}")
        assert web.get(r["Location"]).status_code == 200
