"""The registry of the sockets a process holds, and the caps across processes.

Cap tests run on the configured caps (Redis in CI's services run, memory on the embedded
default); socket tests go through the live consumer exactly as pages do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from common.redis import key, redis_client
from tests.support.factories import make_event, make_function, make_ticket_type
from tests.support.sockets import new_session, next_fragments, open_socket
from tickets.live.hub import hubs
from tickets.live.registry import (
    Admission,
    LocalSockets,
    MemorySocketCaps,
    RedisSocketCaps,
    SocketIdentity,
    local_sockets,
    socket_caps,
)


@dataclasses.dataclass(eq=False)
class Tab:
    """Stands in for a consumer: the registry only reads `identity`."""

    identity: SocketIdentity


def identity(person: str = "alice", address: str = "192.0.2.1") -> SocketIdentity:
    return SocketIdentity(channel=f"chan-{uuid.uuid4().hex}", person=person, address=address)


def test_socket_identity_is_a_frozen_hashable_value():
    a = SocketIdentity(channel="c1", person="p", address="192.0.2.1")
    assert a == SocketIdentity(channel="c1", person="p", address="192.0.2.1")
    assert len({a, SocketIdentity("c1", "p", "192.0.2.1")}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.person = "someone else"  # type: ignore[misc]


class TestLocalSockets:
    def test_sockets_are_kept_per_function_in_join_order(self):
        local = LocalSockets()
        first, second, elsewhere = Tab(identity("a")), Tab(identity("b")), Tab(identity("c"))
        local.add(1, first)
        local.add(1, second)
        local.add(2, elsewhere)
        local.add(1, first)  # joining twice is joining once
        assert local.of_function(1) == [first, second]
        assert local.of_function(2) == [elsewhere]
        assert local.of_function(3) == []
        assert len(local) == 3
        assert set(local.identities()) == {s.identity for s in (first, second, elsewhere)}

    def test_a_person_is_held_until_their_last_tab_goes(self):
        local = LocalSockets()
        tabs = [Tab(identity("alice")) for _ in range(2)]
        for tab in tabs:
            local.add(1, tab)
        assert local.people_of(1) == ["alice"]
        local.discard(1, tabs[0])
        assert local.holds_person(1, "alice")
        assert not local.holds_person(2, "alice")  # per function
        local.discard(1, tabs[1])
        local.discard(1, tabs[1])  # leaving twice is harmless
        assert not local.holds_person(1, "alice")
        assert local.people_of(1) == []
        assert len(local) == 0


@pytest.mark.usefixtures("live_loop")
class TestCaps:
    async def test_a_session_over_its_cap_evicts_its_oldest(self):
        caps, person = socket_caps(), f"p-{uuid.uuid4().hex}"
        sockets = [identity(person, f"198.51.100.{n}") for n in range(3)]
        for socket in sockets:
            assert (await caps.admit(socket)).evict == []
        caps.per_session = 2
        newest = identity(person, "198.51.100.9")
        admission = await caps.admit(newest)
        assert admission.admitted
        assert admission.evict == [sockets[0].channel, sockets[1].channel]
        for socket in [*sockets, newest]:
            await caps.leave(socket)

    async def test_an_address_over_its_cap_is_refused_until_one_leaves(self):
        caps, address = socket_caps(), f"ip-{uuid.uuid4().hex}"
        caps.per_ip = 1
        first, second = identity("a", address), identity("b", address)
        assert (await caps.admit(first)).admitted
        assert not (await caps.admit(second)).admitted
        await caps.heartbeat([first])  # refreshing keeps the slot taken
        assert not (await caps.admit(second)).admitted
        await caps.leave(first)
        assert (await caps.admit(second)).admitted
        await caps.leave(second)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("live_loop")
async def test_a_socket_is_in_the_registry_while_open_and_only_then():
    function = await _function()
    session = await new_session("registered")
    socket, connected = await open_socket(function, session, client=("203.0.113.7", 4242))
    assert connected
    await next_fragments(socket)
    local = local_sockets()
    assert hubs().local is local  # the hubs read the one registry
    [held] = local.of_function(function.pk)
    assert held.identity.person == "registered"
    assert held.identity.address == "203.0.113.7"  # common.client.client_address
    assert local.identities() == [held.identity]
    assert hubs()._rooms[function.pk].sockets == [held]
    await socket_caps().heartbeat(local.identities())  # what the refresher does
    await socket.disconnect()
    assert local.of_function(function.pk) == []
    assert len(local) == 0


@database_sync_to_async
def _function():
    function = make_function()
    make_ticket_type(make_event(function))
    return function


def test_caps_come_from_settings_memory_on_the_embedded_default(settings):
    socket_caps.cache_clear()
    try:
        caps = socket_caps()
        assert caps.per_session == settings.LIVE_MAX_SOCKETS_PER_SESSION
        assert caps.per_ip == settings.LIVE_MAX_SOCKETS_PER_IP
        settings.REDIS_URL = ""
        socket_caps.cache_clear()
        assert isinstance(socket_caps(), MemorySocketCaps)
    finally:
        socket_caps.cache_clear()


# --- the per-address cap under a burst -------------------------------------------------------

BURST, CAP = 40, 5


class CheckThenAddRedisCaps(RedisSocketCaps):
    """The control: admission as it was (a check and an add in separate round trips)."""

    async def admit(self, socket: SocketIdentity) -> Admission:
        redis, now = redis_client(), time.time()
        ip_key = key("sockets", "ip", socket.address)
        if await redis.zcard(ip_key) >= self.per_ip:
            return Admission(admitted=False)
        await redis.zadd(ip_key, {socket.channel: now})
        return Admission(admitted=True)


class CheckThenAddMemoryCaps(MemorySocketCaps):
    """The control in memory: a check, a wait (any await), then the add."""

    async def admit(self, socket: SocketIdentity) -> Admission:
        if len(self._by_ip[socket.address]) >= self.per_ip:
            return Admission(admitted=False)
        await asyncio.sleep(0)
        self._by_ip[socket.address].add(socket.channel)
        return Admission(admitted=True)


async def admitted_of_a_burst(caps) -> int:
    """BURST simultaneous connects from one address; how many got in."""
    address = f"ip-{uuid.uuid4().hex}"
    sockets = [identity(f"p{n}", address) for n in range(BURST)]
    admissions = await asyncio.gather(*(caps.admit(s) for s in sockets))
    for socket, admission in zip(sockets, admissions, strict=True):
        if admission.admitted:
            await caps.leave(socket)
    return sum(a.admitted for a in admissions)


@pytest.mark.usefixtures("live_loop")
async def test_a_burst_from_one_address_admits_exactly_the_cap():
    caps = socket_caps()  # Redis in the services run, memory on the embedded default
    caps.per_ip = CAP
    assert await admitted_of_a_burst(caps) == CAP


@pytest.mark.usefixtures("live_loop")
async def test_the_burst_catches_a_check_then_add_cap_overshooting():
    control = (CheckThenAddRedisCaps if settings.REDIS_URL else CheckThenAddMemoryCaps)(
        per_session=10, per_ip=CAP
    )
    assert await admitted_of_a_burst(control) > CAP


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("live_loop")
async def test_simultaneous_sockets_from_one_address_admit_exactly_the_cap(settings):
    """The same through the consumer: sockets opened together, as a script would."""
    settings.LIVE_MAX_SOCKETS_PER_IP = 3
    socket_caps.cache_clear()
    function = await _function()
    address = ("198.51.100.77", 5000)
    opened = await asyncio.gather(*(open_socket(function, client=address) for _ in range(12)))
    assert sum(connected for _, connected in opened) == 3
    for communicator, connected in opened:
        if connected:
            await communicator.disconnect()
