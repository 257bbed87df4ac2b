"""Ad campaigns: create, edit, activate, pause, end; and the marketplace's daily figures (integration push).

A push is an upsert keyed by the unique (shop, campaign, day): a re-push replaces the day's figures and never
adds to them. The campaign row is locked first, so two pushes for one campaign run one after the other (the
``ON CONFLICT`` insert would keep a single row even without the lock), and the daily-budget check reads the
figures the push just wrote.

When a day's spend reaches the daily budget the campaign rests for that day: its state stays ``active`` and
``paused_for_day`` names the day (``ads_selectors.campaign_status`` reads ``resting`` on that day only, so it
resumes the next day without a beat task). The members who manage ads are told once per campaign and day.

Ad spend is charged to the payouts ledger when that ledger exists; until then ``AdStat.spend`` keyed by
(campaign, day) is the record the ledger will post from (a re-push corrects it, so payouts must post the
difference to what it already posted for that key).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import selectors as accounts_selectors
from accounts import services as accounts
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, can, require
from backoffice.errors import Conflict, ValidationFailed
from backoffice.money import parse_money
from backoffice.parsing import parse_day_or_moment, parse_ids, parse_int
from backoffice.tenancy.zones import shop_zone
from promotions import ads_selectors
from promotions.models import AdCampaign, AdStat

MANAGE_ADS = "promotions.manage_ads"
NOTICE_KIND = "ad_budget_spent"
FIELDS = ("name", "placement", "daily_budget", "bid", "starts_at", "ends_at")
STAT_FIELDS = ("impressions", "clicks", "spend", "orders", "revenue")
MAX_PRODUCTS = 500
MAX_COUNT = 10**12
State = AdCampaign.State


def _fields_of(c: AdCampaign) -> dict[str, Any]:
    return {**{f: getattr(c, f) for f in FIELDS}, "products": sorted(p.pk for p in c.products.all())}


def _catch(errors: dict, field: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationFailed as exc:
        errors.update(exc.fields or {field: [exc.message]})
        return None


def _clean(actor: Actor, data: dict[str, Any], *, instance: AdCampaign | None = None) -> dict[str, Any]:
    """The campaign's fields from ``data`` (an edit: ``instance``'s values for what ``data`` leaves out);
    every problem named by its field."""
    if not isinstance(data, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
    base = _fields_of(instance) if instance is not None else {}
    get = lambda key: data.get(key, base.get(key))  # noqa: E731
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    name = str(get("name") or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 200:
        errors["name"] = [_("At most %(n)s characters.") % {"n": 200}]
    elif "\x00" in name:  # PostgreSQL cannot store a NUL (a raw JSON body reaches here without a serializer)
        errors["name"] = [_("Null characters are not allowed.")]
    out["name"] = name
    placement = get("placement")
    if placement not in AdCampaign.Placement.values:
        errors["placement"] = [_("Choose one of: %(v)s") % {"v": ", ".join(AdCampaign.Placement.values)}]
    out["placement"] = placement
    out["daily_budget"] = _catch(errors, "daily_budget", parse_money, get("daily_budget"), "daily_budget",
                                 positive=True)  # fmt: skip
    out["bid"] = _catch(errors, "bid", parse_money, get("bid"), "bid", positive=True)
    if out["bid"] is not None and out["daily_budget"] is not None and out["bid"] > out["daily_budget"]:
        errors["bid"] = [_("The bid cannot be more than the daily budget.")]
    starts, ends = get("starts_at"), get("ends_at")
    out["starts_at"] = starts if hasattr(starts, "tzinfo") else _catch(errors, "starts_at", parse_day_or_moment,
                                                                        starts, "starts_at")  # fmt: skip
    if out["starts_at"] is None and "starts_at" not in errors:
        errors["starts_at"] = [_("This field is required.")]
    out["ends_at"] = ends if hasattr(ends, "tzinfo") else _catch(errors, "ends_at", parse_day_or_moment, ends,
                                                                  "ends_at", end_of_day=True)  # fmt: skip
    if out["starts_at"] and out["ends_at"] and out["ends_at"] <= out["starts_at"]:
        errors["ends_at"] = [_("The end must be after the start.")]
    products = base.get("products", [])
    if "products" in data:
        raw = data["products"] or []
        if isinstance(raw, (list, tuple)) and len(raw) > MAX_PRODUCTS:
            errors["products"] = [_("A campaign has at most %(n)s products.") % {"n": MAX_PRODUCTS}]
            raw = []
        products = _catch(errors, "products", parse_ids, raw, "products", limit=MAX_PRODUCTS) or []
        Product = AdCampaign._meta.get_field("products").related_model
        found = set(Product.objects.for_shop(actor.shop).filter(pk__in=products).values_list("pk", flat=True))
        if missing := [pk for pk in products if pk not in found]:
            # Another shop's product reads as unknown: the id names nothing here.
            errors["products"] = [_("Unknown product %(id)s.") % {"id": missing[0]}]
    out["products"] = list(dict.fromkeys(products))
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return out


def ad_campaign_create(*, actor: Actor, data: dict[str, Any]) -> AdCampaign:
    """A new campaign, in ``draft`` (``ad_campaign_activate`` starts it)."""
    require(actor, MANAGE_ADS)
    fields = _clean(actor, data)
    products = fields.pop("products")
    with transaction.atomic():
        campaign = AdCampaign.objects.for_shop(actor.shop).create(shop=actor.shop, **fields)
        campaign.products.set(products)
        audit_record(shop=actor.shop, actor=actor, action="ad_campaign.created", target=campaign,
                     changes=diff({}, _fields_of(campaign)))  # fmt: skip
    return campaign


def ad_campaign_update(*, actor: Actor, campaign: AdCampaign, data: dict[str, Any]) -> AdCampaign:
    """Edit a campaign that has not ended (the figures already pushed stay as they are)."""
    require(actor, MANAGE_ADS, campaign)
    with transaction.atomic():
        campaign = AdCampaign.objects.for_shop(actor.shop).select_for_update().get(pk=campaign.pk)
        if campaign.state == State.ENDED:
            raise Conflict(_("An ended campaign cannot be changed."), code="campaign_ended")
        before = _fields_of(campaign)
        fields = _clean(actor, data, instance=campaign)
        products = fields.pop("products")
        for key, value in fields.items():
            setattr(campaign, key, value)
        campaign.save()
        campaign.products.set(products)
        audit_record(shop=actor.shop, actor=actor, action="ad_campaign.updated", target=campaign,
                     changes=diff(before, _fields_of(campaign)))  # fmt: skip
    return campaign


def _transition(actor: Actor, campaign: AdCampaign, op: str, to_state: str, action: str) -> AdCampaign:
    require(actor, MANAGE_ADS, campaign)
    with transaction.atomic():
        campaign = AdCampaign.objects.for_shop(actor.shop).select_for_update().get(pk=campaign.pk)
        if campaign.state not in ads_selectors.TRANSITIONS[op]:
            raise Conflict(
                _("A campaign in state “%(state)s” cannot do this.") % {"state": campaign.get_state_display()},
                code="invalid_transition",
            )
        before = campaign.state
        campaign.state = to_state
        fields = ["state", "updated_at"]
        if to_state == State.ENDED and (campaign.ends_at is None or campaign.ends_at > timezone.now()):
            campaign.ends_at = max(timezone.now(), campaign.starts_at + timezone.timedelta(microseconds=1))
            fields.append("ends_at")
        campaign.save(update_fields=fields)
        audit_record(shop=actor.shop, actor=actor, action=action, target=campaign,
                     changes={"state": [before, to_state]})  # fmt: skip
    return campaign


def ad_campaign_activate(*, actor: Actor, campaign: AdCampaign) -> AdCampaign:
    """Draft or paused → active (the marketplace shows it from its start until its end)."""
    return _transition(actor, campaign, "activate", State.ACTIVE, "ad_campaign.activated")


def ad_campaign_pause(*, actor: Actor, campaign: AdCampaign) -> AdCampaign:
    return _transition(actor, campaign, "pause", State.PAUSED, "ad_campaign.paused")


def ad_campaign_end(*, actor: Actor, campaign: AdCampaign) -> AdCampaign:
    """Ends it now (final); its figures stay."""
    return _transition(actor, campaign, "end", State.ENDED, "ad_campaign.ended")


def _clean_stats(data: dict[str, Any], *, today: date) -> tuple[date, dict[str, Any]]:
    if not isinstance(data, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
    errors: dict[str, list[str]] = {}
    day = None
    try:
        day = date.fromisoformat(str(data.get("day") or ""))
    except ValueError:
        errors["day"] = [_("Use a real date, YYYY-MM-DD.")]
    if day is not None and day > today:
        errors["day"] = [_("A day that has not begun has no figures yet.")]
    out: dict[str, Any] = {}
    for key in ("impressions", "clicks", "orders"):
        out[key] = _catch(errors, key, parse_int, data.get(key, 0), key, minimum=0, maximum=MAX_COUNT)
    for key in ("spend", "revenue"):
        out[key] = _catch(errors, key, parse_money, data.get(key, "0"), key)
    if out["clicks"] is not None and out["impressions"] is not None and out["clicks"] > out["impressions"]:
        errors["clicks"] = [_("Clicks cannot be more than impressions.")]
    if out["orders"] is not None and out["orders"] > 2**31 - 1:
        errors["orders"] = [_("Too large.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return day, out


def ad_stats_push(*, actor: Actor, campaign: AdCampaign, data: dict[str, Any]) -> tuple[AdStat, bool]:
    """The marketplace's figures for one campaign and day (``day``, ``impressions``, ``clicks``, ``spend``,
    ``orders``, ``revenue``): inserted, or replacing what an earlier push said for that day. Returns the row
    and whether it is new. Called by the integration endpoint with ``system_actor(shop, user=…)``."""
    require(actor, MANAGE_ADS, campaign)
    zone = shop_zone(actor.shop)
    today = ads_selectors.shop_today(actor.shop)
    day, figures = _clean_stats(data, today=today)
    with transaction.atomic():
        campaign = AdCampaign.objects.for_shop(actor.shop).select_for_update().get(pk=campaign.pk)
        rows = AdStat.objects.for_shop(actor.shop)
        before = rows.filter(campaign=campaign, day=day).values(*STAT_FIELDS).first()
        # INSERT … ON CONFLICT (shop, campaign, day) DO UPDATE: one row per day whatever the interleaving.
        rows.bulk_create(
            [AdStat(shop=actor.shop, campaign=campaign, day=day, **figures)],
            update_conflicts=True, unique_fields=["shop", "campaign", "day"],
            update_fields=[*STAT_FIELDS, "updated_at"],
        )  # fmt: skip
        stat = rows.get(campaign=campaign, day=day)
        changes = diff(before or {}, {k: getattr(stat, k) for k in STAT_FIELDS})
        # The day's spend is always on the entry (the figure payouts will post), changed or not.
        changes.setdefault("spend", [str(stat.spend), str(stat.spend)])
        rested = _budget_check(actor, campaign, day=day, spend=stat.spend, today=today, zone=zone)
        if rested is not None:
            changes["paused_for_day"] = rested
        audit_record(shop=actor.shop, actor=actor, action="ad_stat.pushed", target=campaign,
                     changes={"day": [None, day.isoformat()], **changes})  # fmt: skip
    return stat, before is None


def _budget_check(actor: Actor, campaign: AdCampaign, *, day: date, spend: Decimal, today: date, zone) -> list | None:
    """Rest the (locked) campaign for ``day`` when its spend reached the daily budget; a corrected push below
    the budget lets it run again. Only today's figures decide (a past day is over). Returns the change."""
    if day != today or campaign.state != State.ACTIVE:
        return None
    before = campaign.paused_for_day
    spent = spend >= campaign.daily_budget
    if spent and before != day:
        campaign.paused_for_day = day
    elif not spent and before == day:
        campaign.paused_for_day = None
    else:
        return None
    campaign.save(update_fields=["paused_for_day", "updated_at"])
    if campaign.paused_for_day == day:
        _notify_budget_spent(actor, campaign, day=day, zone=zone)
    after = campaign.paused_for_day
    return [before.isoformat() if before else None, after.isoformat() if after else None]


def _notify_budget_spent(actor: Actor, campaign: AdCampaign, *, day: date, zone) -> None:
    """Tell each member who manages ads (and may reach this campaign), in the shop's language."""
    shop = actor.shop
    url = reverse("promotions:ad_campaign_detail", args=[shop.pk, campaign.pk])
    with translation.override(shop.language), timezone.override(zone):
        notices = [
            accounts.Notice(
                recipient=member.user, kind=NOTICE_KIND,
                title=_("Ad campaign “%(name)s” spent its daily budget") % {"name": campaign.name},
                body=_("It rests until the end of %(day)s and runs again the next day.") % {"day": day.isoformat()},
                url=url,
            )
            for member in accounts_selectors.actors_holding(shop=shop, action=MANAGE_ADS)
            if can(member, MANAGE_ADS, campaign)
        ]  # fmt: skip
    if notices:
        accounts.notifications_send(actor=actor, notices=notices)
