"""The shared Redis connection for the kernel's own counters and caches (throttle, access cache).

None when the app runs on the embedded default (no ``REDIS_URL``): callers then fall back to doing
without, because a per-process store cannot be shared by several web workers.
"""

from __future__ import annotations

import functools

from django.conf import settings


@functools.cache
def _client(url: str):
    import redis

    return redis.Redis.from_url(url)


def client():
    url = settings.REDIS_URL
    return _client(url) if url else None
