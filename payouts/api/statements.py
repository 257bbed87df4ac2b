"""Statements and the reconciliation export (``payouts.statements``), under /api/v1/shops/{shop}/:

- ``GET statements/?month=2026-11&format=csv|xlsx`` — a calendar month of the shop's zone;
- ``GET statements/payout/{withdrawal}/?format=`` — what a paid withdrawal settled;
- ``GET reconciliation/?from=2026-11-01&to=2026-11-30&format=`` — every entry with its references and payout;
- ``statement-exports/`` — the same files built in the background (``POST`` with ``kind`` and its parameters,
  then poll and ``download``): a period with more than ``STREAM_MAX_ROWS`` entries answers 409
  ``statement_too_large`` on the direct routes and is asked for here.

``format`` here names the file, not a DRF renderer (errors still come back as JSON). Bad parameters → 400 naming
them; all need ``payouts.view``.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.api.views import ShopViewSet
from backoffice.errors import Conflict, NotFound
from backoffice.tabular import CONTENT_TYPES, stream_csv, write_file
from payouts import services, statements
from payouts.models import LedgerEntry, StatementJob

VIEW = "payouts.view"
TABLE_FILE = {(200, CONTENT_TYPES["csv"].split(";")[0]): OpenApiTypes.BINARY,
              (200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY}  # fmt: skip
FORMAT = OpenApiParameter("format", str, enum=["csv", "xlsx"], description="the file's format (csv by default)")


def file_response(statement: statements.Statement, fmt: str):
    """The statement's file: CSV streamed row by row, XLSX built in memory (it is bounded by
    ``STREAM_MAX_ROWS``); a bigger period is a 409 pointing at the background export."""
    if statement.count() > statements.STREAM_MAX_ROWS:
        raise Conflict(_("This period has more than %(n)s entries: ask for it as a background export.")
                       % {"n": statements.STREAM_MAX_ROWS}, code="statement_too_large")  # fmt: skip
    header, rows = statements.table(statement)
    name = f"{statement.filename_stem}.{fmt}"
    if fmt == "csv":
        return stream_csv(name, header, rows)
    content, _count = write_file("xlsx", header, rows, sheet=statement.kind)
    response = HttpResponse(content, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _FileView(ShopViewSet):
    model = LedgerEntry
    action_permissions = {"retrieve": VIEW}

    def perform_content_negotiation(self, request, force=False):
        # ``?format=csv`` names the file: DRF would look for a renderer called "csv" and answer 404.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type


class MonthStatementView(_FileView):
    """A month's statement: the opening row, one row per transaction booked in the month (its movement on every
    account), the closing row."""

    @extend_schema(parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM"), FORMAT],
                   responses=TABLE_FILE)  # fmt: skip
    def retrieve(self, request, shop: int):
        fmt = statements.parse_format(request.query_params.get("format"))
        statement = statements.month_statement(
            shop=self.shop, actor=self.actor, month=request.query_params.get("month")
        )
        return file_response(statement, fmt)


class PayoutStatementView(_FileView):
    """A payout's statement: the transactions booked after the previous payout up to this one (404 when the
    withdrawal is not a paid one of the shop)."""

    @extend_schema(parameters=[FORMAT], responses=TABLE_FILE)
    def retrieve(self, request, shop: int, withdrawal: int):
        fmt = statements.parse_format(request.query_params.get("format"))
        statement = statements.payout_statement(shop=self.shop, actor=self.actor, withdrawal=withdrawal)
        return file_response(statement, fmt)


class ReconciliationView(_FileView):
    """Every entry booked in the period with its order number, refund, campaign and day, withdrawal, and the
    payout it was settled in."""

    @extend_schema(parameters=[OpenApiParameter("from", str, required=True, description="YYYY-MM-DD"),
                               OpenApiParameter("to", str, required=True, description="YYYY-MM-DD"), FORMAT],
                   responses=TABLE_FILE)  # fmt: skip
    def retrieve(self, request, shop: int):
        fmt = statements.parse_format(request.query_params.get("format"))
        q = request.query_params
        statement = statements.reconciliation(shop=self.shop, actor=self.actor, date_from=q.get("from"),
                                              date_to=q.get("to"))  # fmt: skip
        return file_response(statement, fmt)


class StatementExportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=StatementJob.Kind.choices, help_text="month | payout | reconciliation")
    format = serializers.ChoiceField(choices=StatementJob.Format.choices, required=False, default="csv")
    month = serializers.CharField(required=False, max_length=7, help_text="YYYY-MM (kind month)")
    withdrawal = serializers.IntegerField(required=False, help_text="a paid withdrawal's id (kind payout)")
    # ``from`` is a Python keyword: declared below.
    to = serializers.CharField(required=False, max_length=40, help_text="YYYY-MM-DD (kind reconciliation)")


StatementExportCreateSerializer._declared_fields["from"] = serializers.CharField(
    required=False, max_length=40, help_text="YYYY-MM-DD (kind reconciliation)"
)


class StatementJobSerializer(serializers.ModelSerializer):
    """A statement built in the background: poll ``status``/``progress``, then fetch ``download_url``."""

    format = serializers.CharField(source="fmt", read_only=True)
    progress = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = StatementJob
        fields = ["id", "kind", "format", "params", "status", "progress", "total_rows", "processed_rows", "message",
                  "created_by", "created_at", "started_at", "finished_at", "url", "download_url"]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return reverse("api:payouts_api:statement-exports-detail", kwargs={"shop": obj.shop_id, "pk": obj.pk})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, obj) -> str | None:
        if obj.status != StatementJob.Status.DONE or not obj.file:
            return None
        return reverse("api:payouts_api:statement-exports-download", kwargs={"shop": obj.shop_id, "pk": obj.pk})


class StatementExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopViewSet):
    """Statements built in the background: create, poll, download. A member sees the jobs the kernel's job
    rule lets them see."""

    model = StatementJob
    serializer_class = StatementJobSerializer
    action_permissions = {"list": VIEW, "retrieve": VIEW, "create": VIEW, "download": VIEW}

    def base_queryset(self):
        return statements.statement_job_list(shop=self.shop, actor=self.actor)

    @extend_schema(request=StatementExportCreateSerializer, responses={201: StatementJobSerializer})
    def create(self, request, shop: int):
        ser = StatementExportCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        job = services.statement_export_create(actor=self.actor, kind=data.pop("kind"), fmt=data.pop("format"),
                                               params=data)  # fmt: skip
        job.refresh_from_db()
        return Response(StatementJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=TABLE_FILE)
    @action(detail=True, methods=["get"])
    def download(self, request, shop: int, pk: int):
        job = self.get_object()
        if job.status != StatementJob.Status.DONE or not job.file:
            raise NotFound(_("This statement is not ready."))
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_basename)
