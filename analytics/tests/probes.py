"""The analytics app's rows of the one probe table (permission matrix + isolation sweep), one module per part."""

from __future__ import annotations

from analytics.tests import dashboard_probes, report_probes, schedule_probes
from tests.shop_routes import Probe

PARTS = (report_probes, schedule_probes, dashboard_probes)


def extend_world(world) -> None:
    for part in PARTS:
        part.extend_world(world)


def snapshot(shop) -> dict:
    return {key: value for part in PARTS for key, value in part.snapshot(shop).items()}


PROBES: list[Probe] = [probe for part in PARTS for probe in part.PROBES]
