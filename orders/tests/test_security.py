"""Issue 9 in orders: category scope limits orders (finding 3), every id / number / date input answers
400 and never 500 (finding 6), exports survive control characters and escape formulas, and a build
that raises ends ``failed`` (findings 5, 10), responses with buyer data are not cached (finding 15)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from backoffice.authz import load_actor, system_actor
from backoffice.errors import Forbidden
from catalog import services as catalog
from orders import services
from orders.models import ExportJob, Order, OrderEvent
from orders.tests.factories import BUYER, intake, make_sku, order_in, platform_user, return_in
from tests.fixtures import api_client_for, count_queries, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db
S = Order.State


# -- finding 3: a category-limited member reaches only orders with a line in their categories ----------


@pytest.fixture
def by_category(shop):
    """Categories A and B; an order all in A, one all in B, one mixed; an operator limited to A."""
    actor = owner_actor(shop)
    cat_a = catalog.category_create(actor=actor, name="Shoes")
    cat_b = catalog.category_create(actor=actor, name="Hats")
    sku_a, wh = make_sku(shop, stock=50, category=cat_a)
    sku_b, _wh = make_sku(shop, stock=50, category=cat_b, warehouse=wh)
    in_a = intake(shop, sku_a)
    in_b = intake(shop, sku_b)
    mixed, _created = services.order_intake(
        actor=system_actor(shop), external_id="MIXED-1", delivery_method="standard", buyer=BUYER,
        lines=[{"sku": sku_b.code, "quantity": 1, "unit_price": Decimal("1.00")},
               {"sku": sku_a.code, "quantity": 1, "unit_price": Decimal("1.00")}],
    )  # fmt: skip
    member = make_member(shop, "operator", scopes={"category": [cat_a.pk]})
    return {"a": in_a, "b": in_b, "mixed": mixed, "member": member, "sku_a": sku_a, "sku_b": sku_b}


def test_category_scope_limits_the_order_api(shop, by_category):
    in_a, in_b, mixed = by_category["a"], by_category["b"], by_category["mixed"]
    api = api_client_for(by_category["member"].user)
    base = f"/api/v1/shops/{shop.pk}/orders/"
    listed = {o["id"] for o in api.get(base).json()["results"]}
    assert listed == {in_a.pk, mixed.pk}
    assert api.get(f"{base}{in_b.pk}/").status_code == 404
    assert api.get(f"{base}{mixed.pk}/").status_code == 200
    r = api.post(f"{base}{in_b.pk}/cancel/", {"reason": "buyer_request"}, format="json")
    assert r.status_code == 404
    r = api.post(f"{base}bulk-pack/", {"orders": [{"id": in_b.pk, "carrier": "C", "tracking_number": "T"}]},
                 format="json")  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["fields"] == {str(in_b.pk): ["Not found."]}
    in_b.refresh_from_db()
    assert in_b.state == S.AWAITING_PACKAGING and not in_b.tracking_number
    assert OrderEvent.objects.for_shop(shop).filter(order=in_b).count() == 1
    assert api.post(f"{base}{mixed.pk}/cancel/", {"reason": "buyer_request"}, format="json").status_code == 200


def test_category_scope_limits_the_services(shop, by_category):
    actor = load_actor(by_category["member"].user, shop)
    with pytest.raises(Forbidden):
        services.order_cancel(actor=actor, order=by_category["b"], reason="buyer_request")
    assert Order.objects.for_shop(shop).get(pk=by_category["b"].pk).state == S.AWAITING_PACKAGING


def test_category_scope_limits_the_order_pages(shop, by_category):
    in_a, in_b, mixed = by_category["a"], by_category["b"], by_category["mixed"]
    web = web_client_for(by_category["member"].user)
    html = web.get(f"/shops/{shop.pk}/orders/").content.decode()
    assert in_a.number in html and mixed.number in html and in_b.number not in html
    assert web.get(f"/shops/{shop.pk}/orders/{in_b.pk}/").status_code == 404
    assert web.get(f"/shops/{shop.pk}/orders/{in_b.pk}/slip/").status_code == 404
    slips = web.get(f"/shops/{shop.pk}/orders/slips/", {"ids": f"{in_b.pk},{in_a.pk}"}).content.decode()
    assert in_a.number in slips and in_b.number not in slips
    assert web.post(f"/shops/{shop.pk}/orders/{in_b.pk}/cancel/", {"reason": "buyer_request"}).status_code == 404
    assert Order.objects.for_shop(shop).get(pk=in_b.pk).state == S.AWAITING_PACKAGING
    assert web.get(f"/shops/{shop.pk}/orders/{mixed.pk}/").status_code == 200


def test_category_scoped_export_holds_only_in_scope_orders(shop, by_category, django_capture_on_commit_callbacks):
    api = api_client_for(by_category["member"].user)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "csv"}, format="json")
    assert r.status_code == 201, r.content
    job = ExportJob.objects.for_shop(shop).get(pk=r.json()["id"])
    assert job.status == "done" and job.rows == 2
    content = b"".join(api.get(f"/api/v1/shops/{shop.pk}/order-exports/{job.pk}/download/").streaming_content)
    text = content.decode("utf-8-sig")
    assert by_category["a"].number in text and by_category["mixed"].number in text
    assert by_category["b"].number not in text


def test_category_scoped_order_list_queries_stay_constant(shop, by_category):
    for _ in range(20):
        intake(shop, by_category["sku_a"])
        intake(shop, by_category["sku_b"])
    api = api_client_for(by_category["member"].user)
    url = f"/api/v1/shops/{shop.pk}/orders/"
    small, response = count_queries(api, url, page_size=2)
    assert len(response.json()["results"]) == 2
    large, response = count_queries(api, url, page_size=30)
    assert len(response.json()["results"]) == 22 and small == large


def test_category_scoped_returns_and_refunds(shop, by_category):
    delivered_b = order_in(shop, S.DELIVERED, sku=by_category["sku_b"])
    ret = return_in(shop, "requested", order=delivered_b)
    services.refund_create(actor=owner_actor(shop), order=delivered_b, amount=Decimal("1.00"), reason="goodwill")
    api = api_client_for(by_category["member"].user)
    assert api.get(f"/api/v1/shops/{shop.pk}/returns/").json()["results"] == []
    assert api.get(f"/api/v1/shops/{shop.pk}/refunds/").json()["results"] == []
    assert api.get(f"/api/v1/shops/{shop.pk}/returns/{ret.pk}/").status_code == 404


# -- finding 6: ids, numbers, dates in every filter and body field: 400, never 500 --------------------

UNICODE_DIGIT = "²"
HUGE = "12345678901234567890"
HUGE_INT = 12345678901234567890
BAD_DAY = "2026-02-30"


@pytest.fixture
def world(shop):
    owner = owner_actor(shop)
    sku, wh = make_sku(shop, stock=20)
    packing = order_in(shop, S.AWAITING_PACKAGING, sku=sku)
    ret = return_in(shop, "approved", order=order_in(shop, S.DELIVERED, sku=sku))
    received = return_in(shop, "received", order=order_in(shop, S.DELIVERED, sku=sku))
    job = services.export_create(actor=owner, fmt="csv")
    return {"order": packing, "line": packing.lines.first(), "return": ret, "received": received, "wh": wh,
            "job": job}  # fmt: skip


def _api_cases(shop, w):
    """(method, path, query-or-body builder taking the bad value) for every id/number/date input."""
    s = f"/api/v1/shops/{shop.pk}"
    o, line, ret, received = w["order"], w["line"], w["return"], w["received"]

    def pack(v, where):
        pkg = {"tracking_number": "T", "lines": [{"line": line.pk, "quantity": 1}]}
        pkg["lines"][0][where] = v
        return {"carrier": "C", "tracking_number": "T", "packages": [pkg]}

    return [
        ("get", f"{s}/orders/", lambda v: {"warehouse": v}),
        ("get", f"{s}/orders/", lambda v: {"date_from": v}),
        ("get", f"{s}/orders/", lambda v: {"date_to": v}),
        ("get", f"{s}/returns/", lambda v: {"order": v}),
        ("get", f"{s}/refunds/", lambda v: {"order": v}),
        ("post", f"{s}/orders/bulk-confirm/", lambda v: {"ids": [v]}),
        ("post", f"{s}/orders/bulk-pack/", lambda v: {"orders": [{"id": v, "carrier": "C", "tracking_number": "T"}]}),
        ("post", f"{s}/orders/{o.pk}/pack/", lambda v: pack(v, "line")),
        ("post", f"{s}/orders/{o.pk}/pack/", lambda v: pack(v, "quantity")),
        ("post", f"{s}/returns/", lambda v: {"order": v, "lines": [{"line": line.pk, "quantity": 1}], "reason": "r"}),
        ("post", f"{s}/returns/", lambda v: {"order": o.pk, "lines": [{"line": v, "quantity": 1}], "reason": "r"}),
        (
            "post",
            f"{s}/returns/",
            lambda v: {"order": o.pk, "lines": [{"line": line.pk, "quantity": v}], "reason": "r"},
        ),
        ("post", f"{s}/returns/{ret.pk}/receive/", lambda v: {"warehouse": v}),
        ("post", f"{s}/returns/{ret.pk}/receive/", lambda v: {"lines": [{"id": v, "warehouse": None}]}),
        ("post", f"{s}/returns/{ret.pk}/receive/", lambda v: {"lines": [{"id": 1, "warehouse": v}]}),
        ("post", f"{s}/returns/{received.pk}/refund/", lambda v: {"amount": v}),
        ("post", f"{s}/refunds/", lambda v: {"order": v, "amount": "1.00", "reason": "r"}),
        ("post", f"{s}/refunds/", lambda v: {"order": o.pk, "amount": v, "reason": "r"}),
        ("post", f"{s}/order-exports/", lambda v: {"format": "csv", "filters": {"warehouse": v}}),
        ("post", f"{s}/order-exports/", lambda v: {"format": "csv", "filters": {"date_from": v}}),
        ("post", f"{s}/order-exports/", lambda v: {"format": "csv", "filters": {"date_to": v}}),
    ]


# Which bad values each kind of input gets: ids and numbers the digit and the 20-digit number (as text and
# as a JSON number where the body is JSON), dates the calendar-invalid day.
def _values(builder) -> list:
    probe = repr(builder("X"))
    if "date_" in probe:
        return [BAD_DAY, "2026-13-01", f"2026-0{UNICODE_DIGIT}-01"]
    return [UNICODE_DIGIT, HUGE, f"-{HUGE}", HUGE_INT]


def test_every_orders_input_answers_400_never_500(shop, world):
    api = api_client_for(shop.owner)
    failures = []
    for method, path, builder in _api_cases(shop, world):
        for value in _values(builder):
            if method == "get":
                if not isinstance(value, str):
                    continue
                r = api.get(path, builder(value))
            else:
                r = api.post(path, builder(value), format="json")
            if r.status_code != 400:
                failures.append((method, path, builder(value), r.status_code, r.content[:200]))
    assert failures == []


def test_ids_in_paths_too_large_for_a_bigint_are_not_found(shop, world):
    api = api_client_for(shop.owner)
    web = web_client_for(shop.owner)
    s = f"/api/v1/shops/{shop.pk}"
    codes = {
        path: api.get(path).status_code
        for path in (f"{s}/orders/{HUGE}/", f"{s}/returns/{HUGE}/", f"{s}/refunds/{HUGE}/",
                     f"{s}/order-exports/{HUGE}/", f"{s}/order-exports/{HUGE}/download/")
    }  # fmt: skip
    codes[f"{s}/orders/{HUGE}/cancel/"] = api.post(f"{s}/orders/{HUGE}/cancel/", {"reason": "other"}).status_code
    for path in ("orders", "orders/exports", "returns"):
        suffix = "download/" if path == "orders/exports" else ""
        url = f"/shops/{shop.pk}/{path}/{HUGE}/{suffix}"
        codes[url] = web.get(url).status_code
    codes["slip"] = web.get(f"/shops/{shop.pk}/orders/{HUGE}/slip/").status_code
    assert codes == dict.fromkeys(codes, 404)


def test_integration_inputs_answer_400_never_500(shop, world):
    platform = api_client_for(platform_user(), reauth=False)
    o = order_in(shop, S.DELIVERED)
    base = f"/api/v1/integration/shops/{shop.pk}/orders/{o.pk}"
    failures = []
    for value in (UNICODE_DIGIT, HUGE, HUGE_INT):
        for body in ({"lines": [{"line": value, "quantity": 1}], "reason": "r"},
                     {"lines": [{"line": o.lines.first().pk, "quantity": value}], "reason": "r"}):  # fmt: skip
            r = platform.post(f"{base}/returns/", body, format="json")
            if r.status_code != 400:
                failures.append((body, r.status_code, r.content[:200]))
    r = platform.post(f"{base}/tracking-events/", {"status": "x", "occurred_at": "2026-02-30T10:00:00Z"},
                      format="json")  # fmt: skip
    if r.status_code != 400:
        failures.append(("occurred_at", r.status_code, r.content[:200]))
    assert failures == []


def test_every_orders_page_input_is_refused_never_500(shop, world):
    web = web_client_for(shop.owner)
    s = f"/shops/{shop.pk}"
    o, ret = world["order"], world["return"]
    failures = []
    for value in (UNICODE_DIGIT, HUGE):
        for path, params in ((f"{s}/orders/", {"warehouse": value}), (f"{s}/returns/", {"order": value}),
                             (f"{s}/orders/slips/", {"ids": value}), (f"{s}/orders/bulk-pack/", {"ids": value})):  # fmt: skip
            r = web.get(path, params)
            if r.status_code >= 500 or r.status_code == 200 and path.endswith("slips/"):
                failures.append((path, params, r.status_code))
        for path, data in ((f"{s}/orders/bulk/", {"ids": value}),
                           (f"{s}/orders/bulk-pack/", {"ids": value, "carrier": "C"}),
                           (f"{s}/returns/{ret.pk}/receive/", {"warehouse": value}),
                           (f"{s}/orders/{o.pk}/refund/", {"amount": value, "reason": "r"}),
                           (f"{s}/orders/exports/", {"format": "csv", "warehouse": value})):  # fmt: skip
            r = web.post(path, data)
            if not 400 <= r.status_code < 500:  # refused with the reason: not a 500, nor a redirect
                failures.append((path, data, r.status_code))
    for day in (BAD_DAY, "2026-13-01"):
        r = web.get(f"{s}/orders/", {"date_from": day})
        if r.status_code >= 500:
            failures.append(("date_from", day, r.status_code))
        r = web.post(f"{s}/orders/exports/", {"format": "csv", "date_to": day})
        if r.status_code != 400:
            failures.append(("export date_to", day, r.status_code))
    assert failures == []
    assert ExportJob.objects.for_shop(shop).count() == 1  # only the fixture's: no export with a bad filter


def test_an_export_with_a_bad_filter_is_refused_when_asked(shop):
    from backoffice.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.export_create(actor=owner_actor(shop), fmt="csv", filters={"date_from": BAD_DAY})
    assert "date_from" in caught.value.fields
    assert not ExportJob.objects.for_shop(shop).exists()


# -- findings 5 and 10: control characters and formulas in exports; a failing build ends failed -------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_survive_control_characters_and_escape_formulas(shop, fmt, django_capture_on_commit_callbacks):
    sku, _wh = make_sku(shop, stock=5)
    order = intake(shop, sku, buyer={"name": "=Ivan\x1b Petrov", "phone": "+7 900", "address": "Bell\x07 street"})
    order.lines.update(title="Bell\x07 title", sku_code="SKU\x07-1")
    api = api_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": fmt}, format="json")
    job = ExportJob.objects.for_shop(shop).get(pk=r.json()["id"])
    assert job.status == "done", job.message
    content = b"".join(api.get(f"/api/v1/shops/{shop.pk}/order-exports/{job.pk}/download/").streaming_content)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        from openpyxl import load_workbook

        rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(content)).active.iter_rows()]
    assert rows[1][7] == "'=Ivan Petrov" and rows[1][9] == "Bell street" and "SKU-1 x1" in rows[1][10]
    assert "\x1b" not in str(rows) and "\x07" not in str(rows)


def test_an_export_whose_build_raises_ends_failed_with_the_reason(shop, monkeypatch,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    from orders.services import exports

    order_in(shop, S.AWAITING_PACKAGING)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "write_file", boom)
    api = api_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "xlsx"}, format="json")
    assert r.status_code == 201
    job = ExportJob.objects.for_shop(shop).get(pk=r.json()["id"])
    assert job.status == "failed" and job.finished_at is not None
    assert "could not be built" in job.message
    assert "disk full" not in job.message  # the internals stay in the log
    polled = api.get(f"/api/v1/shops/{shop.pk}/order-exports/{job.pk}/").json()
    assert polled["status"] == "failed" and polled["message"] == job.message and polled["download"] is None
    # A redelivery leaves the failed job alone.
    assert services.export_build(actor=system_actor(shop), job_id=job.pk).status == "failed"


# -- finding 15: responses with buyer data are not cached ---------------------------------------------


def test_responses_with_buyer_data_are_not_cached(shop, django_capture_on_commit_callbacks):
    order = order_in(shop, S.AWAITING_PACKAGING)
    api = api_client_for(shop.owner)
    web = web_client_for(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api.post(f"/api/v1/shops/{shop.pk}/order-exports/", {"format": "csv"}, format="json").json()["id"]
    responses = {
        "api list": api.get(f"/api/v1/shops/{shop.pk}/orders/"),
        "api detail": api.get(f"/api/v1/shops/{shop.pk}/orders/{order.pk}/"),
        "api returns": api.get(f"/api/v1/shops/{shop.pk}/returns/"),
        "api export download": api.get(f"/api/v1/shops/{shop.pk}/order-exports/{job_id}/download/"),
        "page list": web.get(f"/shops/{shop.pk}/orders/"),
        "page detail": web.get(f"/shops/{shop.pk}/orders/{order.pk}/"),
        "packing slip": web.get(f"/shops/{shop.pk}/orders/{order.pk}/slip/"),
        "packing slips": web.get(f"/shops/{shop.pk}/orders/slips/", {"ids": str(order.pk)}),
        "bulk pack": web.get(f"/shops/{shop.pk}/orders/bulk-pack/", {"ids": str(order.pk)}),
        "page export download": web.get(f"/shops/{shop.pk}/orders/exports/{job_id}/download/"),
    }
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200)
    missing = [name for name, r in responses.items() if "no-store" not in r.headers.get("Cache-Control", "")]
    assert missing == []
