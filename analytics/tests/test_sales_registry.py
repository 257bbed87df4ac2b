"""The kernel's report registry (``backoffice.reports``) on a small type of its own: ``clean_params`` refuses bad
input naming the field, ``render`` checks the actions and drops the columns (and chart series) whose ``requires``
the member lacks, keeping each row's values under the right columns."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.authz import load_actor
from backoffice.errors import Forbidden, ValidationFailed
from backoffice.reports import Chart, Column, Param, ReportType, available_for, clean_params, render, report_type
from tests.fixtures import make_member, owner_actor

pytestmark = pytest.mark.django_db

SEEN: list[dict] = []


def _build(actor, params, progress):
    SEEN.append(dict(params))
    progress(100)
    yield ["a", 1, "9.50", "4.00"]
    yield ["b", 2, "3.00", "1.00"]


PROBE = ReportType(
    key="registry_probe", label="Probe", description="", build=_build, max_period_days=31,
    columns=(Column("name", "Name"), Column("units", "Units", "int"), Column("revenue", "Revenue", "money"),
             Column("cost", "Cost", "money", requires="catalog.view_cost")),
    params=(Param("date_from", "From", "date", default=lambda: date(2026, 1, 1)),
            Param("date_to", "To", "date", default=date(2026, 1, 31)),
            Param("group_by", "Group", "choice", default="day", choices=(("day", "Day"), ("week", "Week"))),
            Param("limit", "Limit", "int", default=10, minimum=1, maximum=50),
            Param("category", "Categories", "ids"),
            Param("code", "Code", "choice", required=True, choices=(("x", "X"),))),
    actions=("orders.view",), chart=Chart(x="name", series=("revenue", "cost")),
)  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"code": "x", "colour": "red"}, "colour"),  # a misspelt filter is refused, not ignored
        ({}, "code"),  # required
        ({"code": "y"}, "code"),
        ({"code": "x", "group_by": "hour"}, "group_by"),
        ({"code": "x", "limit": "0"}, "limit"),
        ({"code": "x", "limit": "many"}, "limit"),
        ({"code": "x", "category": ["1", "two"]}, "category"),
        ({"code": "x", "date_from": "2026-02-30"}, "date_from"),
        ({"code": "x", "date_from": "2026-01-10", "date_to": "2026-01-09"}, "date_to"),
        ({"code": "x", "date_from": "2026-01-01", "date_to": "2026-03-01"}, "date_to"),  # over 31 days
        (["code"], "params"),
    ],
)
def test_clean_params_names_the_field(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        clean_params(PROBE, raw)
    assert list(caught.value.fields) == [field]


def test_clean_params_fills_defaults_and_parses():
    cleaned = clean_params(PROBE, {"code": "x", "limit": "5", "category": ["3", 4], "date_to": "2026-01-20"})
    assert cleaned == {"date_from": date(2026, 1, 1), "date_to": date(2026, 1, 20), "group_by": "day", "limit": 5,
                       "category": [3, 4], "code": "x"}  # fmt: skip


def test_unknown_report_type_is_a_400_naming_type():
    with pytest.raises(ValidationFailed) as caught:
        report_type("no_such_report")
    assert "type" in caught.value.fields
    assert report_type("sales").key == "sales"


def test_render_drops_columns_the_member_may_not_see(shop):
    owner = owner_actor(shop)
    full = render(owner, PROBE, clean_params(PROBE, {"code": "x"}))
    assert [c.key for c in full.columns] == ["name", "units", "revenue", "cost"]
    assert list(full.rows)[0] == ["a", 1, "9.50", "4.00"]
    assert list(full.chart.series) == ["revenue", "cost"]

    viewer = make_member(shop, "viewer")
    actor = load_actor(viewer.user, shop)
    shown = render(actor, PROBE, clean_params(PROBE, {"code": "x"}))
    assert [c.key for c in shown.columns] == ["name", "units", "revenue"]
    assert list(shown.rows) == [["a", 1, "9.50"], ["b", 2, "3.00"]]
    assert list(shown.chart.series) == ["revenue"]


def test_render_checks_the_actions(shop):
    support = load_actor(make_member(shop, "support").user, shop)  # orders.view but no analytics.view
    with pytest.raises(Forbidden):
        render(support, PROBE, clean_params(PROBE, {"code": "x"}))
    assert "sales" not in [r.key for r in available_for(support)]
    assert "sales" in [r.key for r in available_for(owner_actor(shop))]
