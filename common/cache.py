"""Django's Redis cache, with one client per connection pool instead of one per call, and
Redis failures degraded to misses.

Django's RedisCacheClient builds a new redis.Redis object for every cache operation; with
redis-py 8 that costs about 80 µs of CPU each time, as much as the round trip itself, and
sessions read the cache on every request. The client is thread-safe (its pool hands out
connections), so one per pool serves every thread of the process.

Redis away (docs/design.md §4.9): a read that fails is a miss and a write that fails is
skipped, so `cached_db` sessions fall through to PostgreSQL and no page fails because the
cache did. A key whose write or delete was skipped may be stale in Redis when it returns
(a paused Redis keeps everything), so this process deletes those keys before it trusts
Redis again, and until then reads them as misses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from common.failures import REDIS_ERRORS, Breaker, FailureLog

logger = logging.getLogger(__name__)

# Skipped keys remembered per process; past this many the oldest are forgotten (a session
# key then at worst reads one stale copy), so an outage cannot grow memory without end.
MAX_UNSYNCED_KEYS = 100_000


@dataclass
class PipelinedGet:
    """A cache read sent in another client's pipeline to the same Redis (a
    common.ratelimit.Rider): the hold path reads its session in the rate limits' round
    trip rather than in one of its own."""

    key: str  # the cache's own key (prefix and version made)
    loads: Callable[[bytes], Any]
    value: Any = None  # the cached value once it has arrived; None: a miss, or not sent

    def queue(self, pipe: redis.client.Pipeline) -> None:
        pipe.get(self.key)

    def arrived(self, reply: object) -> None:
        if not isinstance(reply, bytes):
            return  # a miss, or the read failed: the owner reads the usual way
        try:
            self.value = self.loads(reply)
        except Exception:
            # Unreadable: left to the usual read, which meets it as Django's cache would.
            self.value = None


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._breaker = Breaker()
        self._failures = FailureLog(
            logger,
            "Redis cache unreachable: reads are misses and writes are skipped "
            "(sessions fall through to the database)",
        )
        self._unsynced: dict[str, None] = {}  # insertion-ordered: the oldest go first
        self._unsynced_lock = threading.Lock()

    def get_client(self, key=None, *, write: bool = False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client

    # --- degrading -----------------------------------------------------------------------

    def _call(self, keys, fallback, operation, *args):
        """`operation(*args)` against Redis, or `fallback` when Redis fails; `keys` are
        those a failed write leaves unsynced (empty for reads)."""
        if not self._breaker.closed():
            self._skipped(keys)
            return fallback
        try:
            self._sync_skipped()
            return operation(*args)
        except REDIS_ERRORS as error:
            self._breaker.tripped()
            self._failures.failed(error)
            self._skipped(keys)
            return fallback

    def _skipped(self, keys) -> None:
        if not keys:
            return
        with self._unsynced_lock:
            for key in keys:
                self._unsynced[key] = None
            while len(self._unsynced) > MAX_UNSYNCED_KEYS:
                del self._unsynced[next(iter(self._unsynced))]

    def _sync_skipped(self) -> None:
        if not self._unsynced:
            return
        with self._unsynced_lock:
            keys = list(self._unsynced)
        super().delete_many(keys)
        with self._unsynced_lock:
            for key in keys:
                self._unsynced.pop(key, None)

    def _is_unsynced(self, key) -> bool:
        return key in self._unsynced

    def pipelined_get(self, key: str) -> PipelinedGet | None:
        """`key`'s read for another client's pipeline, or None when only `get` may read it
        now: Redis away, or skipped writes not yet deleted (which `get` does first)."""
        if self._unsynced or not self._breaker.closed():
            return None
        return PipelinedGet(key, self._serializer.loads)

    def get(self, key, default):
        if self._is_unsynced(key):
            # Try to clear the backlog; either way this read goes to the fallback.
            self._call((), None, self._sync_skipped)
            if self._is_unsynced(key):
                return default
        return self._call((), default, super().get, key, default)

    def get_many(self, keys):
        return self._call((), {}, self._get_many_synced, keys)

    def _get_many_synced(self, keys):
        return {k: v for k, v in super().get_many(keys).items() if not self._is_unsynced(k)}

    def has_key(self, key) -> bool:
        if self._is_unsynced(key):
            return False
        return self._call((), False, super().has_key, key)

    def add(self, key, value, timeout) -> bool:
        return self._call((key,), False, super().add, key, value, timeout)

    def set(self, key, value, timeout) -> None:
        self._call((key,), None, super().set, key, value, timeout)

    def touch(self, key, timeout) -> bool:
        return self._call((key,), False, super().touch, key, timeout)

    def delete(self, key) -> bool:
        return self._call((key,), False, super().delete, key)

    def set_many(self, data, timeout) -> list:
        self._call(list(data), None, super().set_many, data, timeout)
        return []

    def delete_many(self, keys) -> None:
        self._call(list(keys), None, super().delete_many, keys)

    def clear(self) -> bool:
        return self._call((), False, super().clear)

    # incr is left to raise: a counter that silently failed would count nothing (the rate
    # limiter talks to Redis itself and has its own fallback).


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def pipelined_get(self, key: str) -> PipelinedGet | None:
        """The read of `key` for someone else's pipeline (see PipelinedGet), or None."""
        return self._cache.pipelined_get(self.make_and_validate_key(key))
