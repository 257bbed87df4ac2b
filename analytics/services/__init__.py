"""Writes of the analytics app, one module per part, re-exported here."""

from analytics.services import schedules  # noqa: F401
from analytics.services.runs import (  # noqa: F401
    report_run_create,
    report_run_download,
    report_run_execute,
    report_run_get,
    report_run_list,
    report_run_result,
)
from analytics.services.storefront import storefront_events_record  # noqa: F401
