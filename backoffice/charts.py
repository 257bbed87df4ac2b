"""Charts for pages (any app): the dict ``templates/partials/chart.html`` renders, drawn by ``static/js/charts.js``
with the pinned Chart.js in ``static/vendor`` (no CDN). The figures go to the page twice: as a JSON block the
script draws from (the CSP forbids inline scripts), and as a table beside the canvas for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def chart(*, id: str, title: str, labels: Sequence[Any], series: Sequence[dict[str, Any]], kind: str = "line",
          label_heading: str = "") -> dict[str, Any]:  # fmt: skip
    """``series``: ``[{"label": …, "values": [...] (numbers, Decimals or None), "axis": "y"|"y1"}]``, one value
    per label. ``id`` must be unique on the page (it names the canvas's data block and table)."""
    labels = [str(x) for x in labels]
    series = [{"label": str(s["label"]), "values": [None if v is None else str(v) for v in s["values"]],
               "axis": s.get("axis", "y")} for s in series]  # fmt: skip
    rows = [(label, [s["values"][i] for s in series]) for i, label in enumerate(labels)]
    return {
        "id": id, "data_id": f"{id}-data", "title": str(title), "label_heading": str(label_heading),
        "spec": {"type": kind, "labels": labels, "series": series}, "series": series, "rows": rows,
    }  # fmt: skip
