"""A promotion's batch of single-use codes: generated from the API and from the detail page (one-time token),
listed on the detail page (filter used / unused, pages), exported as CSV and XLSX (code, status, order, used at)
from both; secrets, so only for members who manage the promotion; bad input is a 400 naming the field."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from backoffice import once
from catalog import services as catalog
from orders.tests.factories import make_sku
from promotions import services
from promotions.models import PromotionCode
from promotions.tests.factories import intake, make_promotion
from tests.fixtures import api_client_for, count_queries, make_member, owner_actor, web_client_for

pytestmark = pytest.mark.django_db


def _api(shop, promotion, rest: str = "") -> str:
    return f"/api/v1/shops/{shop.pk}/promotions/{promotion.pk}/codes/{rest}"


def _page(shop, promotion, rest: str = "") -> str:
    return f"/shops/{shop.pk}/promotions/{promotion.pk}/{rest}"


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def batch(shop):
    """A 10%-off promotion with five codes, one of them used by an order of 2 × 100.00."""
    sku, _wh = make_sku(shop, price="100.00", stock=50)
    promotion = make_promotion(shop, name="Codes only")
    services.promotion_codes_generate(actor=owner_actor(shop), promotion=promotion, count=5, prefix="spring")
    first = PromotionCode.objects.for_shop(shop).filter(promotion=promotion).order_by("id").first()
    order = intake(shop, [(sku, 2)], codes=[first.code.lower()])  # codes are matched whatever the case
    return promotion, sku, first.code, order


def test_api_generates_then_exports_csv_and_xlsx_with_the_used_code(shop, batch):
    promotion, _sku, used_code, order = batch
    assert order.discount_total == Decimal("20.00")  # the code worked: 10% of 200
    api = api_client_for(shop.owner)
    r = api.post(_api(shop, promotion), {"count": 3, "prefix": "api-1"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json() == {"promotion": promotion.pk, "generated": 3, "total": 8, "unused": 7, "used": 1}
    codes = list(PromotionCode.objects.for_shop(shop).filter(promotion=promotion).values_list("code", flat=True))
    assert sum(c.startswith("API-1-") for c in codes) == 3 and sum(c.startswith("SPRING-") for c in codes) == 5

    r = api.get(_api(shop, promotion, "export/"), {"format": "csv"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert f'filename="promotion-{promotion.pk}-codes.csv"' in r["Content-Disposition"]
    rows = _csv(r)
    assert rows[0] == ["code", "status", "order", "used_at"] and len(rows) == 9
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == set(codes)
    assert by_code[used_code][1:3] == ["used", order.number] and by_code[used_code][3].startswith("20")
    assert all(row[1:] == ["unused", "", ""] for code, row in by_code.items() if code != used_code)

    r = api.get(_api(shop, promotion, "export/"), {"format": "xlsx", "status": "used"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("code", "status", "order", "used_at")
    assert [v[:3] for v in values[1:]] == [(used_code, "used", order.number)] and values[1][3] is not None
    unused = _csv(api.get(_api(shop, promotion, "export/"), {"status": "unused"}))  # CSV when no format is named
    assert len(unused) == 8 and used_code not in {row[0] for row in unused}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"count": 0}, "count"), ({"count": 10001}, "count"), ({"count": "many"}, "count"), ({}, "count"),
     ({"count": 2, "prefix": "no spaces"}, "prefix"), ({"count": 2, "prefix": "X" * 17}, "prefix"),
     ({"count": 2, "prefix": "ÄÖ"}, "prefix")],
)  # fmt: skip
def test_bad_generate_bodies_are_400_naming_the_field(shop, body, field):
    promotion = make_promotion(shop)
    r = api_client_for(shop.owner).post(_api(shop, promotion), body, format="json")
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content
    assert not PromotionCode.objects.for_shop(shop).exists()


@pytest.mark.parametrize(("query", "field"), [({"format": "pdf"}, "format"), ({"status": "spent"}, "status")])
def test_bad_export_queries_are_400_naming_the_field(shop, batch, query, field):
    promotion = batch[0]
    r = api_client_for(shop.owner).get(_api(shop, promotion, "export/"), query)
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.content
    page = web_client_for(shop.owner, reauth=False).get(_page(shop, promotion, "codes/export/"), query)
    assert page.status_code == 400 and field in page.content.decode()


def test_codes_are_secrets_view_only_and_out_of_scope_members_get_none(shop, batch):
    promotion = batch[0]
    viewer = make_member(shop, "viewer").user
    api = api_client_for(viewer)
    assert api.get(_api(shop, promotion, "export/")).status_code == 403
    assert api.post(_api(shop, promotion), {"count": 1}, format="json").status_code == 403
    web = web_client_for(viewer, reauth=False)
    html = web.get(_page(shop, promotion)).content.decode()
    assert 'id="codes"' not in html and "SPRING-" not in html  # the detail page, without the card
    assert web.get(_page(shop, promotion, "codes/export/")).status_code == 403
    assert web.get(_page(shop, promotion, "codes/generate/")).status_code == 403
    # A manager limited to a category: a whole-shop promotion is read-only to them, its codes too.
    category = catalog.category_create(actor=owner_actor(shop), name="Tea")
    limited = make_member(shop, "operator", scopes={"category": [category.pk]}).user
    r = api_client_for(limited).get(_api(shop, promotion, "export/"))
    assert r.status_code == 403, r.content
    assert api_client_for(limited).post(_api(shop, promotion), {"count": 1}, format="json").status_code == 403
    html = web_client_for(limited, reauth=False).get(_page(shop, promotion)).content.decode()
    assert 'id="codes"' not in html and "SPRING-" not in html
    assert web_client_for(limited, reauth=False).get(_page(shop, promotion, "codes/export/")).status_code == 403
    # ...while a promotion within their category is theirs to manage, codes included.
    theirs = make_promotion(shop, scope={"categories": [category.pk]})
    r = api_client_for(limited).post(_api(shop, theirs), {"count": 2}, format="json")
    assert r.status_code == 201 and len(_csv(api_client_for(limited).get(_api(shop, theirs, "export/")))) == 3


def test_detail_page_lists_codes_with_filter_and_pages(shop, batch):
    promotion, _sku, used_code, order = batch
    services.promotion_codes_generate(actor=owner_actor(shop), promotion=promotion, count=25)
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(_page(shop, promotion)).content.decode()
    assert 'id="codes"' in html and html.count("data-code=") == 25  # 30 codes, 25 a page
    assert 'data-codes-filter="all"' in html and '<span class="count">30</span>' in html
    assert '<span class="count">29</span>' in html and '<span class="count">1</span>' in html
    second = web.get(_page(shop, promotion), {"page": 2}).content.decode()
    assert second.count("data-code=") == 5
    used = web.get(_page(shop, promotion), {"codes": "used"}).content.decode()
    assert used.count("data-code=") == 1 and f'data-code="{used_code}"' in used and order.number in used
    unused = web.get(_page(shop, promotion), {"codes": "unused", "page": 2}).content.decode()
    assert unused.count('data-used="no"') == 4 and 'data-used="yes"' not in unused
    assert "?codes=unused&page=1" in unused  # the pager keeps the filter
    bad = web.get(_page(shop, promotion), {"codes": "spent"})
    assert bad.status_code == 302  # back to the page without the filter, saying why
    assert "status" in web.get(bad["Location"]).content.decode()
    # Export links for what is shown: CSV and XLSX.
    assert "codes/export/?format=csv" in html and "codes/export/?format=xlsx&amp;status=unused" in unused


def test_generate_from_the_page_once_and_errors_beside_the_field(shop):
    promotion = make_promotion(shop)
    web = web_client_for(shop.owner, reauth=False)
    detail = web.get(_page(shop, promotion)).content.decode()
    assert 'id="codes-empty"' in detail and 'id="codes-generate-form"' in detail
    assert '<label for="codes-count">' in detail and '<label for="codes-prefix">' in detail
    bad = web.post(_page(shop, promotion, "codes/generate/"), {"count": "10001", "prefix": ""})
    assert bad.status_code == 400 and 'id="codes-count_error"' in bad.content.decode()
    bad = web.post(_page(shop, promotion, "codes/generate/"), {"count": "3", "prefix": "a b"})
    assert bad.status_code == 400 and 'id="codes-prefix_error"' in bad.content.decode()
    token = once.issue(shop.owner.pk)
    r = web.post(_page(shop, promotion, "codes/generate/"), {"count": "3", "prefix": "web", once.FIELD: token})
    assert r.status_code == 302 and r["Location"].endswith(f"/promotions/{promotion.pk}/#codes")
    assert "3 codes generated." in web.get(r["Location"]).content.decode()
    again = web.post(_page(shop, promotion, "codes/generate/"), {"count": "3", "prefix": "web", once.FIELD: token})
    assert again.status_code == 409  # the same form sent twice makes one batch
    assert PromotionCode.objects.for_shop(shop).filter(promotion=promotion, code__startswith="WEB-").count() == 3


def test_an_ended_promotion_keeps_its_codes_exportable_but_makes_no_more(shop, batch):
    promotion = services.promotion_end(actor=owner_actor(shop), promotion=batch[0])
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(_page(shop, promotion)).content.decode()
    assert html.count("data-code=") == 5 and 'id="codes-generate-form"' not in html
    assert len(_csv(web.get(_page(shop, promotion, "codes/export/")))) == 6
    r = api_client_for(shop.owner).post(_api(shop, promotion), {"count": 1}, format="json")
    assert r.status_code == 409


def test_a_full_batch_of_ten_thousand_exports_directly(shop):
    promotion = make_promotion(shop)
    api = api_client_for(shop.owner)
    started = time.monotonic()
    r = api.post(_api(shop, promotion), {"count": 10000}, format="json")
    assert r.status_code == 201 and r.json()["total"] == 10000
    rows = _csv(api.get(_api(shop, promotion, "export/")))
    assert len(rows) == 10001 and len({row[0] for row in rows[1:]}) == 10000
    r = api.get(_api(shop, promotion, "export/"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == 10001
    # Generous: the point is that a batch of the largest size needs no background job.
    assert time.monotonic() - started < 30


def test_the_codes_card_costs_the_same_queries_however_many_codes_are_used(shop, batch):
    promotion, sku, _used, _order = batch
    web = web_client_for(shop.owner, reauth=False)
    few, _r = count_queries(web, _page(shop, promotion))
    for code in PromotionCode.objects.for_shop(shop).filter(promotion=promotion, order__isnull=True)[:3]:
        intake(shop, [(sku, 1)], codes=[code.code])
    services.promotion_codes_generate(actor=owner_actor(shop), promotion=promotion, count=20)
    many, response = count_queries(web, _page(shop, promotion))
    assert response.content.decode().count('data-used="yes"') == 4
    assert many == few


def test_each_download_of_the_codes_is_in_the_audit_log_and_a_refused_one_is_not(shop, batch):
    from accounts.models import AuditEntry
    from backoffice.audit.sentences import render

    promotion = batch[0]

    def downloads() -> list[dict]:
        entries = AuditEntry.objects.for_shop(shop).filter(action="promotion.codes_exported").order_by("id")
        return [e.changes for e in entries]

    api = api_client_for(shop.owner)
    assert api.get(_api(shop, promotion, "export/"), {"format": "pdf"}).status_code == 400
    assert api_client_for(make_member(shop, "viewer").user).get(_api(shop, promotion, "export/")).status_code == 403
    assert downloads() == []
    assert api.get(_api(shop, promotion, "export/"), {"format": "xlsx", "status": "unused"}).status_code == 200
    page = web_client_for(shop.owner, reauth=False).get(_page(shop, promotion, "codes/export/"))
    assert page.status_code == 200 and len(_csv(page)) == 6
    assert downloads() == [{"format": [None, "xlsx"], "status": [None, "unused"]},
                           {"format": [None, "csv"], "status": [None, "all"]}]  # fmt: skip
    entry = AuditEntry.objects.for_shop(shop).filter(action="promotion.codes_exported").order_by("id").first()
    assert entry.actor == shop.owner
    [sentence] = render([entry], reader=owner_actor(shop))
    assert sentence.text.endswith(f"downloaded the unused single-use codes of {promotion.name} (XLSX)"), sentence.text
