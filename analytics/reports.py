"""The analytics app's own report types (the registry is ``backoffice.reports``; other apps contribute
theirs from ``<app>/reports.py``)."""

from analytics.report_types import buyer, inventory, orders_flow, sales

REPORT_TYPES = [*sales.REPORT_TYPES, *inventory.REPORT_TYPES, *orders_flow.REPORT_TYPES, *buyer.REPORT_TYPES]
