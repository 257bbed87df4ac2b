"""Writes for orders: one use case per function, one transaction each, one audit entry each.

Every service is keyword-only, takes ``actor`` (a member's Actor, or ``system_actor(shop, user=...)``
for the integration API, the admin and tasks; the shop is ``actor.shop``) and checks its own action with
``require`` first (a bare User raises TypeError). By sub-domain:

- ``intake``: a paid order arrives from the storefront;
- ``fulfilment``: the order state machine (confirm, pack, ship, deliver, cancel) and tracking events;
- ``returns`` and ``refunds``;
- ``exports``: background CSV/XLSX exports;
- ``deadlines``: the overdue scan;
- ``carriers``: the shop's carrier list and how a pack names its carrier.
"""

from orders.services.carriers import (
    carrier_create,
    carrier_deactivate,
    carrier_for_pack,
    carrier_update,
    tracking_url_problem,
)
from orders.services.deadlines import OVERDUE_BATCH, due_today_count, overdue_scan
from orders.services.exports import EXPORT_FILTER_KEYS, EXPORT_STALE_AFTER, export_build, export_create
from orders.services.fulfilment import (
    TRACKING_STATUSES,
    bulk_refusal,
    order_cancel,
    order_confirm,
    order_confirm_many,
    order_deliver,
    order_pack,
    order_pack_many,
    order_ship,
    order_tracking_correct,
    order_tracking_event,
    tracking_number_taken,
)
from orders.services.intake import order_intake
from orders.services.refunds import refund_create
from orders.services.returns import (
    return_approve,
    return_exchange,
    return_receive,
    return_refund,
    return_reject,
    return_request,
)

__all__ = [
    "bulk_refusal",
    "carrier_create",
    "carrier_deactivate",
    "carrier_for_pack",
    "carrier_update",
    "due_today_count",
    "order_tracking_correct",
    "tracking_url_problem",
    "EXPORT_FILTER_KEYS",
    "EXPORT_STALE_AFTER",
    "OVERDUE_BATCH",
    "TRACKING_STATUSES",
    "export_build",
    "export_create",
    "order_cancel",
    "order_confirm",
    "order_confirm_many",
    "order_deliver",
    "order_intake",
    "order_pack",
    "order_pack_many",
    "order_ship",
    "order_tracking_event",
    "overdue_scan",
    "refund_create",
    "return_approve",
    "return_exchange",
    "return_receive",
    "return_refund",
    "return_reject",
    "return_request",
    "tracking_number_taken",
]
