"""Redis clients for code of ours that talks to Redis directly (presence, socket caps,
rate limits).

redis.asyncio clients belong to the event loop they first ran on, so there is one client
per loop; keys are namespaced with REDIS_PREFIX like everything else in a shared Redis.

Every client connects and reads with settings.REDIS_SOCKET_TIMEOUT, so a hung Redis costs
a caller at most that long; callers catch common.failures.REDIS_ERRORS and degrade.
"""

from __future__ import annotations

import asyncio
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

from common.once import process_singleton

REDIS_POOL_SIZE = 50

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def redis_client() -> aioredis.Redis:
    """The client for the running loop (call from async code)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # A blocking pool: when a thousand pages close at once their clean-up waits its
        # turn for a connection instead of failing with "too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=REDIS_POOL_SIZE,
            timeout=20,
            decode_responses=True,
            **settings.REDIS_TIMEOUTS,
        )
        client = aioredis.Redis(connection_pool=pool)
        _clients[loop] = client
    return client


@process_singleton
def sync_redis_client() -> redis.Redis:
    """The client for synchronous code (request threads): thread-safe, one per process,
    made once even when a fresh worker's threads all ask for it together (common.once)."""
    return redis.Redis.from_url(
        settings.REDIS_URL, decode_responses=True, **settings.REDIS_TIMEOUTS
    )


@process_singleton
def sync_redis_binary_client() -> redis.Redis:
    """As sync_redis_client, but replies stay bytes: for reads of values that are not
    text (the rate limits' pipeline carries the session's pickled data)."""
    return redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_TIMEOUTS)


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_PREFIX, *(str(part) for part in parts)])
