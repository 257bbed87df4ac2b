"""REST endpoints of payouts under /api/v1/shops/{shop}/: the balance and the ledger (read-only). Thin: the
selectors read and check the filters."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response

from backoffice.api.views import ShopViewSet
from payouts import selectors
from payouts.api import serializers as s
from payouts.models import Account, Kind, LedgerEntry


class BalanceView(ShopViewSet):
    """The shop's balance: one row per account, read in one query."""

    model = LedgerEntry
    action_permissions = {"retrieve": "payouts.view"}

    @extend_schema(responses=s.BalanceSerializer)
    def retrieve(self, request, shop: int):
        return Response(s.BalanceSerializer(selectors.balance_summary(shop=self.shop)).data)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("kind", str, description=" | ".join(Kind.values)),
        OpenApiParameter("account", str, description=" | ".join(Account.values)),
        OpenApiParameter("date_from", str), OpenApiParameter("date_to", str),
        OpenApiParameter("order", str, description="an order number"),
    ])
)  # fmt: skip
class LedgerViewSet(mixins.ListModelMixin, ShopViewSet):
    """Ledger entries, newest first, cursor-paginated."""

    model = LedgerEntry
    serializer_class = s.LedgerEntrySerializer
    action_permissions = {"list": "payouts.view"}

    def base_queryset(self):
        return selectors.ledger_list(shop=self.shop, actor=self.actor, filters=self.request.query_params)
