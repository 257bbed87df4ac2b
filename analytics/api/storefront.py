"""The integration endpoint where the marketplace pushes storefront events in batches (platform staff tokens,
as orders' intake): ``POST /api/v1/integration/shops/{shop}/storefront-events/``. Thin: the service checks
every row and writes the batch at once."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from analytics import services
from analytics.services.storefront import KINDS, MAX_EVENTS
from backoffice.api.views import IntegrationView
from backoffice.errors import ValidationFailed


class StorefrontEventSerializer(serializers.Serializer):
    """Documentation of one event (the service checks it)."""

    sku = serializers.CharField(help_text="The SKU's code in the shop.")
    kind = serializers.ChoiceField(choices=KINDS)
    at = serializers.DateTimeField(help_text="When it happened, ISO 8601 with its offset.")
    session = serializers.CharField(required=False, max_length=128)


class StorefrontBatchSerializer(serializers.Serializer):
    """Documentation of the body: ``batch`` is the client's id of the batch (a replay adds nothing); without
    it the ``Idempotency-Key`` header is the batch's key."""

    batch = serializers.CharField(max_length=64, required=False)
    events = StorefrontEventSerializer(many=True, max_length=MAX_EVENTS)


class StorefrontBatchAnswerSerializer(serializers.Serializer):
    batch = serializers.CharField()
    events = serializers.IntegerField()
    skus = serializers.IntegerField()
    received_at = serializers.DateTimeField()


class IntegrationStorefrontEventsView(IntegrationView):
    """A batch of storefront events (``view``, ``cart``, ``order``) of the shop's SKUs: 201 when recorded, 200
    when this batch was recorded before (nothing is counted twice), 400 naming ``events.<n>.<field>`` for a bad
    row (then nothing is recorded), 409 for a batch id reused with other events."""

    @extend_schema(request=StorefrontBatchSerializer,
                   responses={201: StorefrontBatchAnswerSerializer, 200: StorefrontBatchAnswerSerializer})  # fmt: skip
    def post(self, request, shop: int):
        actor = self.get_actor(shop)
        if not isinstance(request.data, dict):
            raise ValidationFailed(_("Send a JSON object."), fields={"body": [_("Send a JSON object.")]})
        batch = request.data.get("batch") or request.headers.get("Idempotency-Key")
        answer, created = services.storefront_events_record(actor=actor, batch=batch,
                                                            events=request.data.get("events"))  # fmt: skip
        body = StorefrontBatchAnswerSerializer(answer).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
