"""The entry page's socket: `/ws/waitlist/<uuid>/` (design §13).

The function socket, with the entry on top: it joins the function's hub like any page
(availability, presence, broadcasts arrive as they do everywhere), and when a push brings
a new version of the entry's ticket type - every join, leave and offer bumps it - it
re-reads the entry's place and status and sends the `waitlist-entry` fragment, with the
`waitlist_offer` toast when an offer has just arrived. So nothing new travels over the
channel layer: the entry's uuid (its secret) never leaves this process, and a change to a
queue costs each open entry page one small read, at most four a second (the hub's
coalescing).
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


class WaitlistEntryConsumer(FunctionConsumer):
    async def connect(self) -> None:
        self.hub = None
        self._entry_task: asyncio.Task | None = None
        self._entry_stale = False
        entry = await _owned_entry(self.scope)
        if entry is None:
            await self.close()  # someone else's entry does not exist
            return
        self.entry_id = entry.pk
        self.entry_ticket_type_id = entry.ticket_type_id
        self.entry_status = entry.status
        self.scope["url_route"]["kwargs"]["slug"] = entry.ticket_type.event.function.slug
        await super().connect()
        if self.hub is not None:
            # After the snapshot: the page's own element, fresh.
            self.offer_html(await database_sync_to_async(self._entry_html)())

    async def disconnect(self, code: int) -> None:
        if self._entry_task is not None:
            self._entry_task.cancel()
        await super().disconnect(code)

    def offer_availability(self, batch: AvailabilityBatch) -> None:
        super().offer_availability(batch)
        if self.entry_ticket_type_id in batch:
            self._refresh_entry()

    def _refresh_entry(self) -> None:
        if self._entry_task is not None and not self._entry_task.done():
            self._entry_stale = True  # read once more when the current read is done
            return
        self._entry_task = asyncio.create_task(self._read_entry())

    async def _read_entry(self) -> None:
        while True:
            self._entry_stale = False
            try:
                html = await database_sync_to_async(self._entry_html)()
            except Exception:
                logger.exception("Could not read waiting-list entry %s", self.entry_id)
                return
            self.offer_html(html)
            if not self._entry_stale:
                return

    def _entry_html(self) -> str:
        entry = waitlist.entry_of_pk(self.entry_id)
        state = waitlist.state_of(entry)
        html = fragments.waitlist_entry(state)
        if entry.status == WaitlistEntry.Status.OFFERED and self.entry_status != entry.status:
            html += fragments.waitlist_offer_toast(state)
        self.entry_status = entry.status
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
