"""REST endpoints for promotions under /api/v1/shops/{shop}/: CRUD, transitions, and the quote preview.
Thin: the services read and check the body, the selectors read."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.api.views import ShopViewSet
from backoffice.errors import ValidationFailed
from promotions import selectors, services
from promotions.api import serializers as s
from promotions.models import Promotion


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
    return dict(request.data)


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
        "quote": "promotions.view",
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
