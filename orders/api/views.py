"""REST endpoints for orders: the member API under /api/v1/shops/{shop}/ and the integration API
(platform staff tokens) under /api/v1/integration/shops/{shop}/. Thin: shape in serializers,
meaning in services, reads in selectors."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.api.pagination import CursorPagination
from backoffice.api.views import IntegrationView, ShopViewSet
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.tenancy.refs import ref_in_shop
from orders import selectors, services
from orders.api import serializers as s
from orders.models import Carrier, ExportJob, Order, Refund, Return, ReturnLine

# The catalog's warehouse model, reached through orders' own foreign key (orders imports the catalog
# only through its services and selectors).
Warehouse = ReturnLine._meta.get_field("warehouse").related_model


def _bulk_answer(result: dict, summary: str) -> Response:
    """Some orders done: 200 with ``done`` and ``failed`` (per id, code and message); nothing done: the
    service's refusal (``services.bulk_refusal``) with the reason per id in ``fields``."""
    fields = {pk: [failure["message"]] for pk, failure in result["failed"].items()}
    if (refusal := services.bulk_refusal(result=result, summary=summary, fields=fields)) is not None:
        raise refusal
    return Response(result)


class OrderCursorPagination(CursorPagination):
    """Cursor pagination with a whitelisted ``sort`` (see ``selectors.SORTS``)."""

    def get_ordering(self, request, queryset, view):
        return selectors.order_sort(value=request.query_params.get("sort"))


