"""Ad campaigns: services, the member API, the integration push (upsert, a concurrent double push), the daily
budget rest, and who may do what."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, Notification
from backoffice.authz import load_actor, system_actor
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from orders.tests.factories import make_sku
from promotions import ads_selectors as sel
from promotions.models import AdCampaign, AdStat
from promotions.services import ads as services
from tests.fixtures import (
    api_client_for,
    count_queries,
    make_member,
    make_platform_user,
    owner_actor,
    web_client_for,
)
from tests.races import race, require_postgresql

D = Decimal


def make_campaign(shop, *, activate: bool = True, **data) -> AdCampaign:
    sku, _wh = make_sku(shop)
    body = {"name": "Winter search", "placement": "search", "products": [sku.product_id], "daily_budget": "100.00",
            "bid": "5.00", "starts_at": (timezone.now() - timedelta(days=1)).isoformat(), **data}  # fmt: skip
    campaign = services.ad_campaign_create(actor=owner_actor(shop), data=body)
    if activate:
        campaign = services.ad_campaign_activate(actor=owner_actor(shop), campaign=campaign)
    return campaign


def push(shop, campaign, **figures):
    body = {"day": sel.shop_today(shop).isoformat(), "impressions": 1000, "clicks": 50, "spend": "40.00",
            "orders": 3, "revenue": "300.00", **figures}  # fmt: skip
    return services.ad_stats_push(actor=system_actor(shop), campaign=campaign, data=body)


def api(path: str, shop) -> str:
    return f"/api/v1/shops/{shop.pk}/ad-campaigns/{path}"


# ------------------------------------------------------------------------------------------------ services


@pytest.mark.django_db
def test_create_edit_and_the_state_machine_are_audited(shop):
    campaign = make_campaign(shop, activate=False)
    assert campaign.state == "draft" and campaign.products.count() == 1
    actor = owner_actor(shop)
    campaign = services.ad_campaign_update(actor=actor, campaign=campaign, data={"bid": "7.50"})
    assert campaign.bid == D("7.50")
    campaign = services.ad_campaign_activate(actor=actor, campaign=campaign)
    campaign = services.ad_campaign_pause(actor=actor, campaign=campaign)
    with pytest.raises(Conflict):
        services.ad_campaign_pause(actor=actor, campaign=campaign)
    campaign = services.ad_campaign_end(actor=actor, campaign=campaign)
    assert campaign.state == "ended" and campaign.ends_at <= timezone.now()
    with pytest.raises(Conflict):
        services.ad_campaign_update(actor=actor, campaign=campaign, data={"bid": "1.00"})
    actions = list(AuditEntry.objects.for_shop(shop).filter(action__startswith="ad_campaign.").order_by("id")
                   .values_list("action", flat=True))  # fmt: skip
    assert actions == ["ad_campaign.created", "ad_campaign.updated", "ad_campaign.activated", "ad_campaign.paused",
                       "ad_campaign.ended"]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"placement": "tv"}, "placement"),
        ({"daily_budget": "-1"}, "daily_budget"),
        ({"bid": "0"}, "bid"),
        ({"bid": "200.00"}, "bid"),  # above the daily budget
        ({"starts_at": "2026-02-30"}, "starts_at"),
        ({"ends_at": "2000-01-01"}, "ends_at"),
        ({"products": [999999999]}, "products"),
        ({"products": "x"}, "products"),
    ],
)
def test_bad_fields_are_named(shop, change, field):
    with pytest.raises(ValidationFailed) as exc:
        make_campaign(shop, activate=False, **change)
    assert field in exc.value.fields


@pytest.mark.django_db
def test_another_shops_product_is_unknown_and_a_bare_user_is_a_type_error(shop, other_shop):
    foreign, _wh = make_sku(other_shop)
    with pytest.raises(ValidationFailed) as exc:
        make_campaign(shop, products=[foreign.product_id])
    assert "products" in exc.value.fields
    with pytest.raises(TypeError):
        services.ad_campaign_create(actor=shop.owner, data={})


@pytest.mark.django_db
def test_a_viewer_may_read_but_not_manage(shop):
    campaign = make_campaign(shop)
    viewer = load_actor(make_member(shop, "viewer").user, shop)
    assert sel.campaign_get(shop=shop, actor=viewer, pk=campaign.pk) is not None
    with pytest.raises(Forbidden):
        services.ad_campaign_pause(actor=viewer, campaign=campaign)
    with pytest.raises(Forbidden):
        services.ad_stats_push(actor=viewer, campaign=campaign, data={"day": "2026-01-01"})


# ---------------------------------------------------------------------------------- the push and the ratios


@pytest.mark.django_db
def test_a_repush_replaces_the_day_and_the_ratios_are_exact_decimals(shop):
    campaign = make_campaign(shop)
    stat, created = push(shop, campaign, spend="40.00")
    assert created
    stat, created = push(shop, campaign, impressions=3000, clicks=7, spend="10.00", revenue="25.00")
    assert not created and AdStat.objects.for_shop(shop).filter(campaign=campaign).count() == 1
    today = sel.shop_today(shop)
    row = sel.campaign_stats(shop=shop, campaign=campaign, date_from=today, date_to=today).get()
    assert (row.impressions, row.clicks, row.spend) == (3000, 7, D("10.00"))  # replaced, not 4000 / 57 / 50
    assert row.ctr == D("0.2333") and row.cpc == D("1.43") and row.roas == D("2.5000")
    assert isinstance(row.ctr, Decimal)
    # A day with no clicks or spend has no CPC or ROAS (NULL), never a division by zero.
    push(shop, campaign, day=(today - timedelta(days=1)).isoformat(), impressions=0, clicks=0, spend="0",
         revenue="0")  # fmt: skip
    empty = sel.campaign_stats(shop=shop, campaign=campaign, date_from=today - timedelta(days=1),
                               date_to=today - timedelta(days=1)).get()  # fmt: skip
    assert (empty.ctr, empty.cpc, empty.roas) == (None, None, None)
    totals = sel.campaign_stat_totals(shop=shop, campaign=campaign, date_from=today - timedelta(days=1), date_to=today)
    assert totals["spend"] == D("10.00") and totals["ctr"] == D("0.2333") and totals["roas"] == D("2.5000")
    pushes = AuditEntry.objects.for_shop(shop).filter(action="ad_stat.pushed").order_by("id")
    assert pushes.count() == 3 and pushes[1].changes["spend"] == ["40.00", "10.00"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [({"day": "yesterday"}, "day"), ({"day": "2999-01-01"}, "day"), ({"clicks": 2000}, "clicks"),
     ({"impressions": -1}, "impressions"), ({"spend": "1.001"}, "spend"), ({"revenue": "x"}, "revenue")],
)  # fmt: skip
def test_bad_pushed_figures_are_named(shop, change, field):
    campaign = make_campaign(shop)
    with pytest.raises(ValidationFailed) as exc:
        push(shop, campaign, **change)
    assert field in exc.value.fields
    assert not AdStat.objects.for_shop(shop).exists()


@pytest.mark.django_db
def test_spending_the_daily_budget_rests_the_campaign_for_the_day_and_tells_ad_managers(shop):
    campaign = make_campaign(shop, daily_budget="100.00")
    marketer = make_member(shop, "operator")
    viewer = make_member(shop, "viewer")
    push(shop, campaign, spend="99.99")
    campaign.refresh_from_db()
    assert campaign.paused_for_day is None
    push(shop, campaign, spend="100.00")
    push(shop, campaign, spend="101.00")  # a second push the same day does not tell anyone twice
    campaign.refresh_from_db()
    today = sel.shop_today(shop)
    assert campaign.state == "active" and campaign.paused_for_day == today
    assert sel.campaign_status(campaign, today=today) == "resting"
    assert sel.campaign_status(campaign, today=today + timedelta(days=1)) == "active"  # runs again tomorrow
    told = Notification.objects.for_shop(shop).filter(kind=services.NOTICE_KIND)
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted([shop.owner.pk, marketer.user_id])
    assert viewer.user_id not in told.values_list("recipient_id", flat=True)
    # A corrected push below the budget lets it run again today.
    push(shop, campaign, spend="20.00")
    campaign.refresh_from_db()
    assert campaign.paused_for_day is None


@pytest.mark.django_db
def test_a_past_days_spend_does_not_rest_the_campaign_today(shop):
    campaign = make_campaign(shop, daily_budget="100.00")
    push(shop, campaign, day=(sel.shop_today(shop) - timedelta(days=1)).isoformat(), spend="500.00")
    campaign.refresh_from_db()
    assert campaign.paused_for_day is None and not Notification.objects.for_shop(shop).filter(
        kind=services.NOTICE_KIND).exists()  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_double_push_keeps_one_row_with_one_push_s_figures(shop):
    require_postgresql()
    campaign = make_campaign(shop, daily_budget="100.00")
    platform = make_platform_user()
    url = f"/api/v1/integration/shops/{shop.pk}/ad-stats/"
    bodies = [{"campaign": campaign.pk, "day": sel.shop_today(shop).isoformat(), "impressions": 100 * (i + 1), "clicks": i + 1,
               "spend": f"{60 * (i + 1)}.00", "orders": 0, "revenue": "0"} for i in range(4)]  # fmt: skip

    codes = race(4, lambda i: api_client_for(platform, reauth=False).post(url, bodies[i], format="json").status_code)
    assert sorted(codes) == [200, 200, 200, 201]
    rows = list(AdStat.objects.for_shop(shop).filter(campaign=campaign).values("impressions", "clicks", "spend"))
    assert len(rows) == 1
    i = rows[0]["clicks"] - 1
    assert rows[0] == {"impressions": bodies[i]["impressions"], "clicks": i + 1, "spend": D(bodies[i]["spend"])}
    campaign.refresh_from_db()
    # The day rests when the figures that won spend the budget: every body but the first spends ≥ 100, and
    # the first one, pushed last, corrects the day back below it.
    resting = D(bodies[i]["spend"]) >= D(campaign.daily_budget)
    assert campaign.paused_for_day == (sel.shop_today(shop) if resting else None)
    # Some push of ≥ 100 was applied whatever the order, and told the ad managers.
    assert Notification.objects.for_shop(shop).filter(kind=services.NOTICE_KIND).count() >= 1


# --------------------------------------------------------------------------------------------------- API


@pytest.mark.django_db
def test_api_crud_transitions_and_stats(shop):
    sku, _wh = make_sku(shop)
    client = api_client_for(shop.owner)
    body = {"name": "Banner", "placement": "banner", "products": [sku.product_id], "daily_budget": "50.00",
            "bid": "2.00", "starts_at": "2026-01-01"}  # fmt: skip
    r = client.post(api("", shop), body, format="json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["products"] == [sku.product_id]
    assert client.patch(api(f"{pk}/", shop), {"bid": "3.00"}, format="json").json()["bid"] == "3.00"
    assert client.post(api(f"{pk}/activate/", shop)).json()["state"] == "active"
    assert client.post(api(f"{pk}/activate/", shop)).status_code == 409
    campaign = AdCampaign.objects.for_shop(shop).get(pk=pk)
    push(shop, campaign, impressions=400, clicks=8, spend="50.00", revenue="200.00")
    r = client.get(api(f"{pk}/", shop))
    assert r.json()["status"] == "resting"
    r = client.get(api(f"{pk}/stats/", shop))
    assert r.status_code == 200
    day = r.json()["results"][0]
    assert (day["ctr"], day["cpc"], day["roas"]) == ("2.0000", "6.25", "4.0000")
    assert r.json()["totals"]["spend"] == "50.00"
    assert client.get(api(f"{pk}/stats/", shop), {"date_from": "nope"}).status_code == 400
    assert (
        client.get(api(f"{pk}/stats/", shop), {"date_from": "2020-01-01", "date_to": "2026-01-01"}).status_code == 400
    )
    listed = client.get(api("", shop), {"state": "active", "search": "bann"}).json()["results"]
    assert [c["id"] for c in listed] == [pk]
    assert client.get(api("", shop), {"state": "bogus"}).status_code == 400
    assert client.get(api("", shop), {"placement": "tv"}).status_code == 400
    r = client.post(api("", shop), {**body, "daily_budget": "abc"}, format="json")
    assert r.status_code == 400 and "daily_budget" in str(r.json())
    assert client.post(api("", shop), ["x"], format="json").status_code == 400
    assert client.post(api(f"{pk}/end/", shop)).json()["state"] == "ended"


@pytest.mark.django_db
def test_api_permissions_and_other_shops(shop, other_shop):
    campaign = make_campaign(shop)
    viewer = make_member(shop, "viewer").user
    client = api_client_for(viewer)
    assert client.get(api("", shop)).status_code == 200
    assert client.get(api(f"{campaign.pk}/stats/", shop)).status_code == 200
    assert client.post(api(f"{campaign.pk}/pause/", shop)).status_code == 403
    assert client.patch(api(f"{campaign.pk}/", shop), {"bid": "1.00"}, format="json").status_code == 403
    other = api_client_for(other_shop.owner)
    assert other.get(f"/api/v1/shops/{other_shop.pk}/ad-campaigns/{campaign.pk}/").status_code == 404
    assert other.get(api("", shop)).status_code == 404


@pytest.mark.django_db
def test_the_integration_push_needs_platform_staff_and_the_campaigns_own_shop(shop, other_shop):
    campaign = make_campaign(shop)
    foreign = make_campaign(other_shop)
    body = {"campaign": campaign.pk, "day": sel.shop_today(shop).isoformat(), "impressions": 10, "clicks": 1,
            "spend": "1.00"}  # fmt: skip
    url = f"/api/v1/integration/shops/{shop.pk}/ad-stats/"
    assert api_client_for(shop.owner).post(url, body, format="json").status_code == 403
    platform = api_client_for(make_platform_user(), reauth=False)
    # Another shop's campaign names nothing here: 400 on the field, and neither shop gets a row.
    r = platform.post(f"/api/v1/integration/shops/{other_shop.pk}/ad-stats/", body, format="json")
    assert r.status_code == 400 and "campaign" in str(r.json())
    r = platform.post(url, {**body, "campaign": foreign.pk}, format="json")
    assert r.status_code == 400 and "campaign" in str(r.json())
    assert platform.post(url, {**body, "campaign": None}, format="json").status_code == 400
    assert platform.post("/api/v1/integration/shops/999999999/ad-stats/", body, format="json").status_code == 404
    assert platform.post(url, {**body, "clicks": 11}, format="json").status_code == 400
    assert not AdStat.unscoped.filter(campaign__in=[campaign, foreign]).exists()
    r = platform.post(url, body, format="json")
    assert r.status_code == 201 and r.json()["ctr"] == "10.0000" and r.json()["campaign"] == campaign.pk
    r = platform.post(url, {**body, "spend": "2.00"}, format="json")
    assert r.status_code == 200 and r.json()["spend"] == "2.00" and r.json()["cpc"] == "2.00"
    assert AdStat.objects.for_shop(shop).count() == 1


# ------------------------------------------------------------------------------------------------- pages


def page(path: str, shop) -> str:
    return f"/shops/{shop.pk}/ad-campaigns/{path}"


@pytest.mark.django_db
def test_pages_list_create_edit_detail_and_transitions(shop):
    sku, _wh = make_sku(shop)
    operator = make_member(shop, "operator")
    client = web_client_for(operator.user)
    r = client.get(page("", shop))
    assert r.status_code == 200 and b'id="campaigns-empty"' in r.content
    form = {"name": "Spring", "placement": "category", "daily_budget": "80.00", "bid": "4.00",
            "starts_at": "2026-03-01T09:00", "products": [str(sku.product_id)]}  # fmt: skip
    bad = client.post(page("new/", shop), {**form, "bid": "90.00"})  # more than the daily budget
    assert bad.status_code == 400 and b'id="field-bid"' in bad.content
    assert b"The bid cannot be more than the daily budget." in bad.content
    assert client.post(page("new/", shop), {**form, "products": ["999999"]}).status_code == 400
    r = client.post(page("new/", shop), form)
    assert r.status_code == 302
    campaign = AdCampaign.objects.for_shop(shop).get(name="Spring")
    assert list(campaign.products.values_list("pk", flat=True)) == [sku.product_id]
    # Without the one-time token (a resent form) nothing more is created.
    plain = Client()
    plain.force_login(operator.user)
    plain.post(page("new/", shop), form)
    assert AdCampaign.objects.for_shop(shop).filter(name="Spring").count() == 1
    r = client.post(page(f"{campaign.pk}/edit/", shop), {**form, "name": "Spring sale"})
    assert r.status_code == 302 and AdCampaign.objects.for_shop(shop).get(pk=campaign.pk).name == "Spring sale"
    assert client.get(page(f"{campaign.pk}/activate/", shop)).status_code == 200
    assert client.post(page(f"{campaign.pk}/activate/", shop)).status_code == 302
    assert client.post(page(f"{campaign.pk}/activate/", shop)).status_code == 409  # already active
    r = client.get(page("", shop), {"state": "active", "search": "spring"})
    assert f'data-campaign="{campaign.pk}"'.encode() in r.content
    assert client.get(page("", shop), {"state": "bogus"}).status_code == 302  # back to the list, the filter named
    r = client.get(page("", shop), {"search": "nothing like it"})
    assert b"No campaigns match these filters." in r.content


@pytest.mark.django_db
def test_detail_shows_per_day_figures_charts_and_names_a_bad_range(shop):
    campaign = make_campaign(shop, daily_budget="100.00")
    today = sel.shop_today(shop)
    push(shop, campaign, day=(today - timedelta(days=1)).isoformat(), impressions=200, clicks=4, spend="8.00",
         revenue="40.00")  # fmt: skip
    push(shop, campaign, spend="100.00")
    client = web_client_for(make_member(shop, "viewer").user)
    r = client.get(page(f"{campaign.pk}/", shop))
    body = r.content.decode()
    assert r.status_code == 200
    # (300 + 40) / (100 + 8) and (50 + 4) / (1000 + 200): ratios of the sums, computed by PostgreSQL
    assert 'id="total-roas">3.1481<' in body and 'id="total-ctr">4.5000%<' in body
    for chart_id in ("chart-traffic", "chart-spend", "chart-ratios"):
        assert f'<script id="{chart_id}-data" type="application/json">' in body and f'id="{chart_id}-table"' in body
    assert "vendor/chart.js-4.6.1/chart.umd.min.js" in body and 'id="edit-campaign"' not in body  # a viewer
    r = client.get(page(f"{campaign.pk}/", shop), {"date_from": "2026-02-30"})
    assert r.status_code == 400 and 'id="date_from_error"' in r.content.decode()
    assert client.get(page(f"{campaign.pk}/pause/", shop)).status_code == 403


def test_the_served_chart_js_is_the_pinned_npm_package_byte_for_byte():
    """static/vendor holds a committed copy (``make run`` needs no npm); it must be what package-lock pins."""
    root = Path(__file__).resolve().parents[2]
    lock = json.loads((root / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/chart.js"]["version"] == "4.6.1"
    assert json.loads((root / "package.json").read_text())["dependencies"]["chart.js"] == "4.6.1"
    installed = root / "node_modules/chart.js"
    if not installed.is_dir():
        pytest.fail("node_modules/chart.js is missing: run `npm ci`", pytrace=False)
    assert json.loads((installed / "package.json").read_text())["version"] == "4.6.1"
    for name in ("chart.umd.min.js", "chart.umd.min.js.map"):
        served = root / "static/vendor/chart.js-4.6.1" / name
        assert served.read_bytes() == (installed / "dist" / name).read_bytes(), f"{name} drifted from node_modules"


@pytest.mark.django_db
def test_lists_cost_the_same_queries_for_two_or_eight_campaigns(shop):
    for _n in range(2):
        push(shop, make_campaign(shop))
    api_client, web = api_client_for(shop.owner), web_client_for(shop.owner)
    before = (count_queries(api_client, api("", shop))[0], count_queries(web, page("", shop))[0])
    for _n in range(6):
        push(shop, make_campaign(shop))
    n_api, r = count_queries(api_client, api("", shop))
    n_web, _r = count_queries(web, page("", shop))
    assert len(r.json()["results"]) == 8 and (n_api, n_web) == before
