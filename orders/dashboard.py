"""Dashboard cards for orders: what waits for the member (see backoffice.dashboard)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from backoffice.authz import can
from backoffice.dashboard import Card
from orders import selectors
from orders.models import Order, Return
from orders.services.deadlines import due_today_count


def cards(actor) -> list[Card]:
    if not can(actor, "orders.view"):
        return []
    shop = actor.shop
    url = reverse("orders:order_list", args=[shop.pk])
    counts = selectors.open_counts(shop=shop, actor=actor)
    overdue = counts["overdue"]
    requested = selectors.return_list(shop=shop, actor=actor, filters={"state": Return.State.REQUESTED}).count()
    waiting = [
        ("awaiting_confirmation", _("To confirm"), Order.State.AWAITING_CONFIRMATION),
        ("awaiting_packaging", _("To pack"), Order.State.AWAITING_PACKAGING),
        ("awaiting_deliver", _("To hand over"), Order.State.AWAITING_DELIVER),
    ]
    result = [
        Card(key, label, counts[state], f"{url}?state={state}", "attention" if counts[state] else "")
        for key, label, state in waiting
    ]
    # Due today: the ship-by time falls on the shop's today (its time zone), not yet past or already past.
    due_today = due_today_count(actor=actor)
    result.append(Card("due_today", _("Due today"), due_today, f"{url}?due=today", "attention" if due_today else ""))
    result.append(Card("overdue", _("Overdue"), overdue, f"{url}?overdue=1", "attention" if overdue else ""))
    result.append(
        Card(
            "returns_requested",
            _("Returns to review"),
            requested,
            reverse("orders:return_list", args=[shop.pk]) + "?state=requested",
            "attention" if requested else "",
        )
    )
    return result
