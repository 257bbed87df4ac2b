"""Reads of ad campaigns: the list (state tabs, placement, search), a campaign's per-day figures and totals.

CTR, CPC and ROAS are computed by PostgreSQL in ``numeric`` (no float on the way): a day with no impressions,
clicks or spend has no ratio (NULL, shown as "—"), never a division by zero. The totals use the same formulas
over the sums, so a total is never an average of daily ratios.

A campaign whose daily budget ran out stays ``active``; ``paused_for_day`` names the shop's day it rests.
Its derived status is ``resting`` on that day only, so it resumes the next day without a beat task.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor, can, restrict
from backoffice.errors import ValidationFailed
from backoffice.parsing import parse_id
from backoffice.tenancy.zones import shop_today
from promotions.models import AdCampaign, AdStat

if TYPE_CHECKING:
    from accounts.models import Shop

VIEW = "promotions.view"
MANAGE_ADS = "promotions.manage_ads"
STATES = tuple(AdCampaign.State.values)
# The derived status: the state, ``resting`` for an active campaign whose budget ran out today, and ``ended``
# for an active one past its end.
RESTING = "resting"
# Which steps each state allows (the services enforce it; pages offer the buttons from ``campaign_actions``).
TRANSITIONS = {
    "activate": (AdCampaign.State.DRAFT, AdCampaign.State.PAUSED),
    "pause": (AdCampaign.State.ACTIVE,),
    "end": (AdCampaign.State.DRAFT, AdCampaign.State.ACTIVE, AdCampaign.State.PAUSED),
}
# The ``status`` filter: the derived status the list shows in its Status column (the dashboard's cards link here).
STATUSES = (*STATES, RESTING)
# The ``spent_today`` filter: campaigns with (``yes``) or without (``no``) spend pushed for the shop's today.
YES_NO = {"yes": True, "no": False}
MAX_STAT_DAYS = 366
RATIO = DecimalField(max_digits=20, decimal_places=4)
ZERO = Decimal("0.00")


def campaign_status(campaign: AdCampaign, *, today: date, now=None) -> str:
    """``draft``/``active``/``paused``/``ended``, or ``resting`` (active, daily budget spent today)."""
    if campaign.state != AdCampaign.State.ACTIVE:
        return campaign.state
    if campaign.ends_at is not None and campaign.ends_at <= (now or timezone.now()):
        return AdCampaign.State.ENDED
    if campaign.paused_for_day == today:
        return RESTING
    return AdCampaign.State.ACTIVE


def status_q(status: str, *, today: date, now=None) -> Q:
    """The campaigns whose ``campaign_status`` is ``status`` on ``today`` at ``now``, as a filter (same rules)."""
    now = now or timezone.now()
    live = Q(state=AdCampaign.State.ACTIVE) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    if status == RESTING:
        return live & Q(paused_for_day=today)
    if status == AdCampaign.State.ACTIVE:
        return live & ~Q(paused_for_day=today)  # Django keeps a NULL day in (NOT over a nullable column)
    if status == AdCampaign.State.ENDED:
        return Q(state=AdCampaign.State.ENDED) | (Q(state=AdCampaign.State.ACTIVE) & Q(ends_at__lte=now))
    return Q(state=status)


def campaign_list(*, shop: Shop, actor: Actor, filters: Any = None, action: str = VIEW) -> QuerySet[AdCampaign]:
    """Campaigns the actor may see, newest first, with their total spend, clicks and impressions. Filters:
    ``state`` (one of STATES), ``status`` (the derived status: STATES or ``resting``), ``spent_today``
    (``yes``/``no``: spend pushed for the shop's today), ``placement``, ``search`` (in the name); a bad value
    is a 400 naming it."""
    filters = filters or {}
    qs = restrict(AdCampaign.objects.for_shop(shop), actor, action)
    if state := filters.get("state"):
        if state not in STATES:
            raise ValidationFailed(_("Unknown status."), fields={"state": [_("Unknown status.")]})
        qs = qs.filter(state=state)
    if status := filters.get("status"):
        if status not in STATUSES:
            raise ValidationFailed(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        qs = qs.filter(status_q(status, today=shop_today(shop)))
    if spent := filters.get("spent_today"):
        if spent not in YES_NO:
            message = _("Choose “yes” or “no”.")
            raise ValidationFailed(message, fields={"spent_today": [message]})
        today_spend = AdStat.objects.for_shop(shop).filter(campaign_id=OuterRef("pk"), day=shop_today(shop),
                                                           spend__gt=0)  # fmt: skip
        qs = qs.filter(Exists(today_spend) if YES_NO[spent] else ~Exists(today_spend))
    if placement := filters.get("placement"):
        if placement not in AdCampaign.Placement.values:
            raise ValidationFailed(_("Unknown placement."), fields={"placement": [_("Unknown placement.")]})
        qs = qs.filter(placement=placement)
    if search := str(filters.get("search") or "").strip()[:200]:
        qs = qs.filter(name__icontains=search)
    stats = AdStat.objects.for_shop(shop).filter(campaign_id=OuterRef("pk")).order_by().values("campaign_id")
    return qs.annotate(
        total_spend=Coalesce(Subquery(stats.annotate(t=Sum("spend")).values("t")), Value(ZERO),
                             output_field=DecimalField(max_digits=14, decimal_places=2)),
        total_clicks=Coalesce(Subquery(stats.annotate(t=Sum("clicks")).values("t")), Value(0)),
        total_impressions=Coalesce(Subquery(stats.annotate(t=Sum("impressions")).values("t")), Value(0)),
    ).order_by("-id")  # fmt: skip


def campaign_state_counts(*, shop: Shop, actor: Actor) -> dict[str, int]:
    """{state: number of campaigns} for the list's tabs (one query)."""
    qs = restrict(AdCampaign.objects.for_shop(shop), actor, VIEW)
    found = qs.aggregate(**{s: Count("pk", filter=Q(state=s)) for s in STATES})
    return {s: found[s] or 0 for s in STATES}


def dashboard_figures(*, shop: Shop, actor: Actor) -> dict[str, Any]:
    """The dashboard's ad cards in one query, over the campaigns the actor may see: ``running`` and ``resting``
    (as the ``status`` filter counts them) and ``spend_today`` (the spend pushed for the shop's today)."""
    today = shop_today(shop)
    qs = restrict(AdCampaign.objects.for_shop(shop), actor, VIEW).order_by()
    # At most one statistics row per campaign and day (a unique constraint), so the join does not double a count.
    qs = qs.annotate(today_stat=FilteredRelation("stats", condition=Q(stats__day=today)))
    return qs.aggregate(
        running=Count("pk", filter=status_q(AdCampaign.State.ACTIVE, today=today)),
        resting=Count("pk", filter=status_q(RESTING, today=today)),
        spend_today=Coalesce(Sum("today_stat__spend"), Value(ZERO), output_field=DecimalField(max_digits=14,
                                                                                               decimal_places=2)),
    )  # fmt: skip


def campaign_get(*, shop: Shop, actor: Actor, pk: Any, action: str = VIEW) -> AdCampaign | None:
    """One campaign the actor may ``action``, its products loaded; None for a bad id, another shop's, or out of reach."""
    try:
        pk = parse_id(pk, "id")
    except ValidationFailed:
        return None
    qs = restrict(AdCampaign.objects.for_shop(shop), actor, action)
    return qs.prefetch_related("products").filter(pk=pk).first()


def campaign_actions(*, actor: Actor, campaign: AdCampaign) -> dict[str, bool]:
    """What a page may offer for this campaign: edit and each step its state allows."""
    manage = can(actor, MANAGE_ADS, campaign)
    may = {op: manage and campaign.state in states for op, states in TRANSITIONS.items()}
    may["edit"] = manage and campaign.state != AdCampaign.State.ENDED
    return may


def _ratios(impressions, clicks, spend, revenue) -> dict[str, Any]:
    """CTR in percent (4 places), CPC and ROAS (money / money, 2 and 4 places), NULL when undefined."""
    num = lambda e: Cast(e, RATIO)  # noqa: E731 - numeric arithmetic, never float
    # SQLite (the embedded default) keeps a whole NUMERIC as an integer and divides integers as integers (a ROAS
    # of 3.75 read as 3): there the dividend is a REAL, rounded back to a Decimal of the field's places. PostgreSQL
    # divides numeric by numeric, exactly.
    sqlite = connection.vendor == "sqlite"
    exact = lambda e: Cast(e, FloatField()) if sqlite else num(e)  # noqa: E731
    return {
        "ctr": Round(ExpressionWrapper(exact(clicks) * Value(Decimal(100)) / NullIf(num(impressions), Value(0)),
                                       output_field=RATIO), 4),
        "cpc": Round(ExpressionWrapper(exact(spend) / NullIf(num(clicks), Value(0)), output_field=RATIO), 2),
        "roas": Round(ExpressionWrapper(exact(revenue) / NullIf(num(spend), Value(0)), output_field=RATIO), 4),
    }  # fmt: skip


def parse_stat_range(filters: Any, *, today: date) -> tuple[date, date]:
    """``date_from``/``date_to`` (``YYYY-MM-DD``, the shop's days); default the last 30 days. At most
    ``MAX_STAT_DAYS`` days, the start not after the end; a bad value is a 400 naming its field."""
    filters = filters or {}
    out = {}
    for key, default in (("date_from", today - timedelta(days=29)), ("date_to", today)):
        raw = str(filters.get(key) or "").strip()
        try:
            out[key] = date.fromisoformat(raw) if raw else default
        except ValueError:
            message = _("Use a real date, YYYY-MM-DD.")
            raise ValidationFailed(message, fields={key: [message]}) from None
    if out["date_from"] > out["date_to"]:
        message = _("The end must be after the start.")
        raise ValidationFailed(message, fields={"date_to": [message]})
    if (out["date_to"] - out["date_from"]).days >= MAX_STAT_DAYS:
        message = _("At most %(n)s days.") % {"n": MAX_STAT_DAYS}
        raise ValidationFailed(message, fields={"date_from": [message]})
    return out["date_from"], out["date_to"]


def campaign_stats(*, shop: Shop, campaign: AdCampaign, date_from: date, date_to: date) -> QuerySet[AdStat]:
    """The campaign's pushed days in [date_from, date_to], oldest first, with ``ctr``, ``cpc``, ``roas``.
    The caller got ``campaign`` through ``campaign_get`` (the access check)."""
    qs = AdStat.objects.for_shop(shop).filter(campaign=campaign, day__gte=date_from, day__lte=date_to)
    return qs.annotate(**_ratios(F("impressions"), F("clicks"), F("spend"), F("revenue"))).order_by("day")


def campaign_stat_totals(*, shop: Shop, campaign: AdCampaign, date_from: date, date_to: date) -> dict[str, Any]:
    """Sums over the range and the ratios of the sums (one query)."""
    qs = AdStat.objects.for_shop(shop).filter(campaign=campaign, day__gte=date_from, day__lte=date_to).order_by()
    money = DecimalField(max_digits=14, decimal_places=2)
    found = qs.aggregate(
        t_impressions=Coalesce(Sum("impressions"), Value(0)), t_clicks=Coalesce(Sum("clicks"), Value(0)),
        t_spend=Coalesce(Sum("spend"), Value(ZERO), output_field=money), t_orders=Coalesce(Sum("orders"), Value(0)),
        t_revenue=Coalesce(Sum("revenue"), Value(ZERO), output_field=money),
        **_ratios(Sum("impressions"), Sum("clicks"), Sum("spend"), Sum("revenue")),
    )  # fmt: skip
    return {k.removeprefix("t_"): v for k, v in found.items()}


def spend_of_day(*, shop: Shop, campaign_ids: list[int], day: date) -> dict[int, Decimal]:
    """{campaign id: spend on ``day``} for these campaigns (one query): the list's "today" column."""
    rows = AdStat.objects.for_shop(shop).filter(campaign_id__in=campaign_ids, day=day)
    return dict(rows.values_list("campaign_id", "spend"))


def ad_spend_days(*, shop: Shop, since: date) -> list[tuple[int, date, Decimal]]:
    """``(campaign id, day, spend)`` of every pushed day from ``since`` on, oldest first: what the payouts ledger
    charges (it books each day's spend, and the difference when a day is pushed again). Read-only, one query."""
    rows = AdStat.objects.for_shop(shop).filter(day__gte=since).order_by("day", "campaign_id")
    return list(rows.values_list("campaign_id", "day", "spend"))


def campaign_period_totals(*, shop: Shop, actor: Actor, date_from: date, date_to: date) -> QuerySet[AdStat]:
    """Per campaign the actor may see with pushed days in [date_from, date_to]: ``campaign_id``, its ``name``,
    ``placement`` and ``state``, and the sums (``t_impressions``, ``t_clicks``, ``t_spend``, ``t_orders``,
    ``t_revenue``), most spend first; the caller takes the ratios of the sums. One query whatever the number of
    campaigns (the analytics ``ads`` report)."""
    campaigns = restrict(AdCampaign.objects.for_shop(shop), actor, VIEW).values("pk")
    qs = AdStat.objects.for_shop(shop).filter(campaign_id__in=campaigns, day__gte=date_from, day__lte=date_to)
    money = DecimalField(max_digits=14, decimal_places=2)
    return (
        qs.order_by()
        .values("campaign_id")
        .annotate(
            name=F("campaign__name"), placement=F("campaign__placement"), state=F("campaign__state"),
            t_impressions=Sum("impressions"), t_clicks=Sum("clicks"), t_spend=Sum("spend", output_field=money),
            t_orders=Sum("orders"), t_revenue=Sum("revenue", output_field=money),
        )
        .order_by("-t_spend", "name", "campaign_id")
    )  # fmt: skip
