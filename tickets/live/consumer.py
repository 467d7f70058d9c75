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
from collections import Counter

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from common.failures import REDIS_ERRORS
from presence.store import PresenceCounts
from tickets.live import fragments
from tickets.live.admission import CappedSocket
from tickets.live.coalesce import AvailabilityBatch, newest_availability
from tickets.live.hub import NOT_LIVE_LABEL, hubs
from tickets.models import Function, Registration
from tickets.services import packages
from tickets.services.availability import Catalogue, TicketAvailability, catalogue_of
from tickets.services.presence_steps import steps_of

logger = logging.getLogger(__name__)

# Pages send nothing we need; anything else a client sends is ignored and counted.
MAX_CLIENT_MESSAGE_BYTES = 4096
ignored_client_messages: Counter[str] = Counter()


class FunctionConsumer(CappedSocket, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.hub = None
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.function = await _published_function(slug)
        if self.function is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        if not await self.admit_socket():
            return

        self.sent_versions: dict[int, int] = {}
        self.ticket_names: dict[int, str] = {}
        self.states: dict[int, str] = {}
        # Packages (docs/design.md §15): read once at connect; their badges are computed
        # from the newest ticket type counts this socket has, so a push costs no query.
        self.package_offers: list[packages.PackageOffer] = []
        self.latest: dict[int, TicketAvailability] = {}
        self.package_versions: dict[int, int] = {}
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
        await self.release_socket()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if await self.flooding():
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

    def on_flood(self) -> None:
        self._ignore("flood")

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
            self.latest[ticket_type_id] = availability
            parts.append(fragments.availability(availability))
            previous, self.states[ticket_type_id] = self.states[ticket_type_id], availability.state
            if availability.state == "low" and previous == "in_stock":
                name = self.ticket_names[ticket_type_id]
                parts.append(
                    fragments.toast(
                        "low_availability", f"Only {availability.available} left for {name}!"
                    )
                )
        return "".join(parts) + self._package_html(batch)

    def _package_html(self, batch: AvailabilityBatch) -> str:
        parts = []
        for index in packages.touched_by(self.package_offers, batch):
            offer = self.package_offers[index]
            state = packages.package_availability(offer, self.latest)
            if state.version <= self.package_versions.get(offer.package_id, -1):
                continue
            self.package_versions[offer.package_id] = state.version
            parts.append(fragments.package_availability(state))
        return "".join(parts)

    # --- internals -----------------------------------------------------------------------

    async def _snapshot(self) -> str:
        # One hop to the sync thread for both reads: a reconnect storm queues on that
        # thread, so a second hop per socket would delay every snapshot.
        catalogue, self.package_offers = await _snapshot_reads(self.function)
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
                self.latest[ticket_type.pk] = availability
                parts.append(fragments.availability(availability))
        for offer in self.package_offers:
            state = packages.package_availability(offer, self.latest)
            self.package_versions[offer.package_id] = state.version
            parts.append(fragments.package_availability(state))
        return "".join(parts)

    def _ignore(self, reason: str) -> None:
        self.ignored += 1
        ignored_client_messages[reason] += 1
        logger.debug("Ignored a %s client message on %s", reason, self.channel_name)


@database_sync_to_async
def _snapshot_reads(function: Function) -> tuple[Catalogue, list[packages.PackageOffer]]:
    return catalogue_of(function), packages.offers_of(function)


@database_sync_to_async
def _published_function(slug: str) -> Function | None:
    return Function.objects.filter(slug=slug, published=True).first()
