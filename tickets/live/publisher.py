"""From a committed change to the function's channel layer group (docs/design.md §4).

Domain signals (tickets.signals, sent after commit) reach `push_availability` and
`push_broadcast` below, connected in TicketsConfig.ready(); they hand the change to the
process's LivePublisher. There is one channel layer group per function
(`function_group`), shared by every page of it; each server process's hub of the function
is its one member there.

`publish_availability` is called from `transaction.on_commit` callbacks in any thread. It
never blocks the caller and never raises: the message is handed to an event loop and sent
from there, so a slow or absent Redis costs the sale nothing and is only logged.

Which loop: in the ASGI server process, the server's own (bound at startup by
`bind_publisher_to_server_loop`, a task of lodgetix.asgi's ServerProcess) - the in-memory
channel layer of the embedded default is only safe to use from the loop its consumers run
on. Anywhere else (WSGI workers, the sweeper command,
tests) the publisher starts a private loop in a daemon thread on first use; those
processes only ever reach sockets through Redis.

Pushes are coalesced per function (tickets.live.coalesce): a burst of sales becomes at
most one group message per function per interval, carrying the newest state of every
ticket type that changed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer

from common.aio import spawn
from tickets.live.coalesce import AvailabilityBatch, Coalescer, newest_availability
from tickets.services.availability import TicketAvailability

if TYPE_CHECKING:
    from tickets.models import Broadcast

logger = logging.getLogger(__name__)

# Four pushes a second per function: fast enough to feel live, slow enough that 2,000
# viewers during a rush cost 8,000 socket writes a second rather than one per sale each.
PUSH_INTERVAL = 0.25
# One warning per this many seconds while the channel layer is failing, not one per sale.
FAILURE_LOG_INTERVAL = 10.0


def function_group(function_id: int) -> str:
    """The channel layer group of a function: one per function, shared by all its pages."""
    return f"function.{function_id}"


class LivePublisher:
    def __init__(self, interval: float = PUSH_INTERVAL) -> None:
        self.interval = interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._coalescer: Coalescer[int, AvailabilityBatch] | None = None
        self._lock = threading.Lock()
        self._last_failure_log = 0.0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish from `loop` from now on (the ASGI server's, or a test's)."""
        with self._lock:
            self._loop = loop
            self._coalescer = None  # created on the loop, at the first publish

    def unbind(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._loop is loop:
                self._loop = None
                self._coalescer = None

    def publish_availability(
        self, function_id: int, availabilities: Iterable[TicketAvailability]
    ) -> None:
        batch = {a.ticket_type_id: a for a in availabilities}
        if not batch:
            return
        try:
            self._running_loop().call_soon_threadsafe(self._offer, function_id, batch)
        except RuntimeError:  # the loop closed under us (process shutting down)
            logger.warning("Live publisher loop is closed; dropped an availability push")

    def publish_broadcast(self, function_id: int, message: dict) -> None:
        """A staff broadcast: rare and never coalesced (each one is shown)."""
        try:
            self._running_loop().call_soon_threadsafe(self._send_soon, function_id, message)
        except RuntimeError:
            logger.warning("Live publisher loop is closed; dropped a staff broadcast")

    def publish_to_group(self, group: str, message: dict) -> None:
        """A message for a group other than a function's (a names page's): rare, never
        coalesced, sent from the same loop as every other push."""
        try:
            self._running_loop().call_soon_threadsafe(
                lambda: spawn(self._send_to_group(group, message))
            )
        except RuntimeError:
            logger.warning("Live publisher loop is closed; dropped a %r push", message["type"])

    def _send_soon(self, function_id: int, message: dict) -> None:
        spawn(self._group_send(function_id, message))

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = _start_private_loop()
                self._coalescer = None
            return self._loop

    def _offer(self, function_id: int, batch: AvailabilityBatch) -> None:
        if self._coalescer is None:
            self._coalescer = Coalescer(self.interval, self._send, newest_availability)
        self._coalescer.offer(function_id, batch)

    async def _send(self, function_id: int, batch: AvailabilityBatch) -> None:
        message = {
            "type": "availability.changed",
            "availabilities": [a.as_message() for a in batch.values()],
        }
        await self._group_send(function_id, message)

    async def _group_send(self, function_id: int, message: dict) -> None:
        await self._send_to_group(function_group(function_id), message)

    async def _send_to_group(self, group: str, message: dict) -> None:
        try:
            await get_channel_layer().group_send(group, message)
        except Exception:
            now = time.monotonic()
            if now - self._last_failure_log >= FAILURE_LOG_INTERVAL:
                self._last_failure_log = now
                logger.warning(
                    "Could not reach the channel layer; live pages heal on their next push "
                    "or reconnect",
                    exc_info=True,
                )


def _start_private_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
    thread.start()
    return loop


publisher = LivePublisher()


async def bind_publisher_to_server_loop() -> None:
    """Publish from the loop the consumers live on (required by the in-memory layer).

    A task of the ASGI server process (lodgetix.asgi). On shutdown there is nothing of
    ours to do: uvicorn (the production /ws/ server) closes every socket with 1012
    "service restart"; daphne (runserver on the embedded default) drops them without a
    close frame - its WebSocket library refuses to send 1012 - which browsers report as
    1006. The htmx WebSocket extension reconnects after either.
    """
    publisher.bind(asyncio.get_running_loop())


# --- domain signals -> live pushes (connected in TicketsConfig.ready()) -------------------


def push_availability(
    sender: object, *, function_id: int, availabilities: list[TicketAvailability], **kwargs: object
) -> None:
    publisher.publish_availability(function_id, availabilities)


def push_broadcast(sender: object, *, broadcast: Broadcast, **kwargs: object) -> None:
    publisher.publish_broadcast(
        broadcast.function_id,
        {
            "type": "staff.broadcast",
            "id": broadcast.pk,
            "kind": broadcast.kind,
            "event_id": broadcast.event_id,
        },
    )
