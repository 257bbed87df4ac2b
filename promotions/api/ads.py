"""Ad campaigns over REST: the member API under /api/v1/shops/{shop}/ad-campaigns/ (CRUD, activate, pause, end,
per-day stats with CTR/CPC/ROAS) and the integration endpoint where the marketplace pushes a campaign's
figures for a day (platform staff tokens; a re-push replaces). Thin: the services check meaning."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.api.views import IntegrationView, ShopViewSet
from backoffice.errors import ValidationFailed
from backoffice.tenancy.refs import ref_in_shop
from promotions import ads_selectors as sel
from promotions.models import AdCampaign, AdStat
from promotions.services import ads as services


class AdCampaignSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    products = serializers.SerializerMethodField()

    class Meta:
        model = AdCampaign
        fields = ["id", "name", "placement", "products", "daily_budget", "bid", "starts_at", "ends_at", "state",
                  "status", "paused_for_day", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_status(self, obj: AdCampaign) -> str:
        return sel.campaign_status(obj, today=sel.shop_today(obj.shop))

    def get_products(self, obj: AdCampaign) -> list[int]:
        return sorted(p.pk for p in obj.products.all())


class AdCampaignInputSerializer(serializers.Serializer):
    """Documentation of the body; the service reads and checks every field itself."""

    name = serializers.CharField(max_length=200)
    placement = serializers.ChoiceField(choices=AdCampaign.Placement.choices)
    products = serializers.ListField(child=serializers.IntegerField(), required=False)
    daily_budget = serializers.DecimalField(max_digits=12, decimal_places=2)
    bid = serializers.DecimalField(max_digits=12, decimal_places=2)
    starts_at = serializers.CharField()
    ends_at = serializers.CharField(required=False, allow_null=True)


class AdStatSerializer(serializers.ModelSerializer):
    ctr = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True, read_only=True)
    cpc = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, read_only=True)
    roas = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True, read_only=True)

    class Meta:
        model = AdStat
        fields = ["day", "impressions", "clicks", "spend", "orders", "revenue", "ctr", "cpc", "roas"]
        read_only_fields = fields


class AdStatPushSerializer(serializers.Serializer):
    """Documentation of the pushed body (the service checks it)."""

    campaign = serializers.IntegerField()
    day = serializers.DateField()
    impressions = serializers.IntegerField(min_value=0)
    clicks = serializers.IntegerField(min_value=0)
    spend = serializers.DecimalField(max_digits=12, decimal_places=2)
    orders = serializers.IntegerField(min_value=0, required=False)
    revenue = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
    return dict(request.data)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("state", str, enum=list(sel.STATES)),
        OpenApiParameter("placement", str, enum=list(AdCampaign.Placement.values)), OpenApiParameter("search", str),
    ])
)  # fmt: skip
class AdCampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Ad campaigns: draft → active ⇄ paused → ended; ``status`` reads ``resting`` on a day its budget ran out."""

    model = AdCampaign
    serializer_class = AdCampaignSerializer
    action_permissions = {
        "list": "promotions.view",
        "retrieve": "promotions.view",
        "stats": "promotions.view",
        "create": "promotions.manage_ads",
        "partial_update": "promotions.manage_ads",
        "activate": "promotions.manage_ads",
        "pause": "promotions.manage_ads",
        "end": "promotions.manage_ads",
    }

    def base_queryset(self):
        filters = self.request.query_params if self.action == "list" else None
        qs = sel.campaign_list(shop=self.shop, actor=self.actor, filters=filters, action=self.required_action())
        return qs.select_related("shop").prefetch_related("products")

    def _answer(self, campaign: AdCampaign, code: int = status.HTTP_200_OK) -> Response:
        campaign = self.base_queryset().get(pk=campaign.pk)
        return Response(AdCampaignSerializer(campaign).data, status=code)

    @extend_schema(request=AdCampaignInputSerializer, responses={201: AdCampaignSerializer})
    def create(self, request, shop: int):
        return self._answer(services.ad_campaign_create(actor=self.actor, data=_body(request)), status.HTTP_201_CREATED)

    @extend_schema(request=AdCampaignInputSerializer(partial=True), responses=AdCampaignSerializer)
    def partial_update(self, request, shop: int, pk: int):
        campaign = services.ad_campaign_update(actor=self.actor, campaign=self.get_object(), data=_body(request))
        return self._answer(campaign)

    @extend_schema(request=None, responses=AdCampaignSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, shop: int, pk: int):
        return self._answer(services.ad_campaign_activate(actor=self.actor, campaign=self.get_object()))

    @extend_schema(request=None, responses=AdCampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, shop: int, pk: int):
        return self._answer(services.ad_campaign_pause(actor=self.actor, campaign=self.get_object()))

    @extend_schema(request=None, responses=AdCampaignSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, shop: int, pk: int):
        return self._answer(services.ad_campaign_end(actor=self.actor, campaign=self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("date_from", str), OpenApiParameter("date_to", str)],
        responses=AdStatSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def stats(self, request, shop: int, pk: int):
        """The campaign's days in the range (default the last 30; at most 366), oldest first, and the totals."""
        campaign = self.get_object()
        date_from, date_to = sel.parse_stat_range(request.query_params, today=sel.shop_today(self.shop))
        rows = sel.campaign_stats(shop=self.shop, campaign=campaign, date_from=date_from, date_to=date_to)
        totals = sel.campaign_stat_totals(shop=self.shop, campaign=campaign, date_from=date_from, date_to=date_to)
        return Response({
            "campaign": campaign.pk, "date_from": date_from, "date_to": date_to, "currency": self.shop.currency,
            "results": AdStatSerializer(rows, many=True).data,
            "totals": {**{k: totals[k] for k in ("impressions", "clicks", "orders")},
                       **{k: (None if totals[k] is None else str(totals[k]))
                          for k in ("spend", "revenue", "ctr", "cpc", "roas")}},
        })  # fmt: skip


class IntegrationAdStatsView(IntegrationView):
    """The marketplace's figures for one campaign (``campaign``: its id) and one day (impressions, clicks, spend,
    attributed orders and revenue). 201 for a new day, 200 when it replaces an earlier push of that day (never
    adds). A campaign that is not the shop's is a 400 naming ``campaign``."""

    @extend_schema(request=AdStatPushSerializer, responses={201: AdStatSerializer, 200: AdStatSerializer})
    def post(self, request, shop: int):
        actor = self.get_actor(shop)
        found = actor.shop
        body = _body(request)
        campaign = ref_in_shop(AdCampaign, actor=actor, value=body.get("campaign"), field="campaign")
        if campaign is None:
            message = _("This field is required.")
            raise ValidationFailed(message, fields={"campaign": [message]})
        stat, created = services.ad_stats_push(actor=actor, campaign=campaign, data=body)
        row = sel.campaign_stats(shop=found, campaign=campaign, date_from=stat.day, date_to=stat.day).get()
        body = {"campaign": campaign.pk, **AdStatSerializer(row).data}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
