"""Report runs under /api/v1/shops/{shop}/ (SPEC §10, Analytics):

- ``POST reports/`` ``{"type", "params"}`` → 201 ``{"id", "status", …}``: queued, run by a worker as the caller;
- ``GET reports/`` (cursor pages; ``?type=``, ``?status=``), ``GET reports/{id}/`` → with ``progress`` and, once
  done, ``result`` (``columns``, the first rows, the chart);
- ``GET reports/{id}/download/?file_format=csv|xlsx``: rendered again for the caller at download time
  (``analytics.export``, the type's actions, the run visible to them; only their columns and rows);
- ``GET report-types/``: the types the caller may run, with their parameters and their columns.

Bad input (an unknown type or parameter, a 10-year period, an unknown grouping, an end before the start, a bad
``file_format``) → 400 naming the field; a shop already running its cap of reports → 409 ``too_many_runs``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics import files
from analytics.api.serializers import (
    ReportRunCreateSerializer,
    ReportRunDetailSerializer,
    ReportRunSerializer,
    ReportTypeSerializer,
    report_type_data,
)
from analytics.models import ReportRun
from analytics.services import runs
from backoffice import reports
from backoffice.api.views import ShopViewSet
from backoffice.tabular import CONTENT_TYPES

VIEW, EXPORT = "analytics.view", "analytics.export"
FILE = {
    (200, CONTENT_TYPES["csv"].split(";")[0]): OpenApiTypes.BINARY,
    (200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
}


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("type", str, description="a report type key"),
        OpenApiParameter("status", str, enum=list(ReportRun.Status.values)),
    ]),
)  # fmt: skip
class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Report runs: create, poll, read the result, download. A member sees the runs the kernel's job rule lets
    them see, of the report types they may run."""

    model = ReportRun
    action_permissions = {"list": VIEW, "retrieve": VIEW, "create": VIEW, "download": EXPORT}

    def get_serializer_class(self):
        return ReportRunDetailSerializer if self.action == "retrieve" else ReportRunSerializer

    def base_queryset(self):
        q = self.request.query_params
        filters = {key: q.get(key) for key in ("type", "status") if q.get(key)} if self.action == "list" else {}
        return runs.report_run_list(actor=self.actor, filters=filters)

    @extend_schema(request=ReportRunCreateSerializer, responses={201: ReportRunSerializer})
    def create(self, request, shop: int):
        ser = ReportRunCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        run = runs.report_run_create(actor=self.actor, report_type=ser.validated_data["type"],
                                     params=ser.validated_data.get("params"))  # fmt: skip
        run.refresh_from_db()  # an eager run (tests, no broker) has finished by now
        return Response(ReportRunSerializer(run, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip

    # No ``enum=`` here: csv|xlsx is already an enum under another name (FormatEnum), and two names for one
    # choice set is a schema warning.
    @extend_schema(parameters=[OpenApiParameter("file_format", str, description="csv (the default) | xlsx")],
                   responses=FILE)  # fmt: skip
    @action(detail=True, methods=["get"])
    def download(self, request, shop: int, pk: str):
        download = runs.report_run_download(actor=self.actor, run_id=pk,
                                            file_format=request.query_params.get("file_format"))  # fmt: skip
        return files.response(download.result, file_format=download.file_format,
                              filename_stem=download.filename_stem, title=download.title)  # fmt: skip


class ReportTypeViewSet(ShopViewSet):
    """The report types the caller may run (``analytics.view`` plus each type's actions)."""

    model = ReportRun
    action_permissions = {"list": VIEW}
    pagination_class = None

    @extend_schema(responses=ReportTypeSerializer(many=True))
    def list(self, request, shop: int):
        return Response([report_type_data(report, self.actor) for report in reports.available_for(self.actor)])
