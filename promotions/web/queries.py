"""Reads of the promotion pages beyond promotions.selectors: the "ending soon" filter the dashboard card
links to, and the card's figures. Built on the core's selectors (``restrict`` applied there); meant to move
into promotions.selectors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.authz import Actor
from backoffice.errors import ValidationFailed
from promotions import selectors
from promotions.models import Promotion

if TYPE_CHECKING:
    from accounts.models import Shop

STATUSES = list(selectors.STATUSES)
ENDING_DAYS = 3


def ending_q(now: datetime) -> Q:
    """Running now and ending within ``ENDING_DAYS`` days."""
    return selectors.status_q(Promotion.Status.ACTIVE, now) & Q(ends_at__lte=now + timedelta(days=ENDING_DAYS))


def promotion_page_list(*, shop: Shop, actor: Actor, filters: Any = None) -> QuerySet[Promotion]:
    """The core's list (``status``, ``kind``, ``search``) plus ``ending=soon``; a bad value names its filter."""
    filters = filters or {}
    qs = selectors.promotion_list(shop=shop, actor=actor, filters=filters)
    if ending := filters.get("ending"):
        if ending != "soon":
            raise ValidationFailed(_("Unknown filter."), fields={"ending": [_("Unknown filter.")]})
        qs = qs.filter(ending_q(timezone.now()))
    return qs


def card_counts(*, shop: Shop, actor: Actor) -> dict[str, int]:
    """The dashboard card's figures in one query: running, ending within 3 days, paused."""
    now = timezone.now()
    qs = selectors.promotion_list(shop=shop, actor=actor).order_by()
    return qs.aggregate(
        active=Count("pk", filter=selectors.status_q(Promotion.Status.ACTIVE, now)),
        ending=Count("pk", filter=ending_q(now)),
        paused=Count("pk", filter=selectors.status_q(Promotion.Status.PAUSED, now)),
    )
