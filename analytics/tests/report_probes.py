"""Probe rows for one part of analytics (see analytics/tests/probes.py)."""

from __future__ import annotations

from tests.shop_routes import Probe


def extend_world(world) -> None:
    """Create the objects this part's probes act on, in ``world.objects`` (names prefixed with the part)."""


def snapshot(shop) -> dict:
    """What this part's write probes may change (the isolation sweep checks another shop's stays equal)."""
    return {}


PROBES: list[Probe] = []
