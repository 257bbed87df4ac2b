"""Report runs: one ``ReportRun`` per report a member asks for, executed in the background
(``analytics.tasks.report_run``) with the starter's permissions and scopes as they are when it runs.

What a run keeps: the cleaned parameters (dates as ISO strings), its progress, how many rows the report had, and
the first ``PREVIEW_ROWS`` rows (JSON-safe values, keyed by ``columns``) for the page and the API. The full file is
NOT stored: a download renders the report again for the member who downloads it (``analytics.services.runs``), so
the file holds exactly the columns and rows the downloader may see at that moment (a member who lost
``catalog.view_cost`` since the run gets no cost columns; one who lost ``analytics.export`` gets a 403), nothing is
left on disk to leak or clean up, and the writer streams (CSV row by row; XLSX through openpyxl's write-only mode
into a temporary file), so a 100,000-row XLSX peaks at a few tens of MB whatever the run's size.
"""

from __future__ import annotations

from django.db import models

from backoffice.jobs import BackgroundJob

__all__: list[str] = ["ReportRun"]

# Rows kept with the run for the page and the API (the download has them all).
PREVIEW_ROWS = 1000


class ReportRun(BackgroundJob):
    """A report (``report_type`` in the registry, ``backoffice.reports``) run for a member."""

    report_type = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent, 0..100
    row_count = models.PositiveIntegerField(default=0)
    # The result as rendered for the starter: column keys, the first PREVIEW_ROWS rows, the chart (x, series, kind).
    columns = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    chart = models.JSONField(null=True, blank=True)

    class Meta(BackgroundJob.Meta):
        indexes = [
            models.Index(fields=["shop", "-id"], name="analytics_run_list"),
            models.Index(fields=["shop", "status"], name="analytics_run_status"),
        ]

    def __str__(self) -> str:
        return f"{self.report_type} report {self.pk} ({self.status})"

    @property
    def truncated(self) -> bool:
        """Whether the report had more rows than the run keeps (the download has them all)."""
        return self.row_count > len(self.rows or [])