_LIST_PARAMS = [
    OpenApiParameter("state", str, description="One state or several, comma-separated"),
    OpenApiParameter("date_from", str), OpenApiParameter("date_to", str),
    OpenApiParameter("delivery_method", str, enum=["standard", "express", "pickup"]),
    OpenApiParameter("overdue", bool), OpenApiParameter("warehouse", int),
    OpenApiParameter("due", str, enum=["today", "overdue"],
                     description="Open orders whose ship-by time is today (in the shop's time zone) or already past"),
    OpenApiParameter("search", str, description="Order number, external number, SKU code, buyer name/phone"),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
]  # fmt: skip


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Orders. Buyer name, phone and address are masked for members without ``orders.view_buyer_contact``."""

    model = Order
    serializer_class = s.OrderSerializer
    pagination_class = OrderCursorPagination
    action_permissions = {
        "list": "orders.view",
        "retrieve": "orders.view",
        "confirm": "orders.process",
        "pack": "orders.process",
        "ship": "orders.process",
        "deliver": "orders.process",
        "cancel": "orders.cancel",
        "bulk_confirm": "orders.process",
        "bulk_pack": "orders.process",
        "correct_tracking": "orders.process",
    }

    def base_queryset(self):
        if self.action == "list":
            return selectors.order_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                        prefetch=False)  # fmt: skip
        return selectors.order_detail_queryset(shop=self.shop, actor=self.actor, action=self.required_action())

    def get_queryset(self):
        # The selectors narrow through restrict() for the required action already (the warehouse scope
        # is an EXISTS on the allocations): once is enough on the hottest list.
        if getattr(self, "swagger_fake_view", False):
            return Order.unscoped.none()
        return self.base_queryset()

    def get_serializer_class(self):
        return s.OrderListSerializer if self.action == "list" else s.OrderDetailSerializer

    def _detail(self, order: Order) -> Response:
        fresh = selectors.order_get(shop=self.shop, actor=self.actor, pk=order.pk)
        if fresh is None:  # moved out of what the member may see (cannot happen today: kept safe)
            raise Http404
        return Response(s.OrderDetailSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(parameters=_LIST_PARAMS, responses=s.OrderListSerializer(many=True))
    def list(self, request, *args, **kwargs):
        # Plain rows, not model instances: see serializers.order_rows.
        page = self.paginate_queryset(self.get_queryset().values(*s.ORDER_LIST_FIELDS))
        lines = selectors.lines_by_order(shop=self.shop, order_ids=[o["id"] for o in page])
        visible = selectors.may_see_contact(actor=self.actor)
        return self.get_paginated_response(s.order_rows(page, lines, visible=visible))

    @extend_schema(request=None, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, shop: int, pk: int):
        return self._detail(services.order_confirm(actor=self.actor, order=self.get_object()))

    @extend_schema(request=s.PackSerializer, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def pack(self, request, shop: int, pk: int):
        order = self.get_object()
        ser = s.PackSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._detail(services.order_pack(actor=self.actor, order=order, **ser.validated_data))

    @extend_schema(request=s.TrackingCorrectSerializer, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"], url_path="correct-tracking")
    def correct_tracking(self, request, shop: int, pk: int):
        order = self.get_object()
        ser = s.TrackingCorrectSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._detail(services.order_tracking_correct(actor=self.actor, order=order, **ser.validated_data))

    @extend_schema(request=None, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def ship(self, request, shop: int, pk: int):
        return self._detail(services.order_ship(actor=self.actor, order=self.get_object()))

    @extend_schema(request=None, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request, shop: int, pk: int):
        return self._detail(services.order_deliver(actor=self.actor, order=self.get_object()))

    @extend_schema(request=s.CancelSerializer, responses=s.OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, shop: int, pk: int):
        order = self.get_object()
        ser = s.CancelSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._detail(services.order_cancel(actor=self.actor, order=order, **ser.validated_data))

    @extend_schema(request=s.BulkConfirmSerializer, responses=dict)
    @action(detail=False, methods=["post"], url_path="bulk-confirm")
    def bulk_confirm(self, request, shop: int):
        ser = s.BulkConfirmSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.order_confirm_many(actor=self.actor, ids=ser.validated_data["ids"])
        counts = {"done": len(result["done"]), "failed": len(result["failed"])}
        return _bulk_answer(result, _("%(done)s confirmed, %(failed)s skipped.") % counts)

    @extend_schema(request=s.BulkPackSerializer, responses=dict)
    @action(detail=False, methods=["post"], url_path="bulk-pack")
    def bulk_pack(self, request, shop: int):
        ser = s.BulkPackSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.order_pack_many(actor=self.actor, items=ser.validated_data["orders"])
        return _bulk_answer(result, _("%(done)s packed.") % {"done": len(result["done"])})


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("active", bool)]))
class CarrierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """The shop's carriers. Members who see orders read the list (to name a carrier when packing); keeping it
    is a shop setting. A carrier is deactivated, never deleted (orders keep it)."""

    model = Carrier
    serializer_class = s.CarrierSerializer
    action_permissions = {
        "list": "orders.view",
        "retrieve": "orders.view",
        "create": "accounts.manage_settings",
        "partial_update": "accounts.manage_settings",
        "deactivate": "accounts.manage_settings",
    }

    def base_queryset(self):
        return selectors.carrier_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                      action=self.required_action())  # fmt: skip

    @extend_schema(request=s.CarrierInputSerializer, responses={201: s.CarrierSerializer})
    def create(self, request, shop: int):
        ser = s.CarrierInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = {k: v for k, v in ser.validated_data.items() if k != "is_active"}
        carrier = services.carrier_create(actor=self.actor, **data)
        return Response(s.CarrierSerializer(carrier).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CarrierInputSerializer(partial=True), responses=s.CarrierSerializer)
    def partial_update(self, request, shop: int, pk: int):
        carrier = self.get_object()
        ser = s.CarrierInputSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        current = {k: getattr(carrier, k) for k in ("name", "code", "tracking_url", "is_active")}
        carrier = services.carrier_update(actor=self.actor, carrier=carrier, **{**current, **ser.validated_data})
        return Response(s.CarrierSerializer(carrier).data)

    @extend_schema(request=None, responses=s.CarrierSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, shop: int, pk: int):
        carrier = services.carrier_deactivate(actor=self.actor, carrier=self.get_object())
        return Response(s.CarrierSerializer(carrier).data)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("state", str), OpenApiParameter("order", int)]))
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Returns: requested → approved | rejected → received → refunded | exchanged; partial per line."""

    model = Return
    serializer_class = s.ReturnSerializer
    action_permissions = {
        "list": "orders.view",
        "retrieve": "orders.view",
        "create": "orders.manage_returns",
        "approve": "orders.manage_returns",
        "reject": "orders.manage_returns",
        "receive": "orders.manage_returns",
        "exchange": "orders.manage_returns",
        "refund": "orders.refund",
    }

    def base_queryset(self):
        return selectors.return_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                     action=self.required_action())  # fmt: skip

    def _fresh(self, ret: Return, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.return_list(shop=self.shop, actor=self.actor).get(pk=ret.pk)
        return Response(s.ReturnSerializer(fresh).data, status=code)

    @extend_schema(request=s.ReturnCreateSerializer, responses={201: s.ReturnSerializer})
    def create(self, request, shop: int):
        ser = s.ReturnCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        order = selectors.order_get(shop=self.shop, actor=self.actor, pk=data["order"], action="orders.manage_returns")
        if order is None:
            raise ValidationFailed(_("Unknown order."), fields={"order": [_("Unknown order.")]})
        ret = services.return_request(actor=self.actor, order=order, lines=data["lines"], reason=data["reason"])
        return self._fresh(ret, status.HTTP_201_CREATED)

    @extend_schema(request=s.NoteSerializer, responses=s.ReturnSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, shop: int, pk: int):
        ret = self.get_object()
        ser = s.NoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._fresh(services.return_approve(actor=self.actor, ret=ret, note=ser.validated_data["note"]))

    @extend_schema(request=s.NoteSerializer, responses=s.ReturnSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, shop: int, pk: int):
        ret = self.get_object()
        ser = s.NoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._fresh(services.return_reject(actor=self.actor, ret=ret, note=ser.validated_data["note"]))

    @extend_schema(request=s.ReceiveSerializer, responses=s.ReturnSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, shop: int, pk: int):
        ret = self.get_object()
        ser = s.ReceiveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        lines = [{"id": item["id"], "warehouse": ref_in_shop(Warehouse, actor=self.actor, value=item["warehouse"],
                                                             field=f"lines.{i}.warehouse")}
                 for i, item in enumerate(data.get("lines") or [])]  # fmt: skip
        warehouse = ref_in_shop(Warehouse, actor=self.actor, value=data.get("warehouse"), field="warehouse")
        ret = services.return_receive(actor=self.actor, ret=ret, warehouse=warehouse, lines=lines)
        return self._fresh(ret)

    @extend_schema(request=s.NoteSerializer, responses=s.ReturnSerializer)
    @action(detail=True, methods=["post"])
    def exchange(self, request, shop: int, pk: int):
        ret = self.get_object()
        ser = s.NoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._fresh(services.return_exchange(actor=self.actor, ret=ret, note=ser.validated_data["note"]))

    @extend_schema(request=s.ReturnRefundSerializer, responses=s.ReturnSerializer)
    @action(detail=True, methods=["post"])
    def refund(self, request, shop: int, pk: int):
        ret = self.get_object()
        ser = s.ReturnRefundSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ret, _refund = services.return_refund(actor=self.actor, ret=ret, **ser.validated_data)
        return self._fresh(ret)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("order", int)]))
class RefundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Refunds: full or partial, never more than paid minus already refunded."""

    model = Refund
    serializer_class = s.RefundSerializer
    action_permissions = {"list": "orders.view", "retrieve": "orders.view", "create": "orders.refund"}

    def base_queryset(self):
        return selectors.refund_list(shop=self.shop, actor=self.actor, filters=self.request.query_params,
                                     action=self.required_action())  # fmt: skip

    @extend_schema(request=s.RefundCreateSerializer, responses={201: s.RefundSerializer})
    def create(self, request, shop: int):
        ser = s.RefundCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        order = selectors.order_get(shop=self.shop, actor=self.actor, pk=data["order"], action="orders.refund")
        if order is None:
            raise ValidationFailed(_("Unknown order."), fields={"order": [_("Unknown order.")]})
        refund = services.refund_create(actor=self.actor, order=order, amount=data["amount"], reason=data["reason"])
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Order exports (CSV/XLSX) built in the background: create, poll, download."""

    model = ExportJob
    serializer_class = s.ExportJobSerializer
    action_permissions = {"list": "orders.export", "retrieve": "orders.export", "create": "orders.export",
                          "download": "orders.export"}  # fmt: skip

    def base_queryset(self):
        return selectors.export_list(shop=self.shop, actor=self.actor)

    @extend_schema(request=s.ExportCreateSerializer, responses={201: s.ExportJobSerializer})
    def create(self, request, shop: int):
        ser = s.ExportCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        job = services.export_create(actor=self.actor, fmt=ser.validated_data["format"],
                                     filters=ser.validated_data["filters"])  # fmt: skip
        job.refresh_from_db()
        return Response(s.ExportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    # The file as built: CSV or XLSX (FileResponse names the type from the file's extension).
    @extend_schema(responses={(200, "text/csv"): bytes,
                              (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes})  # fmt: skip
    @action(detail=True, methods=["get"])
    def download(self, request, shop: int, pk: int):
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Http404
        if job.contact_visible and not selectors.may_see_contact(actor=self.actor):
            raise Forbidden(_("This export shows buyer contact, which you may not see."))
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])


