"""Orders and fulfilment: orders with their lines and stock allocations, the timeline of order
events, returns (per line) and refunds.

State lives in fields; every transition happens in ``orders.services`` under a row lock on the order.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.jobs import BackgroundJob
from backoffice.tenancy.models import ShopOwnedModel

MONEY = {"max_digits": 12, "decimal_places": 2}


class DeliveryMethod(models.TextChoices):
    STANDARD = "standard", _("Standard")
    EXPRESS = "express", _("Express")
    PICKUP = "pickup", _("Pickup")


# How long the seller has to hand an order over, from its arrival, per delivery method.
SHIP_WITHIN: dict[str, timedelta] = {
    DeliveryMethod.EXPRESS: timedelta(hours=24),
    DeliveryMethod.STANDARD: timedelta(hours=48),
    DeliveryMethod.PICKUP: timedelta(hours=72),
}


class Carrier(ShopOwnedModel):
    """A delivery company the shop hands parcels to, from the shop's own list: the pack forms offer the
    active ones, and the tracking-URL pattern turns an order's tracking number into a link to the
    carrier's page. A carrier orders name is deactivated, never deleted (orders keep their link)."""

    TRACKING_PLACEHOLDER = "{tracking}"

    name = models.CharField(_("name"), max_length=80)
    code = models.CharField(_("code"), max_length=32)
    # "https://carrier.example/track/{tracking}"; blank: tracking numbers are shown without a link.
    tracking_url = models.CharField(_("tracking URL pattern"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(F("shop"), Lower("name"), name="carrier_unique_name_per_shop"),
            models.UniqueConstraint(F("shop"), Lower("code"), name="carrier_unique_code_per_shop"),
        ]

    def __str__(self) -> str:
        return self.name

    def tracking_link(self, tracking_number: str) -> str:
        """The carrier's page for this tracking number ("" without a pattern or a number)."""
        if not self.tracking_url or not tracking_number:
            return ""
        return self.tracking_url.replace(self.TRACKING_PLACEHOLDER, quote(tracking_number, safe=""))


class Order(ShopOwnedModel):
    """A paid order from the storefront. Moves awaiting_confirmation → awaiting_packaging →
    awaiting_deliver → delivering → delivered; cancelled from any state before delivering."""

    class State(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
        AWAITING_PACKAGING = "awaiting_packaging", _("Awaiting packaging")
        AWAITING_DELIVER = "awaiting_deliver", _("Awaiting handover")
        DELIVERING = "delivering", _("Delivering")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    class CancelReason(models.TextChoices):
        OUT_OF_STOCK = "out_of_stock", _("Out of stock")
        BUYER_REQUEST = "buyer_request", _("Buyer's request")
        CANNOT_DELIVER = "cannot_deliver", _("Cannot deliver")
        OTHER = "other", _("Other")

    # States in which stock is still reserved (not yet handed over) and the order may be cancelled.
    OPEN_STATES = ("awaiting_confirmation", "awaiting_packaging", "awaiting_deliver")

    # A member limited to chosen warehouses reaches the orders with any line allocated in one of them,
    # and a member limited to chosen categories the orders with any line whose product is in one of them
    # (multi-valued: ``restrict`` tests each with EXISTS, ``can``/``require`` with one query each).
    scope_paths = {"warehouse": "allocations__warehouse_id", "category": "lines__sku__product__category_id"}

    number = models.CharField(_("number"), max_length=32)
    external_id = models.CharField(_("external order number"), max_length=64)
    state = models.CharField(_("state"), max_length=24, choices=State.choices)
    delivery_method = models.CharField(_("delivery method"), max_length=16, choices=DeliveryMethod.choices)
    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_phone = models.CharField(_("buyer phone"), max_length=40)
    buyer_address = models.CharField(_("delivery address"), max_length=500, blank=True)
    # The storefront's id of the buyer (optional): per-buyer promotion limits and distinct-buyer figures.
    buyer_ref = models.CharField(max_length=64, blank=True, default="", db_default="")
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    total = models.DecimalField(_("total paid"), **MONEY)
    # List prices × quantities, and the promotions' discount: total = subtotal − discount_total. Null on
    # rows written without pricing (the demo generator): read ``list_subtotal``.
    subtotal = models.DecimalField(_("subtotal"), null=True, blank=True, **MONEY)
    discount_total = models.DecimalField(_("discount"), default=Decimal("0.00"), db_default=Decimal("0.00"), **MONEY)
    # The promotions applied, as they were at intake (later edits of a promotion do not change the order).
    promotions = models.JSONField(default=list, db_default=[], blank=True)
    refunded_total = models.DecimalField(_("refunded"), default=Decimal("0.00"), **MONEY)
    ship_by = models.DateTimeField(_("ship by"))
    # The carrier's name as it was when the order was packed (a snapshot: renaming the carrier later does not
    # rewrite history), and the carrier of the shop's list it was chosen from (none for free text).
    carrier = models.CharField(_("carrier"), max_length=80, blank=True)
    carrier_ref = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("carrier")
    )
    tracking_number = models.CharField(_("tracking number"), max_length=80, blank=True)
    # Optional package split: [{"tracking_number": "...", "lines": [{"line": id, "quantity": n}]}]
    packages = models.JSONField(_("packages"), default=list, blank=True)
    cancel_reason = models.CharField(_("cancel reason"), max_length=20, choices=CancelReason.choices, blank=True)
    cancel_comment = models.CharField(_("cancel comment"), max_length=500, blank=True)
    # Searchable copy of the line SKU codes (" A B C "), so the list can search by SKU without a join.
    sku_codes = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the order's lateness was put on its timeline and told to the members who process orders.
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="order_unique_external_id_per_shop"),
            models.UniqueConstraint(fields=["shop", "number"], name="order_unique_number_per_shop"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=models.F("total")),
                name="order_refunds_within_total",
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "awaiting_confirmation",
                        "awaiting_packaging",
                        "awaiting_deliver",
                        "delivering",
                        "delivered",
                        "cancelled",
                    ]
                ),
                name="order_state_valid",
            ),  # fmt: skip
            # A carrier's tracking number names one parcel: two live orders of a shop never share one
            # (letter case aside). A cancelled order leaves it free: its parcel never went out. The
            # services check first, under a lock, for a message naming the field (and for package numbers,
            # which live in JSON); this is the guarantee for the main number whatever writes.
            models.UniqueConstraint(
                F("shop"),
                Lower("tracking_number"),
                Lower("carrier"),
                name="order_unique_tracking_per_carrier",
                condition=~Q(tracking_number="") & ~Q(state="cancelled"),
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-id"], name="order_shop_list"),
            models.Index(fields=["shop", "state", "-id"], name="order_shop_state"),
            models.Index(fields=["shop", "ship_by"], name="order_shop_ship_by"),
            models.Index(fields=["shop", "-created_at", "-id"], name="order_shop_created"),
            # The overdue scan reads only open orders not yet reported: a small index, however many orders.
            models.Index(
                fields=["shop", "ship_by"],
                name="order_overdue_unreported",
                condition=Q(
                    overdue_notified_at__isnull=True,
                    state__in=["awaiting_confirmation", "awaiting_packaging", "awaiting_deliver"],
                ),
            ),  # fmt: skip
            # The dashboard's cards count the open orders per state and the late ones among them: an index-only
            # scan of the open orders, however many closed ones the shop has.
            models.Index(
                fields=["shop", "state", "ship_by"],
                name="order_open_state_ship_by",
                condition=Q(state__in=["awaiting_confirmation", "awaiting_packaging", "awaiting_deliver"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def is_overdue(self) -> bool:
        return self.state in self.OPEN_STATES and self.ship_by is not None and self.ship_by < timezone.now()

    @property
    def list_subtotal(self) -> Decimal:
        return self.total + self.discount_total if self.subtotal is None else self.subtotal

    @property
    def refundable(self) -> Decimal:
        return self.total - self.refunded_total


class Step(NamedTuple):
    """One move of a state machine: the states it starts from, the state it leads to (None: it adds
    something without moving the state) and the action a member needs for it."""

    sources: tuple[str, ...]
    target: str | None
    action: str


# The order state machine, read by the services (which enforce it) and by the pages (which offer
# only the moves that would succeed): ``selectors.order_actions``.
ORDER_STEPS: dict[str, Step] = {
    "confirm": Step(("awaiting_confirmation",), "awaiting_packaging", "orders.process"),
    "pack": Step(("awaiting_packaging",), "awaiting_deliver", "orders.process"),
    "ship": Step(("awaiting_deliver",), "delivering", "orders.process"),
    "deliver": Step(("delivering",), "delivered", "orders.process"),
    "cancel": Step(Order.OPEN_STATES, "cancelled", "orders.cancel"),
    # Not moves of the order's own state, but bound to it all the same.
    "track": Step(("awaiting_deliver", "delivering", "delivered"), None, "orders.process"),
    # A mistyped tracking number is corrected while the parcel is on its way, not once it has arrived.
    "correct_tracking": Step(("awaiting_deliver", "delivering"), None, "orders.process"),
    "return": Step(("delivered",), None, "orders.manage_returns"),
}


class OrderLine(ShopOwnedModel):
    """One line as sold: the SKU, its code and title at the time, quantity and the unit price paid."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, related_name="+")
    sku_code = models.CharField(_("SKU code"), max_length=64)
    title = models.CharField(_("title"), max_length=255, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    returned_quantity = models.PositiveIntegerField(_("returned"), default=0)
    # The promotions' discount on the whole line (list price × quantity − discount is what was paid).
    discount = models.DecimalField(_("discount"), default=Decimal("0.00"), db_default=Decimal("0.00"), **MONEY)
    is_gift = models.BooleanField(default=False, db_default=False)

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=models.F("quantity")), name="order_line_returned_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_code} × {self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderAllocation(ShopOwnedModel):
    """Where a line's units are reserved (then shipped from): the warehouse and the quantity."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="allocations")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        default_manager_name = "unscoped"
        indexes = [models.Index(fields=["shop", "warehouse", "order"], name="order_alloc_warehouse")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id} at {self.warehouse_id}"


class OrderEvent(ShopOwnedModel):
    """One entry of an order's timeline: who, when, what, from → to. Append-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=32)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["shop", "order", "id"], name="order_event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} on order {self.order_id}"

    @property
    def label(self) -> str:
        return str(EVENT_LABELS.get(self.kind, self.kind))

    @property
    def from_label(self) -> str:
        return _state_label(self.from_state)

    @property
    def to_label(self) -> str:
        return _state_label(self.to_state)

    @property
    def status_label(self) -> str:
        """A tracking event's carrier status in words (the code itself for one this version does not know)."""
        status = (self.data or {}).get("status") or ""
        return str(TrackingStatus(status).label) if status in TrackingStatus.values else str(status)


def _state_label(value: str) -> str:
    return str(Order.State(value).label) if value in Order.State.values else value


class TrackingStatus(models.TextChoices):
    """A carrier's status in a tracking event (the integration API sends the code; pages show the label)."""

    ACCEPTED = "accepted", _("Accepted by the carrier")
    IN_TRANSIT = "in_transit", _("In transit")
    ARRIVED = "arrived", _("Arrived")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")
    RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
    OTHER = "other", _("Other")


EVENT_LABELS = {
    "created": _("Order received"),
    "confirmed": _("Confirmed"),
    "packed": _("Packed"),
    "shipped": _("Handed over"),
    "delivered": _("Delivered"),
    "cancelled": _("Cancelled"),
    "tracking": _("Tracking"),
    "tracking_corrected": _("Tracking number corrected"),
    "overdue": _("Past its ship-by time"),
    "refunded": _("Refunded"),
    "return_requested": _("Return requested"),
    "return_approved": _("Return approved"),
    "return_rejected": _("Return rejected"),
    "return_received": _("Return received"),
    "return_refunded": _("Return refunded"),
    "return_exchanged": _("Return exchanged"),
}


class Return(ShopOwnedModel):
    """A buyer's return of some units of some lines: requested → approved | rejected → received →
    refunded | exchanged."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RECEIVED = "received", _("Received")
        REFUNDED = "refunded", _("Refunded")
        EXCHANGED = "exchanged", _("Exchanged")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.REQUESTED)
    reason = models.CharField(_("reason"), max_length=500)
    resolution = models.CharField(_("resolution note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_manager_name = "unscoped"
        indexes = [models.Index(fields=["shop", "-id"], name="return_shop_list")]

    def __str__(self) -> str:
        return f"Return {self.pk} of order {self.order_id}"


# The return state machine (services enforce it; ``selectors.return_actions`` offers it).
RETURN_STEPS: dict[str, Step] = {
    "approve": Step(("requested",), "approved", "orders.manage_returns"),
    "reject": Step(("requested",), "rejected", "orders.manage_returns"),
    "receive": Step(("approved",), "received", "orders.manage_returns"),
    "exchange": Step(("received",), "exchanged", "orders.manage_returns"),
    "refund": Step(("received",), "refunded", "orders.refund"),
}


class ReturnLine(ShopOwnedModel):
    """Units of one order line in a return, and what became of them when received."""

    class Disposition(models.TextChoices):
        RESTOCK = "restock", _("Back to stock")
        WRITE_OFF = "write_off", _("Written off")

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    warehouse = models.ForeignKey(
        "catalog.Warehouse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id}"


class Refund(ShopOwnedModel):
    """Money given back to the buyer. The sum of an order's refunds never exceeds what was paid."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    ret = models.ForeignKey(Return, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_manager_name = "unscoped"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["shop", "-id"], name="refund_shop_list")]

    def __str__(self) -> str:
        return f"Refund {self.amount} on order {self.order_id}"


def _export_path(instance, filename: str) -> str:
    return f"orders/{instance.shop_id}/exports/{filename}"


class ExportJob(BackgroundJob):
    """An order export (CSV or XLSX) built in the background; buyer contact masked per its creator."""

    fmt = models.CharField(max_length=4, choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    filters = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_path, blank=True)
    # Whether the file holds unmasked buyer contact (its creator could see it): then only members who
    # may see buyer contact may download it.
    contact_visible = models.BooleanField(default=False)

    class Meta(BackgroundJob.Meta):
        indexes = [models.Index(fields=["shop", "-id"], name="order_export_list")]

    def __str__(self) -> str:
        return f"{self.fmt} export {self.pk} ({self.status})"
