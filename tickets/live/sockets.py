"""Caps on open sockets: per browser session (oldest closed first) and per IP address.

A session over its cap keeps its newest sockets: the oldest are told to close (they may
live in another server process, so the eviction is a channel layer message). An IP over
its cap is refused at the handshake. Both caps are soft under a burst of simultaneous
connects (check and add are separate round trips); that is fine for their purpose -
bounding what one browser or one runaway script can hold open.

Entries of sockets whose server process died are not removed by anyone: per-IP entries
carry a heartbeat score and age out after SOCKET_TTL; per-session entries are simply the
oldest in their set and the first to be evicted.
"""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from common.once import process_singleton
from common.redis import key, redis_client

# A live server process refreshes its sockets' entries every SOCKET_HEARTBEAT seconds;
# entries not refreshed for SOCKET_TTL belong to a dead process.
SOCKET_HEARTBEAT = 30
SOCKET_TTL = 3 * SOCKET_HEARTBEAT


@dataclass(frozen=True)
class Admission:
    admitted: bool
    evict: list[str] = field(default_factory=list)  # channel names to tell to close


class SocketRegistry(Protocol):
    async def admit(self, channel_name: str, session: str, ip: str) -> Admission: ...
    async def leave(self, channel_name: str, session: str, ip: str) -> None: ...
    async def heartbeat(self, sockets: list[tuple[str, str, str]]) -> None: ...


class MemorySocketRegistry:
    """For the embedded default: one process holds every socket."""

    def __init__(self, per_session: int, per_ip: int) -> None:
        self.per_session = per_session
        self.per_ip = per_ip
        self._by_session: dict[str, OrderedDict[str, None]] = defaultdict(OrderedDict)
        self._by_ip: dict[str, set[str]] = defaultdict(set)

    async def admit(self, channel_name: str, session: str, ip: str) -> Admission:
        if len(self._by_ip[ip]) >= self.per_ip:
            return Admission(admitted=False)
        self._by_ip[ip].add(channel_name)
        sockets = self._by_session[session]
        sockets[channel_name] = None
        evict = []
        while len(sockets) > self.per_session:
            oldest, _ = sockets.popitem(last=False)
            evict.append(oldest)
        return Admission(admitted=True, evict=evict)

    async def leave(self, channel_name: str, session: str, ip: str) -> None:
        self._by_ip[ip].discard(channel_name)
        if not self._by_ip[ip]:
            del self._by_ip[ip]
        self._by_session[session].pop(channel_name, None)
        if not self._by_session[session]:
            del self._by_session[session]

    async def heartbeat(self, sockets: list[tuple[str, str, str]]) -> None:
        return None  # nothing can die without this process dying too


class RedisSocketRegistry:
    """For production: sockets of every server process, in sorted sets."""

    def __init__(self, per_session: int, per_ip: int) -> None:
        self.per_session = per_session
        self.per_ip = per_ip

    async def admit(self, channel_name: str, session: str, ip: str) -> Admission:
        redis = redis_client()
        now = time.time()
        ip_key = key("sockets", "ip", ip)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(ip_key, "-inf", now - SOCKET_TTL)
            pipe.zcard(ip_key)
            _, open_from_ip = await pipe.execute()
        if open_from_ip >= self.per_ip:
            return Admission(admitted=False)
        session_key = key("sockets", "session", session)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(ip_key, {channel_name: now})
            pipe.expire(ip_key, SOCKET_TTL)
            pipe.zadd(session_key, {channel_name: now})
            pipe.expire(session_key, SOCKET_TTL)
            # Everything but the newest `per_session`, oldest first.
            pipe.zrange(session_key, 0, -(self.per_session + 1))
            *_, evict = await pipe.execute()
        if evict:
            await redis.zrem(session_key, *evict)
        return Admission(admitted=True, evict=list(evict))

    async def leave(self, channel_name: str, session: str, ip: str) -> None:
        async with redis_client().pipeline(transaction=False) as pipe:
            pipe.zrem(key("sockets", "ip", ip), channel_name)
            pipe.zrem(key("sockets", "session", session), channel_name)
            await pipe.execute()

    async def heartbeat(self, sockets: list[tuple[str, str, str]]) -> None:
        if not sockets:
            return
        now = time.time()
        async with redis_client().pipeline(transaction=False) as pipe:
            for channel_name, session, ip in sockets:
                pipe.zadd(key("sockets", "ip", ip), {channel_name: now}, xx=True)
                pipe.expire(key("sockets", "ip", ip), SOCKET_TTL)
                pipe.expire(key("sockets", "session", session), SOCKET_TTL)
            await pipe.execute()


@process_singleton
def socket_registry() -> SocketRegistry:
    """This process's registry (the memory one holds state, so there is exactly one)."""
    cls = RedisSocketRegistry if settings.REDIS_URL else MemorySocketRegistry
    return cls(
        per_session=settings.LIVE_MAX_SOCKETS_PER_SESSION,
        per_ip=settings.LIVE_MAX_SOCKETS_PER_IP,
    )
