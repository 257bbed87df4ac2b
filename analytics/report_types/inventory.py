"""inventory report types."""

from __future__ import annotations

REPORT_TYPES: list = []
