"""Fixed-window rate limits, shared by every view that answers 429: in Redis in production
(so every worker process counts together), in local memory on the embedded default."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

from common.redis import key as redis_key
from common.redis import sync_redis_client


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    retry_after: int  # seconds until the window resets


def hit(key: str, *, limit: int, window: int) -> RateLimit:
    """Count one request against `key`; allowed while at most `limit` per `window` seconds.

    A fixed window lets a client burst up to twice the limit across a window edge; for
    "stop a runaway client" that is an acceptable price for one round trip.
    """
    now = time.time()
    bucket = int(now // window)
    count = _count(f"ratelimit:{key}:{bucket}", window)
    retry_after = max(1, math.ceil((bucket + 1) * window - now))
    return RateLimit(allowed=count <= limit, retry_after=retry_after)


def _count(bucket_key: str, window: int) -> int:
    if settings.REDIS_URL:
        return _count_in_redis(sync_redis_client, bucket_key, window)
    # The embedded default: local memory, one process, no round trips at all.
    if cache.add(bucket_key, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(bucket_key)
    except ValueError:  # expired between add and incr
        cache.add(bucket_key, 1, timeout=window + 1)
        return 1


def _count_in_redis(get_client: Callable[[], redis.Redis], bucket_key: str, window: int) -> int:
    # One round trip on the hold path: INCR, and a TTL set only by the first hit.
    name = redis_key(bucket_key)
    pipe = get_client().pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, window + 1, nx=True)
    count, _ = pipe.execute()
    return count
