"""One subscription per function per server process, fanned out to its local sockets.

Measured with `manage.py bench fanout` (BENCHMARKS.md): when each of 2,000 sockets joined
the function's channel layer group itself, every change cost 2,000 layer deliveries,
2,000 Channels dispatches and 2,000 coalescing timers, and one core could not keep up.
A hub receives each group message once, coalesces once (at most one push per interval
per function), renders once (fragments are cached per version) and hands the result to
each local socket; what a socket then costs is one wake-up and one write.

Each socket sends from its own task and merges what arrives while it is busy, so a slow
client delays only itself and still ends on the newest state.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from common.aio import spawn
from presence.local import FunctionPresence
from presence.store import heartbeat_interval, presence_store
from tickets.live import fragments
from tickets.live.coalesce import AvailabilityBatch, Coalescer, newest_availability
from tickets.live.publisher import PUSH_INTERVAL, function_group
from tickets.live.registry import LiveSocket, LocalSockets, local_sockets
from tickets.services import broadcasts
from tickets.services.availability import TicketAvailability
from tickets.services.presence_steps import steps_of

logger = logging.getLogger(__name__)

# Presence counts reach pages at most about once a second per function (docs/design.md §5).
PRESENCE_INTERVAL = 1.0


class FunctionHub:
    """Fans out to the function's sockets in `local` (this process's registry of sockets):
    the hub keeps no set of its own."""

    def __init__(self, function_id: int, local: LocalSockets) -> None:
        self.function_id = function_id
        self.group = function_group(function_id)
        self._local = local
        self._layer = get_channel_layer()
        self._channel: str | None = None
        # burst=2: pushes from one publisher arrive one per interval and pass straight
        # through; several publishing processes together are still held to the rate.
        self._availability: Coalescer[str, AvailabilityBatch] = Coalescer(
            PUSH_INTERVAL, self._push_availability, newest_availability, burst=2
        )
        self.presence = FunctionPresence(
            function_id,
            presence_store(),
            steps_of=database_sync_to_async(steps_of),
            holds=lambda person: local.holds_person(function_id, person),
        )
        self._tasks: list[asyncio.Task] = []

    @property
    def sockets(self) -> list[LiveSocket]:
        return self._local.of_function(self.function_id)

    async def start(self) -> None:
        self._channel = await self._layer.new_channel()
        await self._layer.group_add(self.group, self._channel)
        self._tasks = [
            asyncio.create_task(self._receive_forever()),
            asyncio.create_task(self._count_presence_forever()),
        ]

    async def stop(self) -> None:
        self._availability.cancel()
        for task in self._tasks:
            task.cancel()
        if self._channel is not None:
            await self._layer.group_discard(self.group, self._channel)
        await self.presence.forget_everyone()

    async def _count_presence_forever(self) -> None:
        """Counts go out at most once per PRESENCE_INTERVAL, and only when they change;
        the store is also re-read so that people of a dead process age out of view."""
        last_heartbeat = time.monotonic()
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            try:
                if time.monotonic() - last_heartbeat >= heartbeat_interval():
                    last_heartbeat = time.monotonic()
                    await self.presence.heartbeat()
                counts = await self.presence.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Presence of function %s could not be counted",
                               self.function_id, exc_info=True)  # fmt: skip
                continue
            if counts is not None:
                for socket in self.sockets:
                    socket.offer_presence(counts)

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis away: sockets keep their last state and heal on the next push.
                logger.warning("Live hub of function %s lost its layer", self.function_id,
                               exc_info=True)  # fmt: skip
                await asyncio.sleep(1)
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict) -> None:
        if message.get("type") == "availability.changed":
            batch = {
                a.ticket_type_id: a
                for a in map(TicketAvailability.from_message, message["availabilities"])
            }
            self._availability.offer("availability", batch)
        elif message.get("type") == "staff.broadcast":
            spawn(self._announce(message["id"]))
        else:
            logger.warning("Live hub ignored a %r message", message.get("type"))

    async def _announce(self, broadcast_id: int) -> None:
        """Read a staff broadcast once (from the database: the message is only the nudge),
        render it once and hand it to every local socket."""
        people = self._local.people_of(self.function_id)
        news = await database_sync_to_async(broadcasts.news_of)(broadcast_id, people)
        if news is None:
            return
        rendered = fragments.broadcast(news)
        for socket in self.sockets:
            socket.offer_html(rendered.for_person(socket.identity.person))

    async def _push_availability(self, key: str, batch: AvailabilityBatch) -> None:
        for socket in self.sockets:
            socket.offer_availability(batch)


class Hubs:
    """The hubs of one event loop, created with the first socket of a function and
    stopped with its last. Joining and leaving a hub is what puts a socket in, and takes it
    out of, the process's registry of sockets."""

    def __init__(self, local: LocalSockets) -> None:
        self.local = local
        self._hubs: dict[int, FunctionHub] = {}
        self._lock = asyncio.Lock()

    async def join(self, function_id: int, socket: LiveSocket, step: str) -> FunctionHub:
        async with self._lock:
            hub = self._hubs.get(function_id)
            if hub is None:
                hub = FunctionHub(function_id, self.local)
                await hub.start()
                self._hubs[function_id] = hub
            self.local.add(function_id, socket)
        if socket.identity.counted:
            await hub.presence.join(socket.identity.person, step)
        return hub

    async def leave(self, function_id: int, socket: LiveSocket) -> None:
        async with self._lock:
            hub = self._hubs.get(function_id)
            if hub is None:
                return
            self.local.discard(function_id, socket)
            if socket.identity.counted:
                hub.presence.leave(socket.identity.person)
            if not hub.sockets:
                del self._hubs[function_id]
                await hub.stop()


_hubs_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hubs] = (
    weakref.WeakKeyDictionary()
)


def hubs() -> Hubs:
    """The hubs of the running loop: one per server process (tests run a loop each)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs_by_loop:
        _hubs_by_loop[loop] = Hubs(local_sockets())
    return _hubs_by_loop[loop]
