"""Daily rollups the reports and the dashboard read instead of raw orders (owner: rollups engineer)."""

from __future__ import annotations


def subscribe() -> None:
    """Follow ``order.changed`` and ``stock.moved`` (backoffice.events)."""
