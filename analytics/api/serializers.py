"""Serializers of the report runs API (shape only; meaning is checked by ``backoffice.reports.clean_params`` and
the services)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import ReportRun
from analytics.services import runs


class ReportRunCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=40, help_text="a report type key (GET report-types/)")
    params = serializers.JSONField(required=False, default=dict,
                                   help_text='the type\'s parameters, e.g. {"date_from", "date_to", "group_by"}')  # fmt: skip


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField(help_text="text | int | money | decimal | percent | date")


class ReportChartSerializer(serializers.Serializer):
    x = serializers.CharField(help_text="the column plotted along the x axis")
    series = serializers.ListField(child=serializers.CharField(), help_text="the columns plotted against it")
    kind = serializers.CharField(help_text="line | bar")


class ReportResultSerializer(serializers.Serializer):
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.ListField(), help_text="one value per column (money as text)")
    chart = ReportChartSerializer(allow_null=True)
    row_count = serializers.IntegerField(help_text="rows in the whole report (the download has them all)")
    truncated = serializers.BooleanField(help_text="true when rows holds only the first of them")


def _chart_data(chart) -> dict | None:
    return None if chart is None else {"x": chart.x, "series": list(chart.series), "kind": chart.kind}


class ReportRunSerializer(serializers.ModelSerializer):
    """A report run: poll ``status`` and ``progress`` (0-100); ``message`` says why a failed run failed."""

    type = serializers.CharField(source="report_type", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReportRun
        fields = ["id", "type", "params", "status", "progress", "row_count", "message", "created_by", "created_at",
                  "started_at", "finished_at", "url"]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return reverse("api:analytics_api:reports-detail", kwargs={"shop": obj.shop_id, "pk": obj.pk})


class ReportRunDetailSerializer(ReportRunSerializer):
    """A run with its result once it is done: the first rows, in the columns the reader may see now."""

    result = serializers.SerializerMethodField()

    class Meta(ReportRunSerializer.Meta):
        fields = [*ReportRunSerializer.Meta.fields, "result"]
        read_only_fields = fields

    @extend_schema_field(ReportResultSerializer(allow_null=True))
    def get_result(self, obj) -> dict | None:
        found = runs.report_run_result(actor=self.context["actor"], run=obj)
        if found is None:
            return None
        return {
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in found.columns],
            "rows": found.rows, "chart": _chart_data(found.chart), "row_count": found.row_count,
            "truncated": found.truncated,
        }  # fmt: skip


class ReportParamSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField(help_text="date | choice | int | ids")
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.DictField(), help_text='[{"value", "label"}] (kind choice)')
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)


class ReportTypeSerializer(serializers.Serializer):
    """A report type the caller may run, with its parameters and the columns the caller would get."""

    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    params = ReportParamSerializer(many=True)
    columns = ReportColumnSerializer(many=True)
    chart = ReportChartSerializer(allow_null=True)
    max_period_days = serializers.IntegerField(allow_null=True)


def report_type_data(report, actor) -> dict:
    from backoffice import reports

    def default(param):
        value = param.default() if callable(param.default) else param.default
        return runs.json_value(value)

    return {
        "key": report.key, "label": str(report.label), "description": str(report.description),
        "params": [{"key": p.key, "label": str(p.label), "kind": p.kind, "required": p.required, "default": default(p),
                    "choices": [{"value": str(v), "label": str(label)} for v, label in p.choices],
                    "minimum": p.minimum, "maximum": p.maximum} for p in report.params],
        "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in reports.visible_columns(actor, report)],
        "chart": _chart_data(report.chart), "max_period_days": report.max_period_days,
    }  # fmt: skip
