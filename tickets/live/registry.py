"""Which live sockets this server process holds, and the caps on sockets across processes.

Three things, side by side:

- `LocalSockets` (`local_sockets()`): the one record of the sockets this process holds,
  by function and by person. Hubs fan out to the sockets of their function from it,
  presence asks it whether a person still has a socket here, and the refresher below
  heartbeats every entry of it. Nothing else keeps a set of sockets.
- `Rooms` (and `per_loop`): what a page's sockets join, a function's hub
  (tickets.live.hub.Hubs) or a registration's names room (tickets.live.names.NamesRooms),
  started with its first socket and stopped with its last, one set per event loop.
- `SocketCaps` (`socket_caps()`): admission, the one job that needs every process's
  sockets. Per browser session the newest LIVE_MAX_SOCKETS_PER_SESSION are kept (older
  ones are told to close with 4001: they may live in another server process, so the
  eviction is a channel layer message); per client address a socket over
  LIVE_MAX_SOCKETS_PER_IP is refused. Both caps are exact under a burst of simultaneous
  connects: checking and adding are one step (a Lua script in Redis; no await between
  them in memory), because with a check and an add in separate round trips a burst from
  one address all passed the check before any was added.

A cap that cannot be consulted (Redis away) raises from `admit`; the consumer then
refuses the socket with 1013 "try again later", after which the page reconnects.

Cap entries of sockets whose server process died are not removed by anyone: per-address
entries carry a heartbeat score and age out after SOCKET_TTL; per-session entries are
simply the oldest in their set and the first to be evicted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from django.conf import settings

from common.once import process_singleton
from common.redis import key, redis_client

if TYPE_CHECKING:
    from presence.store import PresenceCounts
    from tickets.live.coalesce import AvailabilityBatch

logger = logging.getLogger(__name__)

# A live server process refreshes its sockets' cap entries every SOCKET_HEARTBEAT
# seconds; entries not refreshed for SOCKET_TTL belong to a dead process.
SOCKET_HEARTBEAT = 30
SOCKET_TTL = 3 * SOCKET_HEARTBEAT


@dataclass(frozen=True, slots=True)
class SocketIdentity:
    """Who holds a socket, as the caps and presence see it.

    `person` is the browser session's buyer key (people, not tabs), or the channel name for
    a socket without a session; `address` is common.client.client_address of the scope.
    `counted` is False for a socket without a session: a script can open any number of
    those, so they are not people in presence (they still count against the caps).
    """

    channel: str
    person: str
    address: str
    counted: bool = True


class LiveSocket(Protocol):
    """What the registry holds and a hub pushes to (tickets.live.consumer is the one)."""

    identity: SocketIdentity

    def offer_availability(self, batch: AvailabilityBatch) -> None: ...
    def offer_presence(self, counts: PresenceCounts) -> None: ...
    def offer_html(self, html: str) -> None: ...


# --- the sockets of this process ----------------------------------------------------------


class LocalSockets:
    """The sockets of this server process, per function. Used from one event loop."""

    def __init__(self) -> None:
        # dicts, not sets: fan-out goes in the order sockets joined, which keeps pushes to
        # a page's tabs (and test output) in a stable order.
        self._by_function: dict[int, dict[LiveSocket, None]] = {}
        self._people: dict[int, Counter[str]] = {}

    def add(self, function_id: int, socket: LiveSocket) -> None:
        sockets = self._by_function.setdefault(function_id, {})
        if socket in sockets:
            return
        sockets[socket] = None
        self._people.setdefault(function_id, Counter())[socket.identity.person] += 1

    def discard(self, function_id: int, socket: LiveSocket) -> None:
        sockets = self._by_function.get(function_id)
        if sockets is None or socket not in sockets:
            return
        del sockets[socket]
        people = self._people[function_id]
        people[socket.identity.person] -= 1
        if people[socket.identity.person] <= 0:
            del people[socket.identity.person]
        if not sockets:
            del self._by_function[function_id]
            del self._people[function_id]

    def of_function(self, function_id: int) -> list[LiveSocket]:
        """A copy: the caller may await while sockets come and go."""
        return list(self._by_function.get(function_id, ()))

    def people_of(self, function_id: int) -> list[str]:
        """Everyone with at least one socket of the function here."""
        return list(self._people.get(function_id, ()))

    def holds_person(self, function_id: int, person: str) -> bool:
        return person in self._people.get(function_id, ())

    def identities(self) -> list[SocketIdentity]:
        return [s.identity for sockets in self._by_function.values() for s in sockets]

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_function.values())


T = TypeVar("T")


def per_loop(factory: Callable[[], T]) -> Callable[[], T]:
    """`factory()` made once per running event loop: a server process runs one loop, so
    that is once per process, and tests (a loop each) each start with a fresh one. Held
    weakly, so a closed loop takes its objects with it."""
    made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def of_running_loop() -> T:
        loop = asyncio.get_running_loop()
        if loop not in made:
            made[loop] = factory()
        return made[loop]

    return of_running_loop


_local_of_loop = per_loop(LocalSockets)


def local_sockets() -> LocalSockets:
    """The registry of the running loop: a server process runs one loop, so this is the
    process's (tests run a loop each, and each starts empty)."""
    return _local_of_loop()


