"""Report types the promotions app contributes to the analytics registry (``backoffice.reports``):

- ``promotions``: the effect of each promotion that ran during the period (not a draft; its window overlaps the
  period's days): the figures of its own window (``promotions.effect``: start to end, or to now) against the
  same-length period before it, read from its snapshot (``PromotionEffect``). A snapshot missing or stale is
  computed first (``promotion_effect_current``); the beat keeps those of running and recent promotions fresh, so
  normally the report is two queries.
- ``ads``: per campaign, the figures the marketplace pushed for the period's days (impressions, clicks, spend,
  attributed orders and revenue) with CTR, CPC and ROAS of the sums (``ads_selectors.campaign_period_totals``:
  one query).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.authz import Actor
from backoffice.reports import Chart, Column, Param, ReportType
from backoffice.tenancy.zones import day_bounds, shop_zone
from promotions import ads_selectors, effect, selectors
from promotions.models import AdCampaign, Promotion, PromotionEffect

VIEW = "promotions.view"
CENT = Decimal("0.01")
RATIO4 = Decimal("0.0001")


def _period_params() -> tuple[Param, Param]:
    return (
        Param("date_from", _("From"), "date", default=lambda: timezone.localdate() - timedelta(days=29)),
        Param("date_to", _("To"), "date", default=timezone.localdate),
    )


def _money(value: Any) -> Decimal | None:
    # Through text and to the cent: SQLite's sums come back as floats, the snapshot's money as strings.
    return None if value in (None, "") else Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(numerator: Any, denominator: Any, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(str(numerator)) / Decimal(str(denominator))).quantize(places, rounding=ROUND_HALF_UP)


def _percent(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _local_day(value, zone):
    return None if value is None else timezone.localtime(value, zone).date()


# ------------------------------------------------------------------------------------------------ promotions


def build_promotions(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    shop = actor.shop
    zone = shop_zone(shop)
    start = day_bounds(params["date_from"], zone)[0]
    end = day_bounds(params["date_to"], zone)[1]
    now = timezone.now()
    promotions = list(
        selectors.promotion_list(shop=shop, actor=actor)
        .exclude(state=Promotion.State.DRAFT)
        .filter(Q(starts_at__lt=end) & Q(starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=start)))
        .order_by("starts_at", "id")
    )
    snapshots = {s.promotion_id: s for s in PromotionEffect.objects.for_shop(shop).filter(
        promotion_id__in=[p.pk for p in promotions])}  # fmt: skip
    progress(30)
    for promotion in promotions:
        snapshot = snapshots.get(promotion.pk)
        if snapshot is None or effect.is_stale(snapshot=snapshot, promotion=promotion, now=now):
            snapshot = effect.promotion_effect_current(actor=actor, promotion=promotion)
        during, before = snapshot.during or {}, snapshot.before or {}
        uplift = effect.uplift(snapshot.during, snapshot.before) or {}
        yield [
            promotion.name, str(promotion.get_kind_display()), str(Promotion.Status(promotion.status_at(now)).label),
            _local_day(promotion.starts_at, zone), _local_day(promotion.ends_at, zone),
            during.get("orders", 0), during.get("units", 0), _money(during.get("revenue")),
            _money(during.get("discount")), during.get("buyers", 0), _money(during.get("average_order_value")),
            before.get("orders", 0), _money(before.get("revenue")), _percent(uplift.get("orders")),
            _percent(uplift.get("revenue")),
        ]  # fmt: skip


PROMOTIONS = ReportType(
    key="promotions",
    label=_("Promotion effect"),
    description=_(
        "For each promotion that ran in the period: orders, units, revenue and discount given in its own window, "
        "against the same length of time before it started."
    ),
    columns=(
        Column("promotion", _("Promotion"), "text"),
        Column("kind", _("Kind"), "text"),
        Column("status", _("Status"), "text"),
        Column("starts", _("Starts"), "date"),
        Column("ends", _("Ends"), "date"),
        Column("orders", _("Orders"), "int"),
        Column("units", _("Units"), "int"),
        Column("revenue", _("Revenue"), "money"),
        Column("discount", _("Discount given"), "money"),
        Column("buyers", _("Buyers"), "int"),
        Column("average_order_value", _("Average order value"), "money"),
        Column("orders_before", _("Orders before"), "int"),
        Column("revenue_before", _("Revenue before"), "money"),
        Column("orders_uplift", _("Orders uplift"), "percent"),
        Column("revenue_uplift", _("Revenue uplift"), "percent"),
    ),
    build=build_promotions,
    params=_period_params(),
    actions=(VIEW,),
    chart=Chart(x="promotion", series=("revenue_before", "revenue"), kind="bar"),
)


# ------------------------------------------------------------------------------------------------ ads


def build_ads(actor: Actor, params: Mapping[str, Any], progress) -> Iterator[list]:
    rows = ads_selectors.campaign_period_totals(shop=actor.shop, actor=actor, date_from=params["date_from"],
                                                date_to=params["date_to"])  # fmt: skip
    placements, states = dict(AdCampaign.Placement.choices), dict(AdCampaign.State.choices)
    for r in rows:
        impressions, clicks, spend, revenue = r["t_impressions"], r["t_clicks"], _money(r["t_spend"]), _money(
            r["t_revenue"])  # fmt: skip
        # The ratios of the sums, in Decimal here (as ``ads_selectors._ratios`` rounds them): the same on every
        # database (SQLite divides whole-valued numerics as integers).
        yield [r["name"], str(placements.get(r["placement"], r["placement"])), str(states.get(r["state"], r["state"])),
               impressions, clicks, spend, r["t_orders"], revenue, _ratio(clicks * 100, impressions, RATIO4),
               _ratio(spend, clicks, CENT), _ratio(revenue, spend, RATIO4)]  # fmt: skip


ADS = ReportType(
    key="ads",
    label=_("Ad campaigns"),
    description=_(
        "For each ad campaign: impressions, clicks, spend, attributed orders and revenue over the period, with "
        "click-through rate, cost per click and return on ad spend."
    ),
    columns=(
        Column("campaign", _("Campaign"), "text"),
        Column("placement", _("Placement"), "text"),
        Column("state", _("State"), "text"),
        Column("impressions", _("Impressions"), "int"),
        Column("clicks", _("Clicks"), "int"),
        Column("spend", _("Spend"), "money"),
        Column("orders", _("Orders"), "int"),
        Column("revenue", _("Revenue"), "money"),
        Column("ctr", _("CTR"), "percent"),
        Column("cpc", _("CPC"), "money"),
        Column("roas", _("ROAS"), "decimal"),
    ),
    build=build_ads,
    params=_period_params(),
    actions=(VIEW,),
    chart=Chart(x="campaign", series=("spend", "revenue"), kind="bar"),
)

REPORT_TYPES = [PROMOTIONS, ADS]
