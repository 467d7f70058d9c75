"""The one WebSocket of a page: `/ws/functions/<slug>/` (docs/design.md §4).

Availability, presence and staff broadcasts of one function share it. On every connect
(first or after a reconnect) the socket joins its function's hub first and only then
reads the snapshot, so no change can fall between the two; pushes carry versions and
anything not newer than what this socket already sent is dropped.

The consumer is thin: it renders fragments (tickets.live.fragments) from what arrives and
leaves every rule to the services.

Bounded (docs/design.md §4.7): a client may send CLIENT_MESSAGES_PER_SECOND messages a
second with a burst of CLIENT_MESSAGE_BURST; past that the socket is closed with 1008
(policy violation), after which htmx does not reconnect. uvicorn refuses frames over its
--ws-max-size and offers no compression (deployment/supervisord.conf).

Redis away (docs/design.md §4.9): a socket whose caps cannot be consulted is accepted and
closed with 1013 "try again later", which the htmx WebSocket extension reconnects after
(with live.js' backoff), so pages come back by themselves when Redis does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from common.buyers import buyer_key_of
from common.client import client_address
from common.failures import REDIS_ERRORS, FailureLog
from presence.store import PresenceCounts
from tickets.live import fragments
from tickets.live.coalesce import AvailabilityBatch, newest_availability
from tickets.live.hub import NOT_LIVE_LABEL, hubs
from tickets.live.registry import SocketIdentity, socket_caps
from tickets.models import Function, Registration
from tickets.services.availability import catalogue_of
from tickets.services.presence_steps import steps_of

logger = logging.getLogger(__name__)

# Pages send nothing we need; anything else a client sends is ignored and counted.
MAX_CLIENT_MESSAGE_BYTES = 4096
ignored_client_messages: Counter[str] = Counter()

# A page sends a keep-alive now and then; ten a second with a burst of twenty is far
# beyond any page and far below what costs the server anything.
CLIENT_MESSAGES_PER_SECOND = 10.0
CLIENT_MESSAGE_BURST = 20

# Close codes of our own (4000-4999 are for applications). htmx does not reconnect after
# them, which is the point: the page says why live updates stopped.
CLOSE_TOO_MANY_TABS = 4001
# Standard codes: htmx reconnects after 1013, not after 1008.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013

_admission_failures = FailureLog(
    logger, "Socket caps cannot reach Redis; refusing new sockets with 1013"
)
_cap_release_failures = FailureLog(logger, "Socket caps cannot reach Redis; entry left to age out")


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; one per client message."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class FunctionConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.hub = None
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.function = await _published_function(slug)
        if self.function is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        session = self.scope.get("session")
        buyer_key = session and buyer_key_of(session)
        # People, not tabs: every socket of one browser session is the same person. A
        # socket without one is nobody in presence: sockets cost a script nothing.
        self.identity = SocketIdentity(
            channel=self.channel_name,
            person=buyer_key or self.channel_name,
            address=client_address(self.scope),
            counted=bool(buyer_key),
        )
        try:
            admission = await socket_caps().admit(self.identity)
        except REDIS_ERRORS as error:
            # Accepted, then closed: a refused handshake would also make the browser
            # retry (as 1006), but 1013 says why, to the page and in the logs.
            _admission_failures.failed(error)
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not admission.admitted:
            await self.close()
            return
        try:
            for channel_name in admission.evict:
                await self.channel_layer.send(channel_name, {"type": "socket.evicted"})
        except Exception as error:  # the layer is away: the old tab stays, no harm done
            _admission_failures.failed(error)
        self.admitted = True
        self.messages = TokenBucket(CLIENT_MESSAGES_PER_SECOND, CLIENT_MESSAGE_BURST)
        self.flooded = False

        self.sent_versions: dict[int, int] = {}
        self.ticket_names: dict[int, str] = {}
        self.states: dict[int, str] = {}
        self.ignored = 0
        self._pending: AvailabilityBatch = {}
        self._pending_presence: PresenceCounts | None = None
        self._pending_html: list[str] = []
        self._wake = asyncio.Event()
        person = self.identity.person
        step = (
            (await database_sync_to_async(steps_of)(self.function.pk, [person]))[person]
            if self.identity.counted
            else Registration.Step.TICKET_SELECTION
        )
        # Joining the hub puts this socket in the process's registry of sockets.
        self.hub = await hubs().join(self.function.pk, self, step)
        await self.accept()
        await self.send(text_data=await self._snapshot())
        self._sender = asyncio.create_task(self._send_pushes())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "_sender"):
            self._sender.cancel()
        if self.hub is not None:
            await hubs().leave(self.function.pk, self)
        if getattr(self, "admitted", False):
            try:
                await socket_caps().leave(self.identity)
            except REDIS_ERRORS as error:  # its entry ages out after SOCKET_TTL
                _cap_release_failures.failed(error)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.flooded:
            return  # closing already; what is still in flight is dropped
        if not self.messages.take():
            self.flooded = True
            self._ignore("flood")
            await self.close(code=CLOSE_POLICY_VIOLATION)
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_CLIENT_MESSAGE_BYTES:
            self._ignore("oversized")
        elif text_data is None:
            self._ignore("binary")
        else:
            try:
                message = json.loads(text_data)
            except ValueError:
                self._ignore("malformed")
            else:
                if not isinstance(message, dict) or message.get("type") != "ping":
                    self._ignore("unknown")
                # {"type": "ping"} is a keep-alive: nothing to answer.

    async def socket_evicted(self, message: dict) -> None:
        await self.close(code=CLOSE_TOO_MANY_TABS)

    # --- pushes from the hub --------------------------------------------------------------

    def offer_availability(self, batch: AvailabilityBatch) -> None:
        """Called by the hub; the socket's own task sends, so a slow client only delays
        itself, and what piles up meanwhile merges into the newest state."""
        self._pending = newest_availability(self._pending, batch)
        self._wake.set()

    def offer_presence(self, counts: PresenceCounts) -> None:
        self._pending_presence = counts
        self._wake.set()

    def offer_html(self, html: str) -> None:
        """Fragments that must all arrive, in order (staff broadcasts)."""
        self._pending_html.append(html)
        self._wake.set()

    async def _send_pushes(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            counts, self._pending_presence = self._pending_presence, None
            extra, self._pending_html = self._pending_html, []
            html = self._availability_html(batch) + "".join(extra)
            if counts is not None:
                html += self._presence_html(counts)
            if html:
                await self.send(text_data=html)

    def _presence_html(self, counts: PresenceCounts) -> str:
        if not self.identity.counted:
            return fragments.presence(counts, None)  # not in the counts: nobody to subtract
        return fragments.presence(counts, self.hub.presence.step_of(self.identity.person))

    def _availability_html(self, batch: AvailabilityBatch) -> str:
        parts = []
        for availability in batch.values():
            ticket_type_id = availability.ticket_type_id
            if ticket_type_id not in self.ticket_names:
                continue  # not on this page (added after it loaded)
            if availability.version <= self.sent_versions[ticket_type_id]:
                continue
            self.sent_versions[ticket_type_id] = availability.version
            parts.append(fragments.availability(availability))
            previous, self.states[ticket_type_id] = self.states[ticket_type_id], availability.state
            if availability.state == "low" and previous == "in_stock":
                name = self.ticket_names[ticket_type_id]
                parts.append(
                    fragments.toast(
                        "low_availability", f"Only {availability.available} left for {name}!"
                    )
                )
        return "".join(parts)

    # --- internals -----------------------------------------------------------------------

    async def _snapshot(self) -> str:
        catalogue = await database_sync_to_async(catalogue_of)(self.function)
        try:
            counts = await self.hub.presence.store.counts(self.function.pk)
        except REDIS_ERRORS:  # the hub's last counts; its next tick says it once
            counts = self.hub.presence.counts
        live = self.hub.live
        parts = [
            fragments.live_indicator(live, None if live else NOT_LIVE_LABEL),
            self._presence_html(counts),
        ]
        for event, offers in catalogue:
            parts.append(fragments.event_status(event))
            for ticket_type, availability in offers:
                self.ticket_names[ticket_type.pk] = ticket_type.name
                self.states[ticket_type.pk] = availability.state
                self.sent_versions[ticket_type.pk] = availability.version
                parts.append(fragments.availability(availability))
        return "".join(parts)

    def _ignore(self, reason: str) -> None:
        self.ignored += 1
        ignored_client_messages[reason] += 1
        logger.debug("Ignored a %s client message on %s", reason, self.channel_name)


@database_sync_to_async
def _published_function(slug: str) -> Function | None:
    return Function.objects.filter(slug=slug, published=True).first()
