"""Helpers shared by the catalog's service modules (not part of the public surface)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``obj`` (foreign keys as ids), for an audit diff."""
    return {
        name: getattr(obj, f"{name}_id") if name in ("category", "product") else getattr(obj, name) for name in fields
    }
