"""Cursor ("keyset") pagination for pages: newest first on a unique, increasing integer key (the id), with
"Newer" / "Older" links that carry a cursor instead of a page number.

The API's lists page with DRF's ``CursorPagination`` (``backoffice.api.pagination``); Django's ``Paginator``
counts the rows and reads ``OFFSET n`` (the cost grows with the depth, and a row added on top shifts every
page by one). A page here is ``WHERE key < cursor ORDER BY key DESC LIMIT size + 1``: the same cost at any
depth (the ``(shop, -id)`` index) and **stable** — rows posted after the first page was read land above it
and never push a row of an older page onto the next one.

Use::

    page = cursor_page(qs, request.GET.get("cursor"), size=50)   # ValidationFailed on a bad cursor (field "cursor")
    page.items, page.newer, page.older                           # the rows; the cursors of the neighbours or None

A cursor is ``o<key>`` (rows older than ``key``: the "Older" link) or ``n<key>`` (rows newer than ``key``,
read in ascending order and shown newest first: the "Newer" link). No cursor is the newest page. Two queries
per page: the rows (one more than the page, to know whether there is a next one) and whether a row lies the
other way. The template builds the links from the page's query string with ``cursor`` replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.errors import ValidationFailed
from backoffice.parsing import BIGINT_MAX

_CURSOR = re.compile(r"^([on])([0-9]{1,19})$")


@dataclass(frozen=True)
class CursorPage:
    items: list[Any]
    newer: str | None  # the cursor of the page above (newer rows), None on the newest page
    older: str | None  # the cursor of the page below (older rows), None on the oldest page

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer or self.older)


def parse_cursor(value: Any, field: str = "cursor") -> tuple[str, int] | None:
    """``("o"|"n", key)`` or None for no cursor; anything else is a ``ValidationFailed`` naming ``field``."""
    if value in (None, ""):
        return None
    match = _CURSOR.match(str(value).strip())
    if not match or int(match.group(2)) > BIGINT_MAX:
        message = _("This page link is not valid; start from the first page.")
        raise ValidationFailed(message, fields={field: [message]})
    return match.group(1), int(match.group(2))


def cursor_page(qs: QuerySet, cursor: Any, *, size: int, key: str = "id", field: str = "cursor") -> CursorPage:
    """One page of ``qs`` (any filters; its ordering is replaced by ``-key``), newest first."""
    parsed = parse_cursor(cursor, field)
    direction, bound = parsed or ("o", None)
    if direction == "n":
        rows = list(qs.filter(**{f"{key}__gt": bound}).order_by(key)[: size + 1])
        items = rows[:size][::-1]
        more_newer = len(rows) > size
        # Below the page: what lies under its last row (or, on an empty page, under the cursor).
        below = getattr(items[-1], key) if items else bound + 1
        more_older = qs.filter(**{f"{key}__lt": below}).exists()
    else:
        page_qs = qs if bound is None else qs.filter(**{f"{key}__lt": bound})
        rows = list(page_qs.order_by(f"-{key}")[: size + 1])
        items = rows[:size]
        more_older = len(rows) > size
        above = getattr(items[0], key) if items else (bound or 0) - 1
        more_newer = bound is not None and qs.filter(**{f"{key}__gt": above}).exists()
    if not items:
        # An empty page (a stale link, or everything that way was filtered away): offer the way back.
        return CursorPage(
            items, f"n{max(bound - 1, 0)}" if more_newer else None, f"o{bound + 1}" if more_older else None
        )
    newer = f"n{getattr(items[0], key)}" if more_newer else None
    older = f"o{getattr(items[-1], key)}" if more_older else None
    return CursorPage(items, newer, older)
