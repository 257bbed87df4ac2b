"""REST endpoints for promotions under /api/v1/shops/{shop}/: CRUD, transitions, and the quote preview.
Thin: the services read and check the body, the selectors read."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from backoffice.api.views import ShopViewSet
from backoffice.errors import ValidationFailed
from promotions import effect as effects
from promotions import selectors, services
from promotions import simulation as simulations
from promotions.api import serializers as s
from promotions.models import Promotion
from promotions.web.codes import codes_download


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
    return dict(request.data)


class _FileFormatNegotiation(DefaultContentNegotiation):
    """On a download, ``?format=csv|xlsx`` names the file's format (checked by the view: 400 naming it), not one
    of DRF's renderers (which would answer 404): errors still come back as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _SimulateInput(drf_serializers.Serializer):
    """The simulation's body (the selector checks it: 400 naming ``days``)."""

    days = drf_serializers.ChoiceField(choices=simulations.DAYS, required=False, default=simulations.DEFAULT_DAYS)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("status", str, enum=list(selectors.STATUSES)),
        OpenApiParameter("kind", str, enum=list(Promotion.Kind.values)), OpenApiParameter("search", str),
    ])
)  # fmt: skip
class PromotionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Promotions: draft → active (``scheduled`` before its start) ⇄ paused → ended; and the quote preview."""

    model = Promotion
    serializer_class = s.PromotionSerializer
    action_permissions = {
        "list": "promotions.view",
        "retrieve": "promotions.view",
        "create": "promotions.manage",
        "partial_update": "promotions.manage",
        "activate": "promotions.manage",
        "pause": "promotions.manage",
        "end": "promotions.manage",
        "simulate": "promotions.manage",
        "quote": "promotions.view",
        "effect": "promotions.view",
        # Single-use codes are secrets: generating and exporting them is for who manages the promotion.
        "codes": "promotions.manage",
        "codes_export": "promotions.manage",
    }

    def base_queryset(self):
        filters = self.request.query_params if self.action == "list" else None
        return selectors.promotion_list(shop=self.shop, actor=self.actor, filters=filters,
                                        action=self.required_action())  # fmt: skip

    @extend_schema(request=s.PromotionInputSerializer, responses={201: s.PromotionSerializer})
    def create(self, request, shop: int):
        promotion = services.promotion_create(actor=self.actor, data=_body(request))
        return Response(s.PromotionSerializer(promotion).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PromotionInputSerializer(partial=True), responses=s.PromotionSerializer)
    def partial_update(self, request, shop: int, pk: int):
        promotion = services.promotion_update(actor=self.actor, promotion=self.get_object(), data=_body(request))
        return Response(s.PromotionSerializer(promotion).data)

    @extend_schema(request=None, responses=s.PromotionSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, shop: int, pk: int):
        promotion = services.promotion_activate(actor=self.actor, promotion=self.get_object())
        return Response(s.PromotionSerializer(promotion).data)

    @extend_schema(request=None, responses=s.PromotionSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, shop: int, pk: int):
        promotion = services.promotion_pause(actor=self.actor, promotion=self.get_object())
        return Response(s.PromotionSerializer(promotion).data)

    @extend_schema(request=None, responses=s.PromotionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, shop: int, pk: int):
        promotion = services.promotion_end(actor=self.actor, promotion=self.get_object())
        return Response(s.PromotionSerializer(promotion).data)

    @extend_schema(request=s.QuoteInputSerializer, responses=s.QuoteSerializer)
    @action(detail=False, methods=["post"])
    def quote(self, request, shop: int):
        body = _body(request)
        result = services.promotion_quote(actor=self.actor, lines=body.get("lines"), buyer=body.get("buyer"),
                                          codes=body.get("codes"))  # fmt: skip
        return Response(result)

    @extend_schema(request=_SimulateInput, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def simulate(self, request, shop: int, pk: int):
        """What the promotion would have cost over the shop's orders of the last ``days`` (7, 30 or 90; default 30),
        had it run then: discount and gift value, orders touched of how many, where a limit or budget ran out."""
        body = _body(request)
        result = simulations.promotion_simulation(actor=self.actor, promotion=self.get_object(), days=body.get("days"))
        return Response(simulations.as_dict(result))

    @extend_schema(request=None, responses=s.PromotionEffectSerializer)
    @action(detail=True, methods=["get"])
    def effect(self, request, shop: int, pk: int):
        """Orders, units, revenue, discount given, buyers and average order value of the orders in the promotion's
        scope during its window and in the same-length period before, the uplift, and the window's days (the
        latest snapshot: ``computed_at``)."""
        snapshot = effects.promotion_effect_current(actor=self.actor, promotion=self.get_object())
        payload = {**effects.effect_payload(snapshot=snapshot), "currency": self.shop.currency}
        return Response(s.PromotionEffectSerializer(payload).data)

    @extend_schema(request=s.CodesGenerateSerializer, responses={201: s.CodesGeneratedSerializer})
    @action(detail=True, methods=["post"])
    def codes(self, request, shop: int, pk: int):
        """Add a batch of single-use codes (``PREFIX-XXXXXXXXXX``); from then on the promotion applies only with one
        of them (or its shared code). Export them with ``codes/export/``."""
        promotion = self.get_object()
        body = _body(request)
        made = services.promotion_codes_generate(actor=self.actor, promotion=promotion, count=body.get("count"),
                                                 prefix=body.get("prefix") or "")  # fmt: skip
        counts = selectors.promotion_code_counts(actor=self.actor, promotion=promotion)
        return Response({"promotion": promotion.pk, "generated": made, "total": counts["all"],
                         "unused": counts["unused"], "used": counts["used"]}, status=status.HTTP_201_CREATED)  # fmt: skip

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "xlsx"], description="csv when not given"),
                    OpenApiParameter("status", str, enum=list(selectors.CODE_STATUSES))],
        responses={(200, "text/csv"): OpenApiTypes.STR,
                   (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
                   400: OpenApiResponse(description="A bad format or status, named")},
    )  # fmt: skip
    @action(detail=True, methods=["get"], url_path="codes/export", content_negotiation_class=_FileFormatNegotiation)
    def codes_export(self, request, shop: int, pk: int):
        """The promotion's single-use codes as CSV or XLSX: code, status (unused / used), order number, used at."""
        return codes_download(actor=self.actor, promotion=self.get_object(), fmt=request.query_params.get("format"),
                              status=request.query_params.get("status"))  # fmt: skip
