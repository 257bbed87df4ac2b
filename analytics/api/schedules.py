"""Report schedules under /api/v1/shops/{shop}/report-schedules/ (SPEC §10, Analytics), ``analytics.manage_schedules``:

- ``GET`` (cursor pages), ``POST`` ``{"type", "params", "frequency": "daily"|"weekly"|"monthly",
  "recipients": [<membership id>], "time"?: "HH:MM", "weekday"?: 0-6, "day_of_month"?: 1-31,
  "file_format"?: "xlsx"|"csv"}`` → 201; ``GET``/``PUT``/``PATCH {id}/`` (the keys given change);
- ``POST {id}/pause/``, ``POST {id}/resume/``; ``GET {id}/runs/``: the run history (cursor pages), each run with
  its per-recipient deliveries (sent, skipped with the reason, failed).

``params`` leave out the period: a schedule reports on the day, week or month before each run. Bad input (an
unknown type, frequency or parameter, dates in ``params``, a recipient who is not an active member of this shop,
a bad time) → 400 naming the field.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics import files
from analytics.models import ReportSchedule, ScheduleDelivery, ScheduleRun
from analytics.services import schedules
from backoffice.api.views import ShopViewSet

MANAGE = "analytics.manage_schedules"
FIELDS = ("type", "params", "frequency", "recipients", "time", "weekday", "day_of_month", "file_format")


class ScheduleWriteSerializer(serializers.Serializer):
    """Shape only; the service checks meaning (the type, its parameters, the recipients) and names the field."""

    type = serializers.CharField(max_length=40)
    params = serializers.JSONField(required=False)
    frequency = serializers.CharField(max_length=16)
    recipients = serializers.ListField(child=serializers.JSONField(), allow_empty=True, max_length=1000)
    time = serializers.CharField(max_length=16, required=False)
    weekday = serializers.IntegerField(required=False, min_value=0, max_value=6)
    day_of_month = serializers.IntegerField(required=False, min_value=1, max_value=31)
    file_format = serializers.CharField(max_length=8, required=False)


class ScheduleSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="report_type")
    time = serializers.SerializerMethodField()  # "HH:MM" in the shop's zone (not an ISO time with an offset)
    recipients = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")
    active = serializers.BooleanField(source="is_active")
    # The same choice set as the report downloads' ``file_format`` (one enum in the schema).
    file_format = serializers.ChoiceField(choices=list(files.FORMATS))

    class Meta:
        model = ReportSchedule
        fields = ["id", "type", "params", "frequency", "weekday", "day_of_month", "time", "file_format",
                  "recipients", "owner", "active", "next_run_at", "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_time(self, obj) -> str:
        return obj.time_of_day.strftime("%H:%M")

    def get_recipients(self, obj) -> list[int]:
        return sorted(m.pk for m in obj.recipients.all())


class DeliverySerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="membership.user.username")

    class Meta:
        model = ScheduleDelivery
        fields = ["membership", "username", "status", "reason", "file_name", "file_size", "rows"]
        read_only_fields = fields


class ScheduleRunSerializer(serializers.ModelSerializer):
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = ScheduleRun
        fields = ["id", "period", "status", "started_at", "finished_at", "message", "deliveries"]
        read_only_fields = fields


def _data(request, *, partial: bool) -> dict:
    ser = ScheduleWriteSerializer(data=request.data, partial=partial)
    ser.is_valid(raise_exception=True)
    return {key: value for key, value in ser.validated_data.items() if key in FIELDS}


class ReportScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    model = ReportSchedule
    serializer_class = ScheduleSerializer
    action_permissions = {"list": MANAGE, "retrieve": MANAGE, "create": MANAGE, "update": MANAGE,
                          "partial_update": MANAGE, "pause": MANAGE, "resume": MANAGE, "runs": MANAGE}  # fmt: skip

    def base_queryset(self):
        return schedules.schedule_list(actor=self.actor)

    def _answer(self, schedule, code=status.HTTP_200_OK) -> Response:
        schedule = self.base_queryset().get(pk=schedule.pk)  # fresh recipients
        return Response(ScheduleSerializer(schedule).data, status=code)

    @extend_schema(request=ScheduleWriteSerializer, responses={201: ScheduleSerializer})
    def create(self, request, shop: int):
        schedule = schedules.schedule_create(actor=self.actor, data=_data(request, partial=False))
        return self._answer(schedule, status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleWriteSerializer, responses=ScheduleSerializer)
    def update(self, request, shop: int, pk: str):
        schedule = schedules.schedule_update(actor=self.actor, schedule=self.get_object(),
                                             data=_data(request, partial=True))  # fmt: skip
        return self._answer(schedule)

    @extend_schema(request=ScheduleWriteSerializer, responses=ScheduleSerializer)
    def partial_update(self, request, shop: int, pk: str):
        return self.update(request, shop, pk)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, shop: int, pk: str):
        return self._answer(schedules.schedule_pause(actor=self.actor, schedule=self.get_object()))

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, shop: int, pk: str):
        return self._answer(schedules.schedule_resume(actor=self.actor, schedule=self.get_object()))

    @extend_schema(responses=ScheduleRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request, shop: int, pk: str):
        qs = schedules.schedule_runs(actor=self.actor, schedule=self.get_object())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ScheduleRunSerializer(page, many=True).data)
