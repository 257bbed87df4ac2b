"""Deadlines: the overdue scan (beat, one task per shop) puts late orders on their timelines once and
tells the members who process them."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts import selectors as accounts_selectors
from accounts import services as accounts
from backoffice.authz import Actor, require, tenant_model
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
        Order.objects.for_shop(shop).filter(pk__in=ids).update(overdue_notified_at=now)
        OrderEvent.objects.for_shop(shop).bulk_create(
            [OrderEvent(shop=shop, order_id=pk, kind="overdue", data={"ship_by": ship_by.isoformat()}, created_at=now)
             for pk, ship_by in due]
        )  # fmt: skip
        with translation.override(shop.language):  # written by a worker: in the shop's language
            notices = _overdue_notices(shop, ids)
        accounts.notifications_send(actor=actor, notices=notices)
    return {"overdue": len(ids), "notified": len(notices)}
