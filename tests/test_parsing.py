"""The one parsing layer: ids, whole numbers and dates fail as a 400 naming the field, never a 500."""

from datetime import UTC, datetime

import pytest

from backoffice.errors import ValidationFailed
from backoffice.parsing import BIGINT_MAX, parse_day_or_moment, parse_id, parse_ids, parse_int

BAD_IDS = ["²", "١٢", "１２", "12345678901234567890", "99999999999999999999999", "-1", "0", "1.5", "1e3", "", " ", "x",
           "\x00", str(BIGINT_MAX + 1), True]  # fmt: skip


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_ids_are_refused_with_the_field(value):
    with pytest.raises(ValidationFailed) as exc:
        parse_id(value, "order")
    assert list(exc.value.fields) == ["order"]


@pytest.mark.parametrize(("value", "expected"), [("7", 7), (" 42 ", 42), (3, 3), (str(BIGINT_MAX), BIGINT_MAX)])
def test_good_ids(value, expected):
    assert parse_id(value, "order") == expected


def test_bounds_and_lists():
    assert parse_int("5", "n", minimum=0, maximum=10) == 5
    with pytest.raises(ValidationFailed):
        parse_int("11", "n", maximum=10)
    assert parse_ids("3,1,3,", "ids") == [3, 1]
    assert parse_ids([1, "2"], "ids") == [1, 2]
    with pytest.raises(ValidationFailed):
        parse_ids("1,²", "ids")
    with pytest.raises(ValidationFailed):
        parse_ids(list(range(1, 1002)), "ids")


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2026-13-01", "2026-02-29T10:00", "2026-1-1x", "0000-01-01", "²", "0001-01-01T00:00+14:00"]
)
def test_calendar_invalid_dates_are_refused(value):
    with pytest.raises(ValidationFailed) as exc:
        parse_day_or_moment(value, "date_from")
    assert "date_from" in exc.value.fields


def test_dates_in_the_given_zone():
    from zoneinfo import ZoneInfo

    moscow = ZoneInfo("Europe/Moscow")
    start = parse_day_or_moment("2026-03-01", "date_from", tz=moscow)
    end = parse_day_or_moment("2026-03-01", "date_to", end_of_day=True, tz=moscow)
    assert start == datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
    assert end.date().isoformat() == "2026-03-01" and end.hour == 23
    assert parse_day_or_moment("2026-03-01T10:00:00+00:00", "x") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_day_or_moment("", "x") is None
