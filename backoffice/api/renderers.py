"""JSON out through orjson: the same document DRF's renderer writes, several times faster on big lists.

Types orjson has no opinion on (and datetimes, which DRF writes as ``…Z`` with milliseconds) go through
DRF's own encoder, so a timestamp reads the same whichever path produced it. Unlike DRF, a bare
``Decimal`` is written as a string: money never becomes a float on the wire.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_drf = JSONEncoder()


def _default(obj):
    if isinstance(obj, Decimal):
        return str(obj)
    return _drf.default(obj)


class JSONRenderer(ORJSONRenderer):
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def render(self, data, media_type=None, renderer_context=None) -> bytes:
        return super().render(data, media_type, {**(renderer_context or {}), "default_function": _default})
