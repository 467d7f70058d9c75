"""Fixed-window rate limits, shared by every view that answers 429: in Redis in production
(so every worker process counts together), in local memory on the embedded default.

Redis away: each process counts in its own memory until Redis answers again, with one log
line per 10 s. Counting locally rather than failing open keeps the limit's purpose, stopping
a runaway script, during the outage: the limit becomes per process (at most the limit
times the number of worker processes), which is looser but still a limit, and a hold never
fails because a guard could not be consulted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from common.failures import REDIS_ERRORS, Breaker, FailureLog
from common.redis import key as redis_key
from common.redis import sync_redis_binary_client

logger = logging.getLogger(__name__)

# Where a process counts while Redis is away (and on the embedded default: `cache`).
_local_counts = LocMemCache("lodgetix-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_redis_breaker = Breaker()
_redis_failures = FailureLog(
    logger, "Rate limits cannot reach Redis: counting in this process until it answers"
)


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    retry_after: int  # seconds until the window resets


class Rider(Protocol):
    """A Redis read sent in the rate limits' round trip instead of one of its own (the
    hold path's session: common.sessions). It may never be sent - no Redis, Redis away,
    no limit to count - so whoever reads it must be able to read without it."""

    def queue(self, pipe: redis.client.Pipeline) -> None:
        """Add exactly one command to `pipe`."""

    def arrived(self, reply: object) -> None:
        """Take that command's reply (an exception instance if the command failed)."""


def hit(key: str, *, limit: int, window: int) -> RateLimit:
    """Count one request against `key`; allowed while at most `limit` per `window` seconds.

    A fixed window lets a client burst up to twice the limit across a window edge; for
    "stop a runaway client" that is an acceptable price for one round trip.
    """
    return hit_many([(key, limit, window)])[0]


def hit_many(
    limits: list[tuple[str, int, int]], *, riders: Sequence[Rider] = ()
) -> list[RateLimit]:
    """Count one request against each (key, limit, window) at once: one Redis round trip
    for all of them, and for each of `riders` (the hold path counts its address and its
    session, and reads the session, together)."""
    if not limits:
        return []
    now = time.time()
    buckets = [(f"ratelimit:{key}:{int(now // window)}", window) for key, _, window in limits]
    counts = _count(buckets, riders)
    return [
        RateLimit(
            allowed=count <= limit,
            retry_after=max(1, math.ceil((int(now // window) + 1) * window - now)),
        )
        for count, (_, limit, window) in zip(counts, limits, strict=True)
    ]


def _count(buckets: list[tuple[str, int]], riders: Sequence[Rider]) -> list[int]:
    if not settings.REDIS_URL:
        # The embedded default: local memory, one process, no round trips at all.
        return [_count_locally(cache, key, window) for key, window in buckets]
    if _redis_breaker.closed():
        try:
            return _count_in_redis(sync_redis_binary_client, buckets, riders)
        except REDIS_ERRORS as error:
            _redis_breaker.tripped()
            _redis_failures.failed(error)
    return [_count_locally(_local_counts, key, window) for key, window in buckets]


def _count_locally(counts: BaseCache, bucket_key: str, window: int) -> int:
    if counts.add(bucket_key, 1, timeout=window + 1):
        return 1
    try:
        return counts.incr(bucket_key)
    except ValueError:  # expired between add and incr
        counts.add(bucket_key, 1, timeout=window + 1)
        return 1


def _count_in_redis(
    get_client: Callable[[], redis.Redis],
    buckets: list[tuple[str, int]],
    riders: Sequence[Rider] = (),
) -> list[int]:
    # One round trip for every bucket: INCR, and a TTL set only by the first hit; then
    # the riders' reads. A binary client, because a rider may read bytes (a pickle).
    pipe = get_client().pipeline(transaction=False)
    for bucket_key, window in buckets:
        name = redis_key(bucket_key)
        pipe.incr(name)
        pipe.expire(name, window + 1, nx=True)
    for rider in riders:
        rider.queue(pipe)
    # Errors come back as replies, so a rider's failed read cannot fail the counting.
    replies = pipe.execute(raise_on_error=False)
    counted = 2 * len(buckets)
    for rider, reply in zip(riders, replies[counted:], strict=True):
        rider.arrived(reply)
    for reply in replies[:counted]:
        if isinstance(reply, Exception):
            raise reply
    return replies[:counted:2]
