"""What the order services share: the row lock, the timeline, the state machine step, the actor for
stock effects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import events
from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, SystemActor, in_shop, require, system_actor
from backoffice.errors import Conflict, Forbidden, NotFound
from orders.models import ORDER_STEPS, Order, OrderAllocation, OrderEvent

if TYPE_CHECKING:
    from collections.abc import Callable


def locked_order(actor: Actor, order: Order) -> Order:
    """The order re-read under its row lock (every order write takes it first, so writes queue)."""
    in_shop(actor, order)
    locked = Order.objects.for_shop(actor.shop).select_for_update().filter(pk=order.pk).first()
    if locked is None:
        raise NotFound(_("Not found."))
    return locked


def lock_tracking_numbers(shop_id: int, carriers: Iterable[str]) -> None:
    """Serialise, until the transaction ends, the packs of one shop that name these carriers, so that the
    check for a tracking number already in use cannot race: a transaction-level advisory lock per shop and
    carrier, taken in a fixed order (no deadlock between two packs). SQLite needs none: its IMMEDIATE
    transactions already run writers one at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for carrier in sorted({(c or "").strip().lower() for c in carriers}):
            digest = hashlib.blake2b(f"orders.tracking:{shop_id}:{carrier}".encode(), digest_size=8).digest()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def stock_actor(actor: Actor) -> SystemActor:
    """Who the catalog's stock services act as: the system, naming the member. The stock effect follows
    an order action that orders checked itself (``require``, scope included); the member need not hold
    ``catalog.manage_stock`` (a support agent receiving a return) nor reach the warehouse in the catalog."""
    return system_actor(actor.shop, user=actor.audit_user)


def order_event(order: Order, *, kind: str, actor: Actor | None, from_state: str = "", to_state: str = "",
                message: str = "", data: dict | None = None, at=None) -> OrderEvent:  # fmt: skip
    """One line of the order's timeline, and ``order.changed`` for whoever follows every change of an order
    (analytics recomputes the order's share of its daily rollups). Callers write the order's own rows first."""
    event = OrderEvent.objects.for_shop(order.shop_id).create(
        shop_id=order.shop_id, order=order, kind=kind, from_state=from_state, to_state=to_state,
        actor=actor.audit_user if actor is not None else None, message=message[:500], data=data or {},
        created_at=at or timezone.now(),
    )  # fmt: skip
    events.publish("order.changed", shop=order.shop, order=order, kind=kind)
    return event


def allocations_of(order: Order) -> list[dict]:
    rows = OrderAllocation.objects.for_shop(order.shop_id).filter(order=order).select_related("line")
    return [{"sku": a.line.sku_id, "warehouse": a.warehouse_id, "quantity": a.quantity} for a in rows]


def platform_only(actor: Actor, action: str) -> Actor:
    """The storefront and carrier side (order intake, tracking events): platform code, as the system."""
    require(actor, action)
    if not actor.is_system:
        raise Forbidden(_("Only the marketplace integration may do this."), code="platform_only")
    return actor


def illegal(order: Order, verb: str) -> Conflict:
    return Conflict(
        _("Cannot %(verb)s an order that is %(state)s.") % {"verb": verb, "state": order.get_state_display().lower()},
        code="invalid_transition",
    )


def order_step(*, actor: Actor, order: Order, step: str, verb: str, kind: str, fields: dict[str, Any] | None = None,
               before_save: Callable[[Order], None] | None = None, message: str = "") -> Order:  # fmt: skip
    """One move of the order state machine (``ORDER_STEPS[step]``): the actor's action and scope, the
    row lock, the state it starts from, the fields it sets, one timeline event and one audit entry."""
    move = ORDER_STEPS[step]
    require(actor, move.action, order)
    with transaction.atomic():
        order = locked_order(actor, order)
        if order.state not in move.sources:
            raise illegal(order, verb)
        fields = fields or {}
        before = {"state": order.state, **{k: getattr(order, k) for k in fields}}
        if before_save is not None:
            before_save(order)
        from_state = order.state
        order.state = move.target
        for key, value in fields.items():
            setattr(order, key, value)
        order.save(update_fields=["state", "updated_at", *fields])
        after = {"state": move.target, **fields}
        order_event(order, kind=kind, actor=actor, from_state=from_state, to_state=move.target, message=message,
                    data={k: v for k, v in diff(before, after).items() if k != "state"})  # fmt: skip
        audit_record(shop=actor.shop, actor=actor, action=f"order.{kind}", target=order, changes=diff(before, after))
        # In the move's transaction: what a subscriber books (payouts: a delivered order's sale) commits with it.
        events.publish(f"order.{kind}", shop=actor.shop, order=order)
    return order
