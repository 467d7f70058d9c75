"""The entry page's socket: `/ws/waitlist/<uuid>/` (design §13).

The function socket, with the entry on top: it joins the function's hub like any page
(availability, presence, broadcasts arrive as they do everywhere), and when a push brings
a new version of the entry's ticket type - every join, leave and offer bumps it - it
sends the `waitlist-entry` fragment with its new place, and the `waitlist_offer` toast
when an offer has just arrived. So nothing new travels over the channel layer: the entry's
uuid (its secret) never leaves this process.

Cost: the queue is read once per version per server process (`QueueReads`, one query for
every open entry of the ticket type), not once per open page: with 200 entry pages open a
per-page read queued 200 reads on asgiref's one sync thread, and the entry being offered
waited behind the others (p99 1.4 s in `bench waitlist`).
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from common.buyers import buyer_key_of
from tickets.live import fragments
from tickets.live.coalesce import AvailabilityBatch
from tickets.live.consumer import FunctionConsumer
from tickets.models import WaitlistEntry
from tickets.services import waitlist

logger = logging.getLogger(__name__)

# The session key views.waitlist records entries opened from their mail link under.
SESSION_KEY = "lodgetix_waitlist_entries"


class QueueReads:
    """One read of a ticket type's queue per version, shared by every entry page of this
    process that needs it (the loop's own object: used only from the event loop)."""

    KEEP = 64

    def __init__(self) -> None:
        self._reads: dict[tuple[int, int, int], asyncio.Task] = {}

    def snapshot(self, ticket_type_id: int, version: int) -> asyncio.Task:
        # Keyed by loop too: tests run one loop each, servers one for their life.
        key = (id(asyncio.get_running_loop()), ticket_type_id, version)
        read = self._reads.get(key)
        if read is None:
            read = asyncio.ensure_future(
                database_sync_to_async(waitlist.queue_snapshot)(ticket_type_id)
            )
            self._reads[key] = read
            while len(self._reads) > self.KEEP:
                self._reads.pop(next(iter(self._reads)))
        return read


queue_reads = QueueReads()


class WaitlistEntryConsumer(FunctionConsumer):
    async def connect(self) -> None:
        self.hub = None
        self._entry_task: asyncio.Task | None = None
        self._entry_version: int | None = None
        entry = await _owned_entry(self.scope)
        if entry is None:
            await self.close()  # someone else's entry does not exist
            return
        self.entry = entry
        self.scope["url_route"]["kwargs"]["slug"] = entry.ticket_type.event.function.slug
        await super().connect()
        if self.hub is not None:
            # After the snapshot: the page's own element, fresh.
            state = await database_sync_to_async(waitlist.state_of)(entry)
            self.offer_html(fragments.waitlist_entry(state))

    async def disconnect(self, code: int) -> None:
        if self._entry_task is not None:
            self._entry_task.cancel()
        await super().disconnect(code)

    def offer_availability(self, batch: AvailabilityBatch) -> None:
        super().offer_availability(batch)
        availability = batch.get(self.entry.ticket_type_id)
        if availability is None:
            return
        if self._entry_version is not None and availability.version <= self._entry_version:
            return
        self._entry_version = availability.version
        if self._entry_task is None or self._entry_task.done():
            self._entry_task = asyncio.create_task(self._send_entry())

    async def _send_entry(self) -> None:
        """Send the entry's state at the newest version seen; once more if a newer one
        arrived meanwhile."""
        sent = None
        while sent != self._entry_version:
            sent = self._entry_version
            try:
                html = await self._entry_html(sent)
            except Exception:
                logger.exception("Could not read waiting-list entry %s", self.entry.pk)
                return
            self.offer_html(html)

    async def _entry_html(self, version: int) -> str:
        snapshot = await queue_reads.snapshot(self.entry.ticket_type_id, version)
        place = snapshot.places.get(self.entry.pk)
        was = self.entry.status
        if place is None:  # no longer open (accepted, lapsed, removed): read it once
            self.entry = await database_sync_to_async(waitlist.entry_of_pk)(self.entry.pk)
            state = await database_sync_to_async(waitlist.state_of)(self.entry)
        else:
            self.entry.status, self.entry.lapses_at = place.status, place.lapses_at
            state = waitlist.EntryState(self.entry, place.position, snapshot.waiting)
        html = fragments.waitlist_entry(state)
        if self.entry.status == WaitlistEntry.Status.OFFERED and was != self.entry.status:
            html += fragments.waitlist_offer_toast(state)
        return html


@database_sync_to_async
def _owned_entry(scope) -> WaitlistEntry | None:
    uuid = scope["url_route"]["kwargs"]["uuid"]
    entry = (
        WaitlistEntry.objects.select_related("ticket_type__event__function")
        .filter(uuid=uuid, ticket_type__event__function__published=True)
        .first()
    )
    session = scope.get("session")
    if entry is None or session is None:
        return None
    buyer_key = buyer_key_of(session)
    if (buyer_key and entry.buyer_key == buyer_key) or str(entry.uuid) in session.get(
        SESSION_KEY, []
    ):
        return entry
    return None
