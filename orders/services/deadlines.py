"""Deadlines: the overdue scan (beat, one task per shop) puts late orders on their timelines once and
tells the members who process them; what is due on the shop's "today".

"Overdue" compares instants (ship-by before now) and means the same in every zone. "Today" is a calendar
day, and it is the shop's (``shop_zone``): a worker has no request to take a zone from, so these functions
name the shop's zone themselves rather than rely on the one that happens to be active."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts import selectors as accounts_selectors
from accounts import services as accounts
from backoffice.authz import Actor, require, tenant_model
from backoffice.tenancy.zones import day_bounds, local_today, shop_zone
from orders import selectors
from orders.models import Order, OrderEvent

OVERDUE_BATCH = 5000


def _overdue_notices(shop, order_ids: list[int]) -> list:
    """One notice per active member who processes orders, counting the newly overdue orders they can see
    (a member limited to chosen warehouses hears only about orders allocated there)."""
    url = reverse("orders:order_list", args=[shop.pk]) + "?overdue=1"
    notices = []
    for member in accounts_selectors.actors_holding(shop=shop, action="orders.process"):
        mine = list(
            selectors.order_list(shop=shop, actor=member, action="orders.process", prefetch=False)
            .filter(pk__in=order_ids)
            .order_by("ship_by")
            .values_list("number", flat=True)
        )
        if not mine:
            continue
        numbers = ", ".join(mine[:20]) + ("…" if len(mine) > 20 else "")
        title = ngettext("%(n)s order is past its ship-by time", "%(n)s orders are past their ship-by time",
                         len(mine)) % {"n": len(mine)}  # fmt: skip
        notices.append(accounts.Notice(recipient=member.user, kind="overdue_orders", title=title, body=numbers,
                                       url=url))  # fmt: skip
    return notices


def overdue_scan(*, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """Put each open order of the actor's shop that passed its ship-by time on its timeline, once, and
    tell the members who process orders. Safe to run again: an order is reported once; a big backlog
    goes in batches. Run by the beat as the system (``system_actor(shop)``)."""
    require(actor, "orders.process")
    now = now or timezone.now()
    with transaction.atomic():
        # One scan per shop at a time (a second beat tick waits, then finds nothing to do).
        shop = tenant_model().objects.select_for_update().get(pk=actor.shop.pk)
        due = list(
            Order.objects.for_shop(shop)
            .filter(state__in=Order.OPEN_STATES, ship_by__lt=now, overdue_notified_at__isnull=True)
            .order_by("ship_by")
            .values_list("pk", "ship_by")[:OVERDUE_BATCH]
        )
        if not due:
            return {"overdue": 0, "notified": 0}
        ids = [pk for pk, _ship_by in due]
        zone = shop_zone(shop)
        Order.objects.for_shop(shop).filter(pk__in=ids).update(overdue_notified_at=now)
        # The deadline as the shop reads it (ISO 8601 with the shop's offset: the same instant).
        OrderEvent.objects.for_shop(shop).bulk_create(
            [OrderEvent(shop=shop, order_id=pk, kind="overdue", created_at=now,
                        data={"ship_by": timezone.localtime(ship_by, zone).isoformat()})
             for pk, ship_by in due]
        )  # fmt: skip
        # Written by a worker: in the shop's language, and any time in it in the shop's zone.
        with translation.override(shop.language), timezone.override(zone):
            notices = _overdue_notices(shop, ids)
        accounts.notifications_send(actor=actor, notices=notices)
    return {"overdue": len(ids), "notified": len(notices)}


def due_today_count(*, actor: Actor, now: datetime | None = None) -> int:
    """Open orders the actor may see whose ship-by time falls on the shop's today (a dashboard figure
    and the "due today" a scan may report): 22:30 UTC on the 1st is due on the 2nd in Moscow."""
    require(actor, "orders.view")
    shop = actor.shop
    zone = shop_zone(shop)
    start, end = day_bounds(local_today(zone, now=now), zone)
    orders = selectors.order_list(shop=shop, actor=actor, prefetch=False)
    return orders.filter(state__in=Order.OPEN_STATES, ship_by__gte=start, ship_by__lt=end).count()
