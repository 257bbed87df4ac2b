"""One parsing layer for what arrives as text (query strings, form fields, body values): ids, whole
numbers, dates. Every failure is a ``ValidationFailed`` naming the field, so an API answers 400 and a page
shows the message; nothing here can raise ``ValueError``, ``OverflowError`` or a database range error.

- ids are ASCII digits only (``"²".isdigit()`` is true but ``int("²")`` fails) and fit a bigint;
- whole numbers have explicit bounds;
- dates must exist in the calendar (``2026-02-30`` is refused, not a 500).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from backoffice.errors import ValidationFailed

BIGINT_MAX = 2**63 - 1
_ASCII_INT = re.compile(r"^[+-]?[0-9]{1,19}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _fail(field: str, message: str):
    raise ValidationFailed(message, fields={field: [message]})


def parse_int(value, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number written in ASCII digits, within [minimum, maximum] (and a bigint)."""
    if isinstance(value, bool):
        _fail(field, _("Enter a whole number."))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not _ASCII_INT.match(text):
            _fail(field, _("Enter a whole number."))
        number = int(text)
    low = -BIGINT_MAX if minimum is None else minimum
    high = BIGINT_MAX if maximum is None else maximum
    if number < low:
        _fail(field, _("Must be at least %(n)s.") % {"n": low})
    if number > high:
        _fail(field, _("Must be at most %(n)s.") % {"n": high})
    return number


def parse_id(value, field: str) -> int:
    """A row id: a positive bigint."""
    return parse_int(value, field, minimum=1, maximum=BIGINT_MAX)


def parse_ids(values, field: str, *, limit: int = 1000) -> list[int]:
    """A list of ids (a list, or comma-separated text), at most ``limit``, duplicates dropped in order."""
    if values in (None, ""):
        return []
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, (list, tuple)):
        _fail(field, _("Give a list of ids."))
    if len(items) > limit:
        _fail(field, _("At most %(n)s ids at a time.") % {"n": limit})
    return list(dict.fromkeys(parse_id(item, field) for item in items if str(item).strip() != ""))


def parse_optional_id(value, field: str) -> int | None:
    return None if value in (None, "") else parse_id(value, field)


def parse_day_or_moment(value, field: str, *, end_of_day: bool = False, tz=None) -> datetime | None:
    """A date (``YYYY-MM-DD``, the start or end of that day in ``tz``, default the current zone) or an
    ISO date-time; None for empty. Calendar-invalid dates are refused with the field named."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    message = _("Use a real date, YYYY-MM-DD, or an ISO date-time.")
    if _DAY.match(text):
        # A bare day (Django's parse_datetime would read it as midnight, losing "end of day").
        try:
            day = date.fromisoformat(text)
        except ValueError:
            _fail(field, message)
        moment = datetime.combine(day, time.max if end_of_day else time.min)
    else:
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            _fail(field, message)
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, tz or timezone.get_current_timezone())
        # Stored and compared in UTC: a moment at the edge of the calendar (0001-01-01T00:00+14:00) has none.
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        _fail(field, message)
    return moment