# --- rooms: what a page's sockets join -------------------------------------------------------


class _Presence(Protocol):
    async def join(self, person: str, step: str) -> None: ...
    def leave(self, person: str) -> None: ...


class Room(Protocol):
    """A fan-out to the sockets of one thing (a function's hub, a registration's names
    room): its sockets are those of `scope` in LocalSockets."""

    scope: Hashable
    presence: _Presence

    @property
    def sockets(self) -> list[LiveSocket]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Room)


class Rooms(Generic[K, R]):
    """The rooms of one event loop, created with the first socket of their key and stopped
    with its last. Joining and leaving a room is what puts a socket in, and takes it out
    of, the process's registry of sockets, and a counted socket's person in and out of the
    room's presence."""

    def __init__(self, local: LocalSockets, make_room: Callable[[K, LocalSockets], R]) -> None:
        self.local = local
        self._make_room = make_room
        self._rooms: dict[K, R] = {}
        self._lock = asyncio.Lock()

    async def join(self, key: K, socket: LiveSocket, step: str) -> R:
        async with self._lock:
            room = self._rooms.get(key)
            if room is None:
                room = self._make_room(key, self.local)
                await room.start()
                self._rooms[key] = room
            self.local.add(room.scope, socket)  # type: ignore[arg-type]
        if socket.identity.counted:
            await room.presence.join(socket.identity.person, step)
        return room

    async def leave(self, key: K, socket: LiveSocket) -> None:
        async with self._lock:
            room = self._rooms.get(key)
            if room is None:
                return
            self.local.discard(room.scope, socket)  # type: ignore[arg-type]
            if socket.identity.counted:
                room.presence.leave(socket.identity.person)
            if not room.sockets:
                del self._rooms[key]
                await room.stop()


async def keep_socket_entries_fresh_forever() -> None:
    """Heartbeat the cap entry of every socket this process holds, in one round trip per
    tick however many sockets (a server-process task, see lodgetix.asgi)."""
    while True:
        await asyncio.sleep(SOCKET_HEARTBEAT)
        try:
            await socket_caps().heartbeat(local_sockets().identities())
        except Exception:
            logger.warning("Socket heartbeat failed; retrying next tick", exc_info=True)


# --- the caps across processes -------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    admitted: bool
    evict: list[str] = field(default_factory=list)  # channel names to tell to close


class SocketCaps(Protocol):
    async def admit(self, socket: SocketIdentity) -> Admission: ...
    async def leave(self, socket: SocketIdentity) -> None: ...
    async def heartbeat(self, sockets: list[SocketIdentity]) -> None: ...


