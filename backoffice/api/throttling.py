"""API rate limit: a fixed-window counter per personal token (per user for sessions, per IP for anonymous calls).

DRF's ``SimpleRateThrottle`` keeps a list of every request timestamp in the cache and rewrites it on
each call (two round trips and a pickled list of up to ``rate`` floats). A counter per window is one
``INCR`` on Redis, which matters because every API request pays it. The price is the usual one of fixed
windows: a client may spend two budgets across a window boundary.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from backoffice import kv
from backoffice.middleware import client_ip


def count_hit(key: str, window_seconds: int) -> int:
    """Add one to the counter ``key`` living for ``window_seconds``; return its new value."""
    client = kv.client()
    if client is None:
        # Embedded default (no Redis): the local-memory cache, good enough for one process.
        cache.add(key, 0, window_seconds)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window_seconds)
            return 1
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_seconds)
    count, _ = pipe.execute()
    return count


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` → (1200, 60)."""
    num, period = rate.split("/")
    return int(num), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class PerTokenThrottle(BaseThrottle):
    scope = "token"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def ident_for(self, request) -> str:
        token = getattr(request, "auth", None)
        if token is not None and getattr(token, "pk", None):
            return f"t{token.pk}"
        if request.user and request.user.is_authenticated:
            return f"u{request.user.pk}"
        # Not DRF's get_ident: it believes any X-Forwarded-For, so rotating the header would reset the limit.
        return f"ip{client_ip(request)}"

    def allow_request(self, request, view) -> bool:
        limit, window = parse_rate(self.get_rate())
        now = time.time()
        window_no = int(now // window)
        self.retry_after = window - (now - window_no * window)
        count = count_hit(f"throttle:{self.scope}:{self.ident_for(request)}:{window}:{window_no}", window)
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
