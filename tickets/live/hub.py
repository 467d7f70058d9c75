"""One subscription per function per server process, fanned out to its local sockets.

Measured with `manage.py bench fanout` (BENCHMARKS.md): when each of 2,000 sockets joined
the function's channel layer group itself, every change cost 2,000 layer deliveries,
2,000 Channels dispatches and 2,000 coalescing timers, and one core could not keep up.
A hub receives each group message once, coalesces once (at most one push per interval
per function), renders once (fragments are cached per version) and hands the result to
each local socket; what a socket then costs is one wake-up and one write.

Each socket sends from its own task and merges what arrives while it is busy, so a slow
client delays only itself and still ends on the newest state.

Losing the layer (docs/design.md §4.9). A pub/sub subscription fails silently: while
Redis is away the layer's receive just waits, and channels-redis reconnects and
re-subscribes by itself when Redis returns, dropping whatever was published meanwhile.
So the hub probes its own subscription: every PROBE_INTERVAL it sends a message to its
own channel through the layer and expects it back within PROBE_TIMEOUT. A probe that
fails (or a subscription that could not be made) tells every socket of the hub "not live";
the first probe that comes back again re-reads the current state from the database and
the presence store and pushes it to every socket with "live", so changes made during the
outage reach every viewer within a probe interval of the layer's return.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from common.aio import spawn
from common.failures import FailureLog
from presence.local import FunctionPresence
from presence.store import heartbeat_interval, presence_store
from tickets.live import fragments
from tickets.live.coalesce import AvailabilityBatch, Coalescer, newest_availability
from tickets.live.publisher import PUSH_INTERVAL, function_group
from tickets.live.registry import LiveSocket, LocalSockets, Rooms, local_sockets, per_loop
from tickets.models import Function
from tickets.services import broadcasts
from tickets.services.availability import Catalogue, TicketAvailability, catalogue_of
from tickets.services.presence_steps import steps_of

logger = logging.getLogger(__name__)

# Presence counts reach pages at most about once a second per function (docs/design.md §5).
PRESENCE_INTERVAL = 1.0
# How often a hub checks that its subscription delivers, and how long a probe may take
# (above REDIS_SOCKET_TIMEOUT's default, so one slow publish is not an outage). Together
# they bound how stale a page can be without saying so: about two seconds.
PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 1.5
PROBE = "hub.probe"

NOT_LIVE_LABEL = "Not live: reconnecting…"


class FunctionHub:
    """Fans out to the function's sockets in `local` (this process's registry of sockets):
    the hub keeps no set of its own."""

    def __init__(self, function_id: int, local: LocalSockets) -> None:
        self.function_id = function_id
        self.scope = function_id  # its sockets' key in LocalSockets
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
        # Whether the subscription delivers (as far as the last probe knows). Sockets
        # joining a hub that is not live say so in their snapshot.
        self.live = False
        self._subscribed = False
        self._probes_sent = 0
        self._probe_returned = asyncio.Event()
        self._layer_failures = FailureLog(
            logger, f"Live hub of function {function_id} cannot reach its channel layer"
        )
        self._presence_failures = FailureLog(
            logger, f"Presence of function {function_id} could not be counted"
        )

    @property
    def sockets(self) -> list[LiveSocket]:
        return self._local.of_function(self.function_id)

    async def start(self) -> None:
        """Never raises for a layer that is away: the hub then starts not live, keeps its
        sockets and subscribes when the layer answers (see _watch_forever)."""
        self.live = await self._subscribe()
        self._tasks = [
            asyncio.create_task(self._receive_forever()),
            asyncio.create_task(self._count_presence_forever()),
            asyncio.create_task(self._watch_forever()),
        ]

    async def stop(self) -> None:
        self._availability.cancel()
        for task in self._tasks:
            task.cancel()
        if self._subscribed:
            try:
                await self._layer.group_discard(self.group, self._channel)
            except Exception as error:
                self._layer_failures.failed(error)
        await self.presence.forget_everyone()

    async def _subscribe(self) -> bool:
        try:
            if self._channel is None:
                self._channel = await self._layer.new_channel()
            await self._layer.group_add(self.group, self._channel)
        except Exception as error:
            self._layer_failures.failed(error)
            return False
        self._subscribed = True
        return True

    async def _watch_forever(self) -> None:
        """Probe the subscription; tell the sockets when it stops and when it is back."""
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            if not self._subscribed:
                delivers = await self._subscribe() and await self._probe()
            else:
                delivers = await self._probe()
            if delivers and not self.live:
                self.live = True
                logger.info("Live hub of function %s has its layer back", self.function_id)
                await self._resync()
            elif not delivers and self.live:
                self.live = False
                for socket in self.sockets:
                    socket.offer_html(fragments.live_indicator(False, NOT_LIVE_LABEL))

    async def _probe(self) -> bool:
        """Whether a message sent through the layer to this hub's own channel comes back."""
        self._probes_sent += 1
        self._probe_returned.clear()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self._layer.send(self._channel, {"type": PROBE, "n": self._probes_sent})
                await self._probe_returned.wait()
        except Exception as error:  # the layer raised, or the probe never came back
            self._layer_failures.failed(error)
            return False
        return True

    async def _resync(self) -> None:
        """Push the current state to every socket: what changed while the layer was away
        was published into the void. Versions make it harmless where nothing did."""
        try:
            catalogue = await database_sync_to_async(_catalogue)(self.function_id)
            await self.presence.heartbeat()  # a restarted Redis has forgotten everyone
            counts = await self.presence.store.counts(self.function_id)
        except Exception:
            logger.warning("Live hub of function %s could not re-read its state; it heals "
                           "on the next push", self.function_id, exc_info=True)  # fmt: skip
            catalogue, counts = None, None
        html = fragments.live_indicator(True)
        batch: AvailabilityBatch = {}
        if catalogue is not None:
            html += "".join(fragments.event_status(event) for event, _ in catalogue)
            batch = {a.ticket_type_id: a for _, offers in catalogue for _, a in offers}
        if counts is not None:
            self.presence.counts = counts
        for socket in self.sockets:
            if batch:
                socket.offer_availability(batch)
            socket.offer_html(html)
            if counts is not None:
                socket.offer_presence(counts)

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
            except Exception as error:  # Redis away: once per 10 s, not every second
                self._presence_failures.failed(error)
                continue
            if counts is not None:
                for socket in self.sockets:
                    socket.offer_presence(counts)

    async def _receive_forever(self) -> None:
        while True:
            if self._channel is None:  # not subscribed yet: the watcher retries
                await asyncio.sleep(PROBE_INTERVAL)
                continue
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # The watcher's probe tells the sockets; here only wait and listen again.
                self._layer_failures.failed(error)
                await asyncio.sleep(PROBE_INTERVAL)
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict) -> None:
        if message.get("type") == PROBE:
            if message.get("n") == self._probes_sent:  # not a late one from before
                self._probe_returned.set()
        elif message.get("type") == "availability.changed":
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


def _catalogue(function_id: int) -> Catalogue:
    return catalogue_of(Function(pk=function_id))


class Hubs(Rooms[int, FunctionHub]):
    """The hubs of one event loop, created with the first socket of a function and
    stopped with its last. Joining and leaving a hub is what puts a socket in, and takes it
    out of, the process's registry of sockets."""

    def __init__(self, local: LocalSockets) -> None:
        super().__init__(local, FunctionHub)


_hubs_of_loop = per_loop(lambda: Hubs(local_sockets()))


def hubs() -> Hubs:
    """The hubs of the running loop: one per server process (tests run a loop each)."""
    return _hubs_of_loop()