class MemorySocketCaps:
    """For the embedded default: one process holds every socket.

    Check and add run with no await between them, so no other socket of the loop can
    come in between; the lock covers the process's other loops (tests run one each).
    """

    def __init__(self, per_session: int, per_ip: int) -> None:
        self.per_session = per_session
        self.per_ip = per_ip
        self._by_session: dict[str, OrderedDict[str, None]] = defaultdict(OrderedDict)
        self._by_ip: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()

    async def admit(self, socket: SocketIdentity) -> Admission:
        with self._lock:  # never held across an await
            if len(self._by_ip[socket.address]) >= self.per_ip:
                return Admission(admitted=False)
            self._by_ip[socket.address].add(socket.channel)
            sockets = self._by_session[socket.person]
            sockets[socket.channel] = None
            evict = []
            while len(sockets) > self.per_session:
                oldest, _ = sockets.popitem(last=False)
                evict.append(oldest)
            return Admission(admitted=True, evict=evict)

    async def leave(self, socket: SocketIdentity) -> None:
        with self._lock:
            self._by_ip[socket.address].discard(socket.channel)
            if not self._by_ip[socket.address]:
                del self._by_ip[socket.address]
            self._by_session[socket.person].pop(socket.channel, None)
            if not self._by_session[socket.person]:
                del self._by_session[socket.person]

    async def heartbeat(self, sockets: list[SocketIdentity]) -> None:
        return None  # nothing can die without this process dying too


# Admission in one step, so simultaneous connects are counted one after another.
# KEYS: the address's set, the session's set. ARGV: channel, now, ttl, per_ip, per_session.
# Returns {0} when the address is full, else {1, channels to evict (oldest first)}.
ADMIT_SCRIPT = """
local ip_key, session_key = KEYS[1], KEYS[2]
local channel, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local per_ip, per_session = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', ip_key, '-inf', now - ttl)
if redis.call('ZCARD', ip_key) >= per_ip then
    return {0}
end
redis.call('ZADD', ip_key, now, channel)
redis.call('EXPIRE', ip_key, ttl)
redis.call('ZADD', session_key, now, channel)
redis.call('EXPIRE', session_key, ttl)
-- Everything but the newest per_session, oldest first.
local evict = redis.call('ZRANGE', session_key, 0, -(per_session + 1))
if #evict > 0 then
    redis.call('ZREM', session_key, unpack(evict))
end
return {1, evict}
"""


class RedisSocketCaps:
    """For production: sockets of every server process, in sorted sets."""

    def __init__(self, per_session: int, per_ip: int) -> None:
        self.per_session = per_session
        self.per_ip = per_ip

    async def admit(self, socket: SocketIdentity) -> Admission:
        # register_script only hashes the source; EVALSHA loads it on first use.
        admit = redis_client().register_script(ADMIT_SCRIPT)
        result = await admit(
            keys=[key("sockets", "ip", socket.address), key("sockets", "session", socket.person)],
            args=[socket.channel, time.time(), SOCKET_TTL, self.per_ip, self.per_session],
        )
        if not result[0]:
            return Admission(admitted=False)
        return Admission(admitted=True, evict=list(result[1]))

    async def leave(self, socket: SocketIdentity) -> None:
        async with redis_client().pipeline(transaction=False) as pipe:
            pipe.zrem(key("sockets", "ip", socket.address), socket.channel)
            pipe.zrem(key("sockets", "session", socket.person), socket.channel)
            await pipe.execute()

    async def heartbeat(self, sockets: list[SocketIdentity]) -> None:
        if not sockets:
            return
        now = time.time()
        async with redis_client().pipeline(transaction=False) as pipe:
            for socket in sockets:
                ip_key = key("sockets", "ip", socket.address)
                pipe.zadd(ip_key, {socket.channel: now}, xx=True)
                pipe.expire(ip_key, SOCKET_TTL)
                pipe.expire(key("sockets", "session", socket.person), SOCKET_TTL)
            await pipe.execute()


@process_singleton
def socket_caps() -> SocketCaps:
    """This process's caps (the memory one holds state, so there is exactly one)."""
    cls = RedisSocketCaps if settings.REDIS_URL else MemorySocketCaps
    return cls(
        per_session=settings.LIVE_MAX_SOCKETS_PER_SESSION,
        per_ip=settings.LIVE_MAX_SOCKETS_PER_IP,
    )