# -- integration (platform staff tokens) -------------------------------------------------------


class _IntegrationView(IntegrationView):
    def get_order(self, actor, order_id: int) -> Order:
        order = selectors.order_list(shop=actor.shop, actor=actor, prefetch=False).filter(pk=order_id).first()
        if order is None:
            raise Http404
        return order


class IntegrationOrderIntakeView(_IntegrationView):
    """A paid order from the storefront. Repeating an ``external_id`` returns the existing order (200)."""

    @extend_schema(request=s.IntakeSerializer, responses={201: s.OrderSerializer, 200: s.OrderSerializer})
    def post(self, request, shop: int):
        actor = self.get_actor(shop)
        ser = s.IntakeSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        order, created = services.order_intake(actor=actor, external_id=data["external_id"],
                                               delivery_method=data["delivery_method"], buyer=dict(data["buyer"]),
                                               lines=[dict(line) for line in data["lines"]],
                                               codes=data.get("codes") or [])  # fmt: skip
        order = selectors.order_list(shop=actor.shop, actor=actor).get(pk=order.pk)
        body = s.OrderSerializer(order, context={"contact_visible": True}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class IntegrationTrackingEventView(_IntegrationView):
    """A carrier tracking event for an order; it appears on the order's timeline."""

    @extend_schema(request=s.TrackingEventSerializer, responses={201: s.OrderEventSerializer})
    def post(self, request, shop: int, pk: int):
        actor = self.get_actor(shop)
        order = self.get_order(actor, pk)
        ser = s.TrackingEventSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        event = services.order_tracking_event(actor=actor, order=order, **ser.validated_data)
        return Response(s.OrderEventSerializer(event).data, status=status.HTTP_201_CREATED)


class IntegrationReturnRequestView(_IntegrationView):
    """A buyer asks to return some units of a delivered order."""

    @extend_schema(request=s.ReturnRequestSerializer, responses={201: s.ReturnSerializer})
    def post(self, request, shop: int, pk: int):
        actor = self.get_actor(shop)
        order = self.get_order(actor, pk)
        ser = s.ReturnRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ret = services.return_request(actor=actor, order=order, **ser.validated_data)
        return Response(s.ReturnSerializer(ret).data, status=status.HTTP_201_CREATED)
