"""Guardrails that act by themselves: the auto-pause of an exhausted promotion, and the beat at window start and end.

Auto-pause. Intake (``quoting.PromotionPricing.price_order``) calls ``pause_exhausted`` with the promotions the
order used, in its transaction and under its locks on them: one whose usage limit is used up or whose budget is
spent (nothing left, or — for a gift — less than the gift's list price, so it could never give again) goes to
``paused`` with ``paused_reason`` ``limit_reached`` / ``budget_spent``, audited as the system. The members who
may manage it are told once the order commits (an intake that fails pauses nothing and tells no one). Activating
it again (a member raised the limit or budget, or not) clears the reason (``promotions._transition``); so does a
cancelled order that gives back what it used (``resume_replenished``: the pause ends with its cause). While it
is paused so, a quote names the limit or the budget as the reason, not the pause (``selectors._rule``).

Windows. ``promotion_windows_apply`` runs per shop from the beat (``promotions.tasks``): promotions and ad
campaigns past their end become ``ended`` (also paused ones: the window is over), each audited; promotions that
started since the shop's previous run are audited as started; an ad campaign's rest for a day that is over is
cleared (its status already reads ``active`` again the next day — ``ads_selectors.campaign_status`` — so the
field is only tidied, not audited). The moment of the previous run is kept per shop in Redis
(``backoffice.kv``), swapped atomically (GETSET), so two runs never announce the same start; without Redis, or
on the first run, it looks back ``LOOKBACK``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import selectors as accounts_selectors
from accounts import services as accounts
from backoffice import kv
from backoffice.audit import audit_record
from backoffice.authz import Actor, can, require, system_actor
from backoffice.tenancy.zones import shop_zone
from promotions import ads_selectors, selectors
from promotions.models import AdCampaign, Promotion

if TYPE_CHECKING:
    from accounts.models import Shop

log = logging.getLogger(__name__)

MANAGE = "promotions.manage"
MANAGE_ADS = "promotions.manage_ads"
NOTICE_KIND = "promotion_paused"
LIMIT_REACHED = "limit_reached"
BUDGET_SPENT = "budget_spent"
CENT = Decimal("0.01")
P = Promotion.State
A = AdCampaign.State


# ------------------------------------------------------------------------------------------------ auto-pause


def _exhausted(p: Promotion) -> str | None:
    """Why ``p`` can give nothing more (None: it still can)."""
    if p.usage_limit is not None and p.used_count >= p.usage_limit:
        return LIMIT_REACHED
    if p.budget is not None:
        left = p.budget - p.spent
        if left < CENT:
            return BUDGET_SPENT
        # A gift is given whole or not at all (the engine never gives one the budget cannot pay for).
        gift = p.gift_sku if p.kind == Promotion.Kind.GIFT_WITH_PURCHASE else None
        if gift is not None and gift.price * p.gift_quantity > left:
            return BUDGET_SPENT
    return None


def pause_exhausted(*, shop: Shop, promotion_ids: Sequence[int], at: datetime) -> list[int]:
    """Pause those of ``promotion_ids`` (the promotions an order just used) that are now used up, in the caller's
    transaction; the notices go out when it commits. Returns the ids paused (in id order)."""
    if not promotion_ids:
        return []
    actor = system_actor(shop)
    rows = list(
        Promotion.objects.for_shop(shop)
        .filter(Q(usage_limit__isnull=False) | Q(budget__isnull=False), pk__in=list(promotion_ids), state=P.ACTIVE)
        .select_related("gift_sku")
        .order_by("id")
        .select_for_update(of=("self",))
    )
    paused: list[int] = []
    for p in rows:
        reason = _exhausted(p)
        if reason is None:
            continue
        p.state, p.paused_reason = P.PAUSED, reason
        p.save(update_fields=["state", "paused_reason", "updated_at"])
        changes = {
            "state": [P.ACTIVE.value, P.PAUSED.value],
            "paused_reason": ["", reason],
            "at": [None, at.isoformat()],
        }
        if reason == LIMIT_REACHED:
            changes["used_count"] = [None, p.used_count]
        else:
            changes["spent"] = [None, str(p.spent)]
        audit_record(shop=shop, actor=actor, action="promotion.auto_paused", target=p, changes=changes)
        paused.append(p.pk)
    if paused:
        transaction.on_commit(functools.partial(_notify_paused, shop.pk, paused), robust=True)
    return paused


def resume_replenished(*, shop: Shop, promotion_ids: Sequence[int]) -> list[int]:
    """A cancelled order gave back its usage and budget (the caller's transaction, rows locked): those of
    ``promotion_ids`` that a guardrail paused and that could give again go back to ``active``, audited as the
    system. A member's pause stays. Returns the ids resumed."""
    rows = list(
        Promotion.objects.for_shop(shop)
        .filter(pk__in=list(promotion_ids), state=P.PAUSED, paused_reason__in=(LIMIT_REACHED, BUDGET_SPENT))
        .select_related("gift_sku")
        .order_by("id")
        .select_for_update(of=("self",))
    )
    resumed: list[int] = []
    for p in rows:
        if _exhausted(p) is not None:
            continue
        reason = p.paused_reason
        p.state, p.paused_reason = P.ACTIVE, ""
        p.save(update_fields=["state", "paused_reason", "updated_at"])
        audit_record(shop=shop, actor=system_actor(shop), action="promotion.auto_resumed", target=p,
                     changes={"state": [P.PAUSED.value, P.ACTIVE.value], "paused_reason": [reason, ""]})  # fmt: skip
        resumed.append(p.pk)
    return resumed


def _notify_paused(shop_id: int, ids: list[int]) -> None:
    """After the order's commit: tell each member who may manage the paused promotion (and whose scope covers
    it: it is theirs to raise and resume), in the shop's language. One transaction."""
    from backoffice.authz import tenant_model

    shop = tenant_model().objects.get(pk=shop_id)
    with transaction.atomic():
        promotions = list(Promotion.objects.for_shop(shop).filter(pk__in=ids, state=P.PAUSED).order_by("id"))
        members = accounts_selectors.actors_holding(shop=shop, action=MANAGE)
        notices = []
        with translation.override(shop.language), timezone.override(shop_zone(shop)):
            for p in promotions:
                if p.paused_reason == LIMIT_REACHED:
                    title = _("Promotion “%(name)s” paused: usage limit reached") % {"name": p.name}
                    body = _("It was used %(n)s times, its limit. Raise the limit and activate it to resume.") % {
                        "n": p.used_count}  # fmt: skip
                elif p.paused_reason == BUDGET_SPENT:
                    title = _("Promotion “%(name)s” paused: budget spent") % {"name": p.name}
                    body = _("It spent %(spent)s of its budget of %(budget)s. Raise the budget and activate it "
                             "to resume.") % {"spent": p.spent, "budget": p.budget}  # fmt: skip
                else:  # a member paused or resumed it in between: nothing to say
                    continue
                url = reverse("promotions:promotion_detail", args=[shop.pk, p.pk])
                notices += [
                    accounts.Notice(recipient=m.user, kind=NOTICE_KIND, title=title, body=body, url=url)
                    for m in members
                    if can(m, MANAGE, p) and selectors.scope_within_actor(actor=m, scope=p.scope)
                ]
        if notices:
            accounts.notifications_send(actor=system_actor(shop), notices=notices)


# --------------------------------------------------------------------------------------------------- windows

LOOKBACK = timedelta(hours=1)
# Far enough east that every shop's "today" has begun by then (the selection is coarse; each shop is exact).
_EARLIEST_ZONE = timedelta(hours=14)
_KEY_TTL = 7 * 24 * 3600


def _last_run_key(shop_id: int) -> str:
    return f"promotions:windows:last-run:{shop_id}"


def _swap_last_run(shop_id: int, now: datetime) -> tuple[datetime, str | None]:
    """The previous run's moment for this shop (``now - LOOKBACK`` when unknown), now recorded as ``now``.
    Returns it and the raw previous value (to put back if this run fails)."""
    client = kv.client()
    fallback = now - LOOKBACK
    if client is None:
        return fallback, None
    raw = client.getset(_last_run_key(shop_id), now.isoformat())
    client.expire(_last_run_key(shop_id), _KEY_TTL)
    old = raw.decode() if isinstance(raw, bytes) else raw
    try:
        since = datetime.fromisoformat(old) if old else fallback
    except ValueError:
        since = fallback
    # A moment from the future (a clock that jumped back) would hide starts: fall back.
    return (since if since <= now else fallback), old


def _restore_last_run(shop_id: int, now: datetime, old: str | None) -> None:
    """This run failed: give its interval back to the next run (unless a later run already took over)."""
    client = kv.client()
    if client is None:
        return
    key = _last_run_key(shop_id)
    current = client.get(key)
    if (current.decode() if isinstance(current, bytes) else current) == now.isoformat():
        if old:
            client.set(key, old, ex=_KEY_TTL)
        else:
            client.delete(key)


def windows_due_shops(*, now: datetime | None = None) -> list[int]:
    """Shops that have window work at ``now``: a promotion or campaign past its end, a promotion started within
    ``LOOKBACK``, a campaign resting for a day that may be over. Four index-friendly queries."""
    now = now or timezone.now()
    ids: set[int] = set()
    ending = Q(state__in=(P.ACTIVE, P.PAUSED), ends_at__lte=now)
    started = Q(state=P.ACTIVE, starts_at__gt=now - LOOKBACK, starts_at__lte=now)
    ids |= set(Promotion.unscoped.filter(ending).order_by().values_list("shop_id", flat=True).distinct())
    ids |= set(Promotion.unscoped.filter(started).order_by().values_list("shop_id", flat=True).distinct())
    ads = AdCampaign.unscoped.order_by()
    ids |= set(ads.filter(state__in=(A.ACTIVE, A.PAUSED), ends_at__lte=now).values_list("shop_id", flat=True))
    ids |= set(ads.filter(paused_for_day__lt=(now + _EARLIEST_ZONE).date()).values_list("shop_id", flat=True))
    return sorted(ids)


def promotion_windows_apply(*, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """The beat's work for one shop (see the module docstring); safe to run twice. Returns what it did."""
    require(actor, MANAGE)
    require(actor, MANAGE_ADS)
    shop = actor.shop
    now = now or timezone.now()
    since, old = _swap_last_run(shop.pk, now)
    try:
        return _windows_apply(actor, shop, since=since, now=now)
    except Exception:
        _restore_last_run(shop.pk, now, old)
        raise


def _windows_apply(actor: Actor, shop: Shop, *, since: datetime, now: datetime) -> dict[str, int]:
    done = {"promotions_started": 0, "promotions_ended": 0, "campaigns_ended": 0, "campaign_rests_cleared": 0}
    with transaction.atomic():
        promotions = Promotion.objects.for_shop(shop)
        # Locked in id order (as intake and the services lock them); a concurrent run waits, then finds them
        # ended (PostgreSQL re-checks the condition on the row it waited for) and does nothing.
        for p in promotions.filter(state=P.ACTIVE, starts_at__gt=since, starts_at__lte=now).order_by("id"):
            audit_record(shop=shop, actor=actor, action="promotion.started", target=p,
                         changes={"starts_at": [None, p.starts_at.isoformat()]})  # fmt: skip
            done["promotions_started"] += 1
        for p in promotions.filter(state__in=(P.ACTIVE, P.PAUSED), ends_at__lte=now).order_by("id").select_for_update():
            before = p.state
            p.state, p.paused_reason = P.ENDED, ""
            p.save(update_fields=["state", "paused_reason", "updated_at"])
            audit_record(shop=shop, actor=actor, action="promotion.window_ended", target=p,
                         changes={"state": [before, P.ENDED.value], "ends_at": [None, p.ends_at.isoformat()]})  # fmt: skip
            done["promotions_ended"] += 1
        campaigns = AdCampaign.objects.for_shop(shop)
        for c in campaigns.filter(state__in=(A.ACTIVE, A.PAUSED), ends_at__lte=now).order_by("id").select_for_update():
            before = c.state
            c.state = A.ENDED
            c.save(update_fields=["state", "updated_at"])
            audit_record(shop=shop, actor=actor, action="ad_campaign.window_ended", target=c,
                         changes={"state": [before, A.ENDED.value], "ends_at": [None, c.ends_at.isoformat()]})  # fmt: skip
            done["campaigns_ended"] += 1
        today = ads_selectors.shop_today(shop)
        done["campaign_rests_cleared"] = campaigns.filter(paused_for_day__lt=today).update(paused_for_day=None)
    return done
