"""The promotions app's rows of the one probe table (permission matrix + isolation sweep).

The world is built once per test process and every test rolls back: each state-changing probe has its own
promotion in the state it needs, and declares that promotion's state as its effect."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from catalog import services as catalog
from orders.tests.factories import make_sku
from promotions.models import PriceFloor, Promotion, PromotionCode, PromotionSettings, PromotionUse
from promotions.tests.factories import make_promotion
from tests.fixtures import owner_actor, shop_today
from tests.shop_routes import Probe, count_of, fields_of

API = "api:promotions_api:"


def extend_world(world) -> None:
    shop = world.shop
    o = world.objects
    o["promo_category"] = catalog.category_create(actor=owner_actor(shop), name="Promo probes")
    o["promo_sku"], _wh = make_sku(shop, stock=20, price="100.00", category=o["promo_category"])
    o["promo_view"] = make_promotion(shop, name="Probe view")
    o["promo_edit"] = make_promotion(shop, name="Probe edit", activate=False)
    o["promo_activate"] = make_promotion(shop, name="Probe activate", activate=False)
    o["promo_pause"] = make_promotion(shop, name="Probe pause")
    o["promo_end"] = make_promotion(shop, name="Probe end")


def snapshot(shop) -> dict:
    return {
        "promotions": list(
            Promotion.objects.for_shop(shop)
            .order_by("id")
            .values_list("id", "name", "kind", "state", "value", "scope", "used_count", "spent", "code", "ends_at")
        ),  # fmt: skip
        "promotion_codes": list(PromotionCode.objects.for_shop(shop).order_by("id").values_list("id", "order_id")),
        "promotion_uses": PromotionUse.objects.for_shop(shop).count(),
        "promotion_settings": list(PromotionSettings.objects.for_shop(shop).values_list("max_discount_percent")),
        "price_floors": list(PriceFloor.objects.for_shop(shop).order_by("id").values_list("sku_id", "min_price")),
    }


def _pk(name):
    return lambda w: {"pk": w.objects[name].pk}


def _state(name):
    return fields_of(Promotion, lambda w: w.objects[name], "state")


_seq = itertools.count(1)


def _new_promotion(w) -> dict:
    return {"name": f"Probe new {next(_seq)}", "kind": "percent_off", "value": "5",
            "starts_at": (timezone.now() - timedelta(hours=1)).isoformat(),
            "scope": {"categories": [w.objects["promo_category"].pk]}}  # fmt: skip


PROBES: list[Probe] = [
    Probe(API + "promotions-list", "get", "promotions.view", 200),
    Probe(API + "promotions-list", "post", "promotions.manage", 201, body=_new_promotion, effect=count_of(Promotion),
          refs=("scope.categories.0",)),
    Probe(API + "promotions-detail", "get", "promotions.view", 200, kwargs=_pk("promo_view")),
    Probe(API + "promotions-detail", "patch", "promotions.manage", 200, kwargs=_pk("promo_edit"),
          body=lambda w: {"name": "Probe edited"}, effect=fields_of(Promotion, lambda w: w.objects["promo_edit"], "name")),
    Probe(API + "promotions-activate", "post", "promotions.manage", 200, kwargs=_pk("promo_activate"),
          effect=_state("promo_activate")),
    Probe(API + "promotions-pause", "post", "promotions.manage", 200, kwargs=_pk("promo_pause"),
          effect=_state("promo_pause")),
    Probe(API + "promotions-end", "post", "promotions.manage", 200, kwargs=_pk("promo_end"), effect=_state("promo_end")),
    Probe(API + "promotions-quote", "post", "promotions.view", 200, reads_only=True,
          body=lambda w: {"lines": [{"sku": w.objects["promo_sku"].code, "quantity": 2}]}, refs=("lines.0.sku",)),
    Probe(API + "promotions-simulate", "post", "promotions.manage", 200, reads_only=True, kwargs=_pk("promo_edit"),
          body=lambda w: {"days": 30}),
    Probe(API + "promotions-effect", "get", "promotions.view", 200, kwargs=_pk("promo_view")),
]  # fmt: skip


# -- Pages (promotions/web): list, form per kind (create/edit), detail, activate/pause/end confirmations ---------
UI = "promotions:"


def _page_form(w) -> dict:
    """A percent-off promotion as the create/edit form sends it (no cart rows: a save, not a preview)."""
    return {"kind": "percent_off", "name": "Probe page promotion", "value": "12", "starts_at": "2030-01-01T10:00",
            "priority": "0", "gift_quantity": "1", "cart-TOTAL_FORMS": "0", "cart-INITIAL_FORMS": "0"}  # fmt: skip


PROBES += [
    Probe(UI + "promotion_list", "get", "promotions.view", 200, api=False),
    Probe(UI + "promotion_create", "get", "promotions.manage", 200, api=False),
    Probe(UI + "promotion_create", "post", "promotions.manage", 302, api=False, body=_page_form,
          effect=count_of(Promotion)),
    Probe(UI + "promotion_detail", "get", "promotions.view", 200, api=False, kwargs=_pk("promo_view")),
    Probe(UI + "promotion_edit", "get", "promotions.manage", 200, api=False, kwargs=_pk("promo_edit")),
    Probe(UI + "promotion_edit", "post", "promotions.manage", 302, api=False, kwargs=_pk("promo_edit"),
          body=_page_form, effect=fields_of(Promotion, lambda w: w.objects["promo_edit"], "name", "value")),
    *[Probe(UI + "promotion_transition", method, "promotions.manage", ok, api=False,
            kwargs=lambda w, op=op, name=name: {"pk": w.objects[name].pk, "op": op},
            effect=_state(name) if method == "post" else None)
      for op, name in (("activate", "promo_activate"), ("pause", "promo_pause"), ("end", "promo_end"))
      for method, ok in (("get", 200), ("post", 302))],
]  # fmt: skip


# -- Ad campaigns (promotions/api/ads.py, promotions/web/ads.py) ------------------------------------------------
from promotions.models import AdCampaign, AdStat  # noqa: E402
from promotions.services import ads as ad_services  # noqa: E402

_extend_world_promotions, _snapshot_promotions = extend_world, snapshot


def _campaign(shop, product, name: str, *, activate: bool = True) -> AdCampaign:
    body = {"name": name, "placement": "search", "products": [product.pk], "daily_budget": "100.00", "bid": "2.00",
            "starts_at": (timezone.now() - timedelta(days=1)).isoformat()}  # fmt: skip
    campaign = ad_services.ad_campaign_create(actor=owner_actor(shop), data=body)
    return ad_services.ad_campaign_activate(actor=owner_actor(shop), campaign=campaign) if activate else campaign


def extend_world(world) -> None:  # noqa: F811 - the promotions' objects, then the campaigns'
    _extend_world_promotions(world)
    shop, o = world.shop, world.objects
    product = o["promo_sku"].product
    o["ad_view"] = _campaign(shop, product, "Probe ad view")
    o["ad_edit"] = _campaign(shop, product, "Probe ad edit", activate=False)
    o["ad_activate"] = _campaign(shop, product, "Probe ad activate", activate=False)
    o["ad_pause"] = _campaign(shop, product, "Probe ad pause")
    o["ad_end"] = _campaign(shop, product, "Probe ad end")
    # A day of figures, so that the stats answer is not empty.
    from backoffice.authz import system_actor

    ad_services.ad_stats_push(actor=system_actor(shop), campaign=o["ad_view"],
                              data={"day": (shop_today(shop) - timedelta(days=1)).isoformat(),
                                    "impressions": 100, "clicks": 5, "spend": "10.00"})  # fmt: skip


def snapshot(shop) -> dict:  # noqa: F811
    return {
        **_snapshot_promotions(shop),
        "ad_campaigns": list(
            AdCampaign.objects.for_shop(shop)
            .order_by("id")
            .values_list("id", "name", "state", "bid", "daily_budget", "paused_for_day", "ends_at")
        ),  # fmt: skip
        "ad_campaign_products": sorted(
            AdCampaign.products.through.objects.filter(adcampaign__shop=shop).values_list("adcampaign_id", "product_id")
        ),
        "ad_stats": list(AdStat.objects.for_shop(shop).order_by("id").values_list("id", "day", "spend")),
    }


def _ad_state(name):
    return fields_of(AdCampaign, lambda w: w.objects[name], "state")


def _ad_fields(name):
    return fields_of(AdCampaign, lambda w: w.objects[name], "name", "bid")


def _new_campaign(w) -> dict:
    return {"name": f"Probe campaign {next(_seq)}", "placement": "banner", "daily_budget": "50.00", "bid": "1.00",
            "starts_at": "2030-01-01T10:00", "products": [w.objects["promo_sku"].product_id]}  # fmt: skip


PROBES += [
    Probe(API + "ad-campaigns-list", "get", "promotions.view", 200),
    Probe(API + "ad-campaigns-list", "post", "promotions.manage_ads", 201, body=_new_campaign,
          effect=count_of(AdCampaign), refs=("products.0",)),
    Probe(API + "ad-campaigns-detail", "get", "promotions.view", 200, kwargs=_pk("ad_view")),
    Probe(API + "ad-campaigns-detail", "patch", "promotions.manage_ads", 200, kwargs=_pk("ad_edit"),
          body=lambda w: {"name": "Probe ad edited", "products": [w.objects["promo_sku"].product_id]},
          effect=_ad_fields("ad_edit"), refs=("products.0",)),
    Probe(API + "ad-campaigns-stats", "get", "promotions.view", 200, kwargs=_pk("ad_view")),
    *[Probe(API + f"ad-campaigns-{op}", "post", "promotions.manage_ads", 200, kwargs=_pk(name), effect=_ad_state(name))
      for op, name in (("activate", "ad_activate"), ("pause", "ad_pause"), ("end", "ad_end"))],
    Probe(UI + "ad_campaign_list", "get", "promotions.view", 200, api=False),
    Probe(UI + "ad_campaign_create", "get", "promotions.manage_ads", 200, api=False),
    Probe(UI + "ad_campaign_create", "post", "promotions.manage_ads", 302, api=False, body=_new_campaign,
          effect=count_of(AdCampaign), refs=("products.0",)),
    Probe(UI + "ad_campaign_detail", "get", "promotions.view", 200, api=False, kwargs=_pk("ad_view")),
    Probe(UI + "ad_campaign_edit", "get", "promotions.manage_ads", 200, api=False, kwargs=_pk("ad_edit")),
    Probe(UI + "ad_campaign_edit", "post", "promotions.manage_ads", 302, api=False, kwargs=_pk("ad_edit"),
          body=lambda w: {**_new_campaign(w), "name": "Probe ad page edit", "bid": "3.00"},
          effect=_ad_fields("ad_edit"), refs=("products.0",)),
    *[Probe(UI + "ad_campaign_transition", method, "promotions.manage_ads", ok, api=False,
            kwargs=lambda w, op=op, name=name: {"pk": w.objects[name].pk, "op": op},
            effect=_ad_state(name) if method == "post" else None)
      for op, name in (("activate", "ad_activate"), ("pause", "ad_pause"), ("end", "ad_end"))
      for method, ok in (("get", 200), ("post", 302))],
]  # fmt: skip


# -- Single-use codes (promotions/web/codes.py, the codes actions of promotions/api/views.py) --------------------
_extend_world_before_codes = extend_world


def extend_world(world) -> None:  # noqa: F811 - everything above, then a promotion with a batch of codes
    _extend_world_before_codes(world)
    from promotions import services as promotion_services

    o = world.objects
    o["promo_codes"] = make_promotion(world.shop, name="Probe codes")
    promotion_services.promotion_codes_generate(actor=owner_actor(world.shop), promotion=o["promo_codes"], count=3,
                                                prefix="PROBE")  # fmt: skip


PROBES += [
    Probe(API + "promotions-codes", "post", "promotions.manage", 201, kwargs=_pk("promo_codes"),
          body=lambda w: {"count": 2, "prefix": "API"}, effect=count_of(PromotionCode)),
    Probe(API + "promotions-codes-export", "get", "promotions.manage", 200, kwargs=_pk("promo_codes"),
          body=lambda w: {"format": "csv"}),
    Probe(UI + "promotion_codes_generate", "get", "promotions.manage", 200, api=False, kwargs=_pk("promo_codes")),
    Probe(UI + "promotion_codes_generate", "post", "promotions.manage", 302, api=False, kwargs=_pk("promo_codes"),
          body=lambda w: {"count": "2", "prefix": "WEB"}, effect=count_of(PromotionCode)),
    Probe(UI + "promotion_codes_export", "get", "promotions.manage", 200, api=False, kwargs=_pk("promo_codes")),
]  # fmt: skip
