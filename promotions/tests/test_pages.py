"""Promotion pages: the list with status tabs, counts, search and pages; the form per kind with the service's
field errors and the quote preview (htmx partial and without JavaScript); the detail with its buttons and
figures; activate / pause / end behind a confirmation; the nav link and the dashboard card."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts
from promotions import services
from promotions.models import Promotion
from tests.fixtures import count_queries, make_member, owner_actor, shop_today, web_client_for

pytestmark = pytest.mark.django_db
S = Promotion.State


def promo(shop, *, name="Ten off", state=S.DRAFT, starts=None, ends=None, **data) -> Promotion:
    """A promotion made through the services, moved to ``state``."""
    actor = owner_actor(shop)
    data = {"kind": "percent_off", "value": "10", **data}
    p = services.promotion_create(actor=actor, data={"name": name, "starts_at": starts or timezone.now(),
                                                     "ends_at": ends, **data})  # fmt: skip
    if state in (S.ACTIVE, S.PAUSED, S.ENDED):
        p = services.promotion_activate(actor=actor, promotion=p)
    if state == S.PAUSED:
        p = services.promotion_pause(actor=actor, promotion=p)
    if state == S.ENDED:
        p = services.promotion_end(actor=actor, promotion=p)
    return p


def url(shop, rest=""):
    return f"/shops/{shop.pk}/promotions/{rest}"


def tab_count(html: str, key: str) -> int:
    return int(re.search(rf'data-tab="{key}"[^>]*>[^<]*<span class="count">(\d+)</span>', html).group(1))


def form_data(**overrides) -> dict:
    local = timezone.localtime(timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"kind": "percent_off", "name": "Spring", "value": "15", "starts_at": local, "ends_at": "",
            "priority": "0", "gift_quantity": "1", "skus": "", "code": "", "min_spend": "", "budget": "",
            "usage_limit": "", "per_buyer_limit": "", **_management("cart", 0)}  # fmt: skip
    data.update(overrides)
    return data


def _management(prefix: str, total: int) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "50"}  # fmt: skip


def test_list_tabs_counts_search_pages_and_empty_state(shop):
    web = web_client_for(shop.owner, reauth=False)
    empty = web.get(url(shop)).content.decode()
    assert 'id="promotions-empty"' in empty and "No promotions yet." in empty
    now = timezone.now()
    promo(shop, name="Draft one")
    promo(shop, name="Running", state=S.ACTIVE)
    promo(shop, name="Later", state=S.ACTIVE, starts=now + timedelta(days=2))
    promo(shop, name="Held", state=S.PAUSED)
    promo(shop, name="Over", state=S.ENDED)
    html = web.get(url(shop)).content.decode()
    assert [tab_count(html, k) for k in ("all", "draft", "scheduled", "active", "paused", "ended")] == [
        5,
        1,
        1,
        1,
        1,
        1,
    ]
    scheduled = web.get(url(shop), {"status": "scheduled"}).content.decode()
    assert scheduled.count("data-promotion=") == 1 and "Later" in scheduled and 'data-status="scheduled"' in scheduled
    found = web.get(url(shop), {"search": "runn"}).content.decode()
    assert found.count("data-promotion=") == 1 and "Running" in found
    tiers = [{"min_spend": "100", "discount": "10"}]
    promo(shop, name="Tiered", kind="spend_threshold", tiers=tiers)
    kind = web.get(url(shop), {"kind": "spend_threshold"}).content.decode()
    assert kind.count("data-promotion=") == 1 and "Tiered" in kind
    none = web.get(url(shop), {"search": "zzz"}).content.decode()
    assert "No promotions match these filters." in none
    # A bad tab or kind is said, not a 500: back to the list with the message.
    assert web.get(url(shop), {"status": "lost"}).status_code == 302
    assert web.get(url(shop), {"kind": "lost"}).status_code == 302
    for i in range(26):
        promo(shop, name=f"Bulk {i}")
    first = web.get(url(shop)).content.decode()
    assert first.count("data-promotion=") == 25 and "Page 1 of 2" in first
    assert web.get(url(shop), {"page": "2"}).content.decode().count("data-promotion=") == 7  # 6 + 26 in all


def test_list_htmx_search_swaps_rows_and_tabs(shop):
    promo(shop, name="Alpha sale")
    promo(shop, name="Beta sale")
    web = web_client_for(shop.owner, reauth=False)
    part = web.get(url(shop), {"search": "alpha"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part and part.count("data-promotion=") == 1 and 'hx-swap-oob="true"' in part


def test_list_query_count_does_not_grow(shop):
    web = web_client_for(shop.owner, reauth=False)
    promo(shop)
    few, _r = count_queries(web, url(shop))
    for i in range(6):
        promo(shop, name=f"P{i}", state=S.ACTIVE)
    many, _r = count_queries(web, url(shop))
    assert few == many


def test_viewer_reads_but_cannot_change(shop, members):
    p = promo(shop, state=S.ACTIVE)
    web = web_client_for(members["viewer"].user, reauth=False)
    html = web.get(url(shop)).content.decode()
    assert "data-promotion=" in html and 'id="add-promotion"' not in html
    detail = web.get(url(shop, f"{p.pk}/")).content.decode()
    assert 'id="pause"' not in detail and 'id="edit-promotion"' not in detail
    assert web.get(url(shop, "new/?kind=percent_off")).status_code == 403
    assert web.post(url(shop, f"{p.pk}/pause/")).status_code == 403
    assert Promotion.objects.for_shop(shop).get(pk=p.pk).state == S.ACTIVE


def test_create_picks_a_kind_then_saves_in_the_shops_zone(shop):
    shop.timezone = "Asia/Shanghai"
    shop.save(update_fields=["timezone"])
    web = web_client_for(shop.owner, reauth=False)
    picker = web.get(url(shop, "new/")).content.decode()
    assert picker.count("data-kind=") == 5
    page = web.get(url(shop, "new/?kind=percent_off")).content.decode()
    assert 'name="once_token"' in page and "Asia/Shanghai" in page and 'name="tiers-TOTAL_FORMS"' not in page
    r = web.post(url(shop, "new/"), form_data(starts_at="2030-05-01T10:00", ends_at="2030-05-08T10:00"))
    assert r.status_code == 302, r.content.decode()[:2000]
    p = Promotion.objects.for_shop(shop).get(name="Spring")
    assert p.state == S.DRAFT and p.value == Decimal("15.00")
    # 10:00 in Shanghai (UTC+8) is 02:00 UTC.
    assert p.starts_at.astimezone(UTC).hour == 2
    assert r["Location"] == url(shop, f"{p.pk}/")


def test_spend_threshold_tiers_and_errors_on_their_fields(shop):
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(url(shop, "new/?kind=spend_threshold")).content.decode()
    assert 'name="tiers-0-min_spend"' in page and 'name="value"' not in page
    tiers = {**_management("tiers", 5), "tiers-0-min_spend": "500", "tiers-0-discount": "60",
             "tiers-1-min_spend": "300", "tiers-1-discount": "30"}  # fmt: skip
    bad = web.post(url(shop, "new/"), form_data(kind="spend_threshold", name="Tiers", **tiers))
    assert bad.status_code == 400
    assert "Tiers must go up" in bad.content.decode()
    # The service's refusal of the window lands on its field.
    late = web.post(url(shop, "new/"), form_data(starts_at="2030-05-08T10:00", ends_at="2030-05-01T10:00"))
    assert late.status_code == 400 and re.search(
        r'id="id_ends_at_error"><li>The end must be after', late.content.decode()
    )
    good = {**tiers, "tiers-0-min_spend": "300", "tiers-0-discount": "30", "tiers-1-min_spend": "500",
            "tiers-1-discount": "60"}  # fmt: skip
    r = web.post(url(shop, "new/"), form_data(kind="spend_threshold", name="Tiers", **good))
    assert r.status_code == 302, r.content.decode()[:2000]
    p = Promotion.objects.for_shop(shop).get(name="Tiers")
    assert [(t["min_spend"], t["discount"]) for t in p.tiers] == [("300.00", "30.00"), ("500.00", "60.00")]
    edit = web.get(url(shop, f"{p.pk}/edit/")).content.decode()
    assert 'name="tiers-1-min_spend" value="500.00"' in edit and 'name="once_token"' not in edit
    changed = {**good, "tiers-1-discount": "70"}
    r = web.post(url(shop, f"{p.pk}/edit/"), form_data(kind="spend_threshold", name="Tiers", **changed))
    assert r.status_code == 302
    assert Promotion.objects.for_shop(shop).get(pk=p.pk).tiers[1]["discount"] == "70.00"


def test_unknown_sku_code_is_said_beside_the_field(shop):
    web = web_client_for(shop.owner, reauth=False)
    r = web.post(url(shop, "new/"), form_data(kind="gift_with_purchase", name="Gift", gift_sku="NOPE",
                                              gift_quantity="1", skus="ALSO-NOPE"))  # fmt: skip
    html = r.content.decode()
    assert r.status_code == 400 and 'id="id_gift_sku_error"' in html and 'id="id_skus_error"' in html
    assert not Promotion.objects.for_shop(shop).filter(name="Gift").exists()


def test_preview_quotes_the_unsaved_promotion_without_using_the_token(shop):
    from orders.tests.factories import make_sku

    sku, _wh = make_sku(shop, price="100.00", stock=5)
    web = web_client_for(shop.owner, reauth=False)
    cart = {**_management("cart", 5), "cart-0-sku": sku.code, "cart-0-quantity": "3"}
    data = form_data(name="Preview me", value="10", starts_at="", **cart)
    data["starts_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    token = {"once_token": None}
    # htmx: the partial alone.
    part = web.post(url(shop, "new/"), {**data, "preview": "1"}, HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert part.status_code == 200 and "<html" not in html
    assert 'id="quote-discount">30.00<' in html and 'id="quote-total">270.00' in html and "Preview me" in html
    # Without JavaScript: the whole form again, with the quote under it; nothing saved.
    full = web.post(url(shop, "new/"), {**data, "preview": "1"}).content.decode()
    assert 'id="promotion-form"' in full and 'id="quote-total">270.00' in full
    assert not Promotion.objects.for_shop(shop).filter(name="Preview me").exists()
    # A preview does not claim the form's one-time token: the same token still saves once.
    from django.contrib.auth import SESSION_KEY

    from backoffice import once

    token["once_token"] = once.issue(web.session[SESSION_KEY])
    assert web.post(url(shop, "new/"), {**data, "preview": "1", **token}).status_code == 200
    assert web.post(url(shop, "new/"), {**data, **token}).status_code == 302
    assert web.post(url(shop, "new/"), {**data, **token}).status_code == 409
    assert Promotion.objects.for_shop(shop).filter(name="Preview me").count() == 1
    unknown = web.post(url(shop, "new/"), {**data, "preview": "1", "cart-0-sku": "NOPE"}, HTTP_HX_REQUEST="true")
    assert 'id="preview-error"' in unknown.content.decode() and "NOPE" in unknown.content.decode()


def test_detail_confirm_then_activate_pause_end(shop):
    p = promo(shop, name="Lifecycle")
    web = web_client_for(shop.owner, reauth=False)
    detail = web.get(url(shop, f"{p.pk}/")).content.decode()
    assert 'id="activate"' in detail and 'id="pause"' not in detail and 'data-status="draft"' in detail
    confirm = web.get(url(shop, f"{p.pk}/activate/")).content.decode()
    assert 'id="confirm-activate"' in confirm
    assert Promotion.objects.for_shop(shop).get(pk=p.pk).state == S.DRAFT  # the GET changed nothing
    assert web.post(url(shop, f"{p.pk}/activate/")).status_code == 302
    assert Promotion.objects.for_shop(shop).get(pk=p.pk).state == S.ACTIVE
    # A step the state does not allow: the reason and a 409, not a redirect.
    again = web.post(url(shop, f"{p.pk}/activate/"))
    assert again.status_code == 409
    assert web.post(url(shop, f"{p.pk}/pause/")).status_code == 302
    assert 'data-status="paused"' in web.get(url(shop, f"{p.pk}/")).content.decode()
    assert web.post(url(shop, f"{p.pk}/end/")).status_code == 302
    ended = web.get(url(shop, f"{p.pk}/")).content.decode()
    assert 'data-status="ended"' in ended and 'id="activate"' not in ended and 'id="edit-promotion"' not in ended
    assert web.get(url(shop, f"{p.pk}/edit/")).status_code == 409


def test_another_shops_promotion_is_not_found(shop, other_shop):
    p = promo(other_shop)
    web = web_client_for(shop.owner, reauth=False)
    assert web.get(url(shop, f"{p.pk}/")).status_code == 404
    assert web.post(url(shop, f"{p.pk}/end/")).status_code == 404
    assert Promotion.objects.for_shop(other_shop).get(pk=p.pk).state == S.DRAFT


def test_nav_link_and_dashboard_card_follow_the_permission(shop):
    now = timezone.now()
    promo(shop, state=S.ACTIVE, ends=now + timedelta(days=1))
    promo(shop, name="Long", state=S.ACTIVE, ends=now + timedelta(days=30))
    promo(shop, name="Held", state=S.PAUSED)
    web = web_client_for(shop.owner, reauth=False)
    html = web.get(f"/shops/{shop.pk}/").content.decode()
    assert 'data-nav="promotions"' in html
    cards = dict(re.findall(r'data-card="(promotions_[a-z]+)" href="[^"]*">.*?<div class="value">(\d+)</div>', html))
    assert cards == {"promotions_active": "2", "promotions_ending": "1", "promotions_paused": "1"}
    ending = web.get(url(shop), {"ending": "soon"}).content.decode()
    assert ending.count("data-promotion=") == 1
    nothing = accounts.role_create(actor=owner_actor(shop), name="Catalogue", permissions=["catalog.view"])
    other = web_client_for(make_member(shop, nothing.key).user, reauth=False)
    page = other.get(f"/shops/{shop.pk}/").content.decode()
    assert 'data-nav="promotions"' not in page and "promotions_active" not in page
    assert other.get(url(shop)).status_code == 403


def test_detail_shows_the_effect_of_orders_that_used_it(shop):
    from orders.tests.factories import make_sku
    from promotions.tests.factories import intake

    sku, _wh = make_sku(shop, price="100.00", stock=20)
    p = promo(shop, name="Effect", state=S.ACTIVE, starts=timezone.now() - timedelta(hours=1))
    web = web_client_for(shop.owner, reauth=False)
    assert 'id="effect-empty"' in web.get(url(shop, f"{p.pk}/")).content.decode()
    intake(shop, [(sku, 2)], buyer_id="b-1")
    intake(shop, [(sku, 3)], buyer_id="b-1")
    intake(shop, [(sku, 1)], buyer_id="b-2")
    html = web.get(url(shop, f"{p.pk}/")).content.decode()
    figures = dict(re.findall(r'data-figure="([a-z]+)"><th scope="row">[^<]*</th><td>([^<]*)</td>', html))
    # 10% off 200, 300 and 100: 60.00 given, 540.00 taken, 6 units, two buyers.
    assert figures == {"orders": "3", "units": "6", "revenue": "540.00", "discount": "60.00", "buyers": "2",
                       "aov": "180.00"}, figures  # fmt: skip
    # The daily chart (and its table for screen readers): one day, in the shop's zone, with all three orders.
    today = shop_today(shop).isoformat()
    assert 'data-chart="chart-effect"' in html
    assert re.search(rf'<th scope="row">{today}</th><td>3</td><td>540.00</td><td>60.00</td>', html)


def test_category_limited_member_is_offered_only_their_categories(shop):
    from catalog import services as catalog

    owner = owner_actor(shop)
    phones = catalog.category_create(actor=owner, name="Phones")
    catalog.category_create(actor=owner, name="Garden")
    member = make_member(shop, "operator", scopes={"category": [phones.pk]})
    web = web_client_for(member.user, reauth=False)
    assert web.get(url(shop)).status_code == 200
    form = web.get(url(shop, "new/?kind=percent_off")).content.decode()
    assert "Phones" in form and "Garden" not in form
    # A whole-shop promotion lies outside their categories: read-only to them, no Edit button and no steps,
    # while one scoped to their category offers both (the services' rule, not a second one in the page).
    whole_shop = promo(shop, name="Everything")
    theirs = promo(shop, name="Phones week", scope={"categories": [phones.pk]})
    page = web.get(url(shop, f"{whole_shop.pk}/")).content.decode()
    assert 'id="edit-promotion"' not in page and 'id="activate"' not in page
    page = web.get(url(shop, f"{theirs.pk}/")).content.decode()
    assert 'id="edit-promotion"' in page and 'id="activate"' in page


def test_editing_a_promotion_keeps_products_beyond_the_forms_first_choices(shop, monkeypatch):
    """The form lists the first PRODUCT_CHOICES_MAX products by title; a promotion on a later product still
    shows it chosen and saves unchanged (before, the edit failed on a choice the member could not see)."""
    from orders.tests.factories import make_sku
    from promotions.tests.factories import make_promotion
    from promotions.web import backend

    monkeypatch.setattr(backend, "PRODUCT_CHOICES_MAX", 2)
    skus = [make_sku(shop, price="10.00", title=f"Item {i}")[0] for i in range(4)]
    late = skus[3].product_id
    promo = make_promotion(shop, activate=False, scope={"products": [late]})
    client = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/promotions/{promo.pk}/edit/"
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(rf'<option value="{late}" selected>', page.content.decode())
    form = {k: v for k, v in page.context["form"].initial.items() if v not in (None, "")}
    form["starts_at"] = timezone.localtime(promo.starts_at).strftime("%Y-%m-%dT%H:%M")
    form["name"] = "Renamed"
    got = client.post(url, {**form, "products": [str(late)]})
    assert got.status_code == 302, got.content.decode()[:2000]
    promo.refresh_from_db()
    assert promo.name == "Renamed" and promo.scope == {"products": [late]}
