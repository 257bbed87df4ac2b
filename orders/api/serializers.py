"""Shapes of the orders API. Input serializers check shape only; the services check meaning."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from backoffice.parsing import BIGINT_MAX
from orders import selectors
from orders.models import Carrier, DeliveryMethod, ExportJob, Order, OrderEvent, OrderLine, Refund, Return, ReturnLine


def _visible(context) -> bool:
    if "contact_visible" not in context:
        context["contact_visible"] = selectors.may_see_contact(actor=context.get("actor"))
    return context["contact_visible"]


class BuyerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=40)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    masked = serializers.BooleanField(read_only=True)


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku_code")
    sku_id = serializers.IntegerField()

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "sku_id", "title", "quantity", "unit_price", "returned_quantity"]


class OrderLineDetailSerializer(OrderLineSerializer):
    """A line of one order: with the promotions' discount on the whole line, whether it is a gift, and what the
    buyer paid for it (``total`` = unit_price × quantity − discount; 0.00 for a gift)."""

    total = serializers.SerializerMethodField(help_text="What the buyer paid for the line: unit_price × quantity "
                                              "− discount (a decimal as a string)")  # fmt: skip

    class Meta(OrderLineSerializer.Meta):
        fields = [*OrderLineSerializer.Meta.fields, "discount", "is_gift", "total"]

    def get_total(self, line) -> str:
        return f"{line.unit_price * line.quantity - line.discount:.2f}"


class AppliedPromotionSerializer(serializers.Serializer):
    """One promotion applied to the order, as it was at intake (later edits of the promotion do not change it)."""

    promotion = serializers.IntegerField(help_text="The promotion's id")
    name = serializers.CharField()
    kind = serializers.CharField(help_text="percent_off | amount_off | spend_threshold | gift_with_purchase | "
                                 "buy_x_get_y")  # fmt: skip
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Its share of discount_total")
    gift = serializers.CharField(allow_null=True, default=None, help_text="The gift's SKU code (a gift line)")
    code = serializers.CharField(allow_null=True, default=None, help_text="The single-use code the order used")


class OrderListSerializer(serializers.ModelSerializer):
    """One row of the order list (the detail adds timestamps, packages, allocations, timeline, ...)."""

    buyer = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True, read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "external_id", "state", "delivery_method", "buyer", "lines", "total",
                  "refunded_total", "currency", "ship_by", "is_overdue", "carrier", "tracking_number",
                  "cancel_reason", "created_at"]  # fmt: skip

    def get_buyer(self, order) -> dict:
        return selectors.buyer_of(order=order, visible=_visible(self.context))


class OrderSerializer(OrderListSerializer):
    lines = OrderLineDetailSerializer(many=True, read_only=True)
    # total = subtotal − discount_total; ``promotions``: what applied, as it was at intake.
    subtotal = serializers.DecimalField(source="list_subtotal", max_digits=12, decimal_places=2, read_only=True)
    promotions = AppliedPromotionSerializer(many=True, read_only=True)

    class Meta(OrderListSerializer.Meta):
        fields = [*OrderListSerializer.Meta.fields, "subtotal", "discount_total", "promotions", "packages",
                  "cancel_comment", "confirmed_at", "packed_at",
                  "shipped_at", "delivered_at", "cancelled_at"]  # fmt: skip


def _dt(value, tz) -> str | None:
    """As DRF's DateTimeField renders it (current time zone, ``Z`` for UTC)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


ORDER_LIST_FIELDS = ("id", "number", "external_id", "state", "delivery_method", "buyer_name", "buyer_phone",
                     "buyer_address", "total", "refunded_total", "currency", "ship_by", "carrier", "tracking_number",
                     "cancel_reason", "created_at")  # fmt: skip


def order_rows(orders: list[dict], lines: dict[int, list[dict]], *, visible: bool) -> list[dict]:
    """The representation of ``OrderListSerializer``, built from plain rows (``ORDER_LIST_FIELDS`` and
    ``selectors.lines_by_order``): the order list is the hottest endpoint (bench/bench_orders.py) and this
    skips model instances and the generic serializer. ``test_fast_list_matches_the_serializer`` keeps the
    two representations identical."""
    now = timezone.now()
    tz = timezone.get_current_timezone()
    open_states = Order.OPEN_STATES
    out = []
    for o in orders:
        out.append({
            "id": o["id"], "number": o["number"], "external_id": o["external_id"], "state": o["state"],
            "delivery_method": o["delivery_method"],
            "buyer": selectors.buyer_fields(name=o["buyer_name"], phone=o["buyer_phone"], address=o["buyer_address"],
                                            visible=visible),
            "lines": [{"id": ln["id"], "sku": ln["sku_code"], "sku_id": ln["sku_id"], "title": ln["title"],
                       "quantity": ln["quantity"], "unit_price": f"{ln['unit_price']:.2f}",
                       "returned_quantity": ln["returned_quantity"]} for ln in lines.get(o["id"], ())],
            "total": f"{o['total']:.2f}", "refunded_total": f"{o['refunded_total']:.2f}", "currency": o["currency"],
            "ship_by": _dt(o["ship_by"], tz), "is_overdue": o["state"] in open_states and o["ship_by"] < now,
            "carrier": o["carrier"], "tracking_number": o["tracking_number"], "cancel_reason": o["cancel_reason"],
            "created_at": _dt(o["created_at"], tz),
        })  # fmt: skip
    return out


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "from_state", "to_state", "actor", "message", "data", "created_at"]

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor_id else None


class AllocationSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    warehouse = serializers.IntegerField(source="warehouse_id")
    warehouse_code = serializers.CharField(source="warehouse.code")
    quantity = serializers.IntegerField()


class ReturnLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="line_id")
    sku = serializers.CharField(source="line.sku_code")
    warehouse = serializers.IntegerField(source="warehouse_id", allow_null=True)

    class Meta:
        model = ReturnLine
        fields = ["id", "line", "sku", "quantity", "disposition", "warehouse"]


class ReturnSerializer(serializers.ModelSerializer):
    lines = ReturnLineSerializer(many=True, read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Return
        fields = ["id", "order", "order_number", "state", "reason", "resolution", "lines", "created_at", "updated_at"]


class ReturnBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Return
        fields = ["id", "state", "reason", "resolution", "created_at"]


class RefundSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    ret = serializers.IntegerField(source="ret_id", allow_null=True, read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "order", "ret", "amount", "reason", "actor", "created_at"]

    def get_actor(self, refund) -> str | None:
        return refund.actor.username if refund.actor_id else None


class OrderDetailSerializer(OrderSerializer):
    timeline = OrderEventSerializer(source="events", many=True, read_only=True)
    allocations = AllocationSerializer(many=True, read_only=True)
    returns = ReturnBriefSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    carrier_id = serializers.IntegerField(source="carrier_ref_id", read_only=True, allow_null=True,
                                          help_text="The shop's carrier the order was packed with (null: free text)")  # fmt: skip
    tracking_link = serializers.SerializerMethodField(help_text="The carrier's tracking page for this order")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "carrier_id", "tracking_link", "allocations", "timeline", "returns",
                  "refunds"]  # fmt: skip

    def get_tracking_link(self, order) -> str:
        return order.carrier_ref.tracking_link(order.tracking_number) if order.carrier_ref_id else ""


class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", "name", "code", "tracking_url", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


class CarrierInputSerializer(serializers.Serializer):
    """Shape only (the service checks the URL pattern and uniqueness)."""

    name = serializers.CharField(max_length=80)
    code = serializers.CharField(max_length=32)
    tracking_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)


# -- input -------------------------------------------------------------------------------------

# The most units one line of a request may name (as the storefront's intake allows).
QUANTITY_MAX = 100000


def id_field(**kwargs) -> serializers.IntegerField:
    """A row id in a body: ASCII digits or a JSON number, a positive bigint (``²`` and 20-digit numbers are
    a 400 on the field, never an overflow in the database)."""
    return serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)


def quantity_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX, **kwargs)


class IntakeLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = quantity_field()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class IntakeBuyerSerializer(BuyerSerializer):
    id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                               help_text="The storefront's buyer id: per-buyer promotion limits count by it")  # fmt: skip


class IntakeSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    delivery_method = serializers.ChoiceField(choices=DeliveryMethod.choices)
    buyer = IntakeBuyerSerializer()
    lines = IntakeLineSerializer(many=True, allow_empty=False)
    codes = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=20,
                                  help_text="Promotion codes the buyer entered (unknown ones are ignored and noted "
                                            "on the order's timeline)")  # fmt: skip


class PackageLineSerializer(serializers.Serializer):
    line = id_field()
    quantity = quantity_field()


class PackageSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=80)
    carrier = serializers.CharField(max_length=80, required=False, allow_blank=True)
    lines = PackageLineSerializer(many=True, allow_empty=False)


class PackSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=80, help_text="The name or code of one of the shop's carriers; free "
                                    "text for a shop that keeps no carrier list")  # fmt: skip
    tracking_number = serializers.CharField(max_length=80)
    packages = PackageSerializer(many=True, required=False)


class TrackingCorrectSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=80)


class CancelSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Order.CancelReason.choices)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BulkConfirmSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), allow_empty=False, max_length=200)


class BulkPackItemSerializer(serializers.Serializer):
    id = id_field()
    carrier = serializers.CharField(max_length=80)
    tracking_number = serializers.CharField(max_length=80)


class BulkPackSerializer(serializers.Serializer):
    orders = BulkPackItemSerializer(many=True, allow_empty=False, max_length=200)


class TrackingEventSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=32)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False)


class ReturnLineInputSerializer(serializers.Serializer):
    line = id_field()
    quantity = quantity_field()


class ReturnRequestSerializer(serializers.Serializer):
    lines = ReturnLineInputSerializer(many=True, allow_empty=False)
    reason = serializers.CharField(max_length=500)


class ReturnCreateSerializer(ReturnRequestSerializer):
    order = id_field()


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReceiveLineSerializer(serializers.Serializer):
    id = id_field()
    warehouse = id_field(allow_null=True)


class ReceiveSerializer(serializers.Serializer):
    warehouse = id_field(required=False, allow_null=True, help_text="Back to this warehouse; null: write off")
    lines = ReceiveLineSerializer(many=True, required=False)


class ReturnRefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundCreateSerializer(serializers.Serializer):
    order = id_field()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField(max_length=500)


class ExportJobSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="fmt")
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "format",
            "filters",
            "status",
            "rows",
            "message",
            "contact_visible",
            "download",
            "created_at",
            "finished_at",
        ]

    def get_download(self, job) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return reverse("api:orders_api:order-exports-download", kwargs={"shop": job.shop_id, "pk": job.pk})


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    filters = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
