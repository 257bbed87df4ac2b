"""JSON in, bounded: a body nested deeper than ``MAX_DEPTH`` is a 400, never a ``RecursionError``.

orjson parses (it refuses nesting past 1024 levels with a decode error rather than recursing in Python,
and it is faster than the standard library); the depth is then checked without recursion, since
serializers, JSON fields and the audit writer walk what the parser returns."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

MAX_DEPTH = 32


def _too_deep(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(_("The body is not valid JSON: %(reason)s") % {"reason": exc}) from None
        if _too_deep(data, getattr(settings, "API_MAX_JSON_DEPTH", MAX_DEPTH)):
            raise ParseError(_("The body is nested too deeply."))
        return data
