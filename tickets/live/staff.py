"""The staff socket of an event's door and kitchen pages: `/ws/staff/events/<event_id>/`.

Staff only: the handshake is refused (403) without a signed-in user holding
`tickets.check_in` (door) or `tickets.view_kitchen` (kitchen), and, as every socket here,
from another origin (common.origins, in lodgetix.asgi).

The path of a change (docs/design.md §4, §12):

    check-in / naming / (un)confirmation commits ─▶ signal ─▶ StaffPublisher (per process)
        coalesced per event (≤ 5 a second, a lone change at once), counts read once
        ─▶ group `staff.event.<id>` ─▶ each door and kitchen socket of the event

Door pages are few (tens, not thousands), so each socket joins the group itself; no hub.
A door page is sent the counts the publisher read (`checkin-count-<event_id>`, versioned
by the newest check-in's key so an older push never overwrites a newer one); a kitchen page
takes the push as a nudge and re-reads its aggregates, at most twice a second.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from tickets.live import fragments
from tickets.live.group_push import CoalescedGroupPush
from tickets.models import Event, Hold, Registration, StaffNote
from tickets.services import checkin, kitchen
from tickets.signals import RegistrationChange

logger = logging.getLogger(__name__)

STAFF_PUSH_INTERVAL = 0.2
KITCHEN_REREAD_INTERVAL = 0.5
DOOR_PAGE, KITCHEN_PAGE = "door", "kitchen"
PAGE_PERMISSIONS = {DOOR_PAGE: "tickets.check_in", KITCHEN_PAGE: "tickets.view_kitchen"}


def staff_event_group(event_id: int) -> str:
    return f"staff.event.{event_id}"


# --- fragments (no queries: the caller read what they show) --------------------------------


def door_counts_fragment(counts: checkin.DoorCounts) -> str:
    return render_to_string("tickets/staff/partials/door_counts.html", {"c": counts, "oob": True})


def kitchen_fragment(summary: kitchen.KitchenSummary, *, may_see_names: bool) -> str:
    return render_to_string(
        "tickets/staff/partials/kitchen.html",
        {"k": summary, "may_see_names": may_see_names, "oob": True},
    )


def note_fragment(note: StaffNote) -> str:
    return render_to_string("tickets/staff/partials/note.html", {"note": note, "oob": True})


# --- publishing ----------------------------------------------------------------------------


def _door_counts_message(event_id: int) -> dict:
    return {"type": "door.counts", "counts": checkin.counts_of(event_id).as_message()}


class StaffPublisher(CoalescedGroupPush[int]):
    """Reads an event's counts once per push and sends them to its staff group
    (tickets.live.group_push: coalesced per event, on the function publisher's loop)."""

    def __init__(self, interval: float = STAFF_PUSH_INTERVAL) -> None:
        super().__init__(
            interval, read=_door_counts_message, group_of=staff_event_group, what="door counts"
        )

    def event_changed(self, event_id: int) -> None:
        """Called after commit, from any thread; never blocks, never raises."""
        self.changed(event_id)

    def note_sent(self, note: StaffNote) -> None:
        self.send_soon(note.event_id, {"type": "staff.note", "id": note.pk})


staff_publisher = StaffPublisher()


# Signal receivers (connected in TicketsConfig.ready()).


def push_after_check_in(sender: object, *, event_id: int, **kwargs: object) -> None:
    staff_publisher.event_changed(event_id)


def push_after_attendee_change(sender: object, *, event_ids: list[int], **kwargs: object) -> None:
    for event_id in event_ids:
        staff_publisher.event_changed(event_id)


def push_staff_note(sender: object, *, note: StaffNote, **kwargs: object) -> None:
    staff_publisher.note_sent(note)


EXPECTED_CHANGES = {RegistrationChange.CONFIRMED, RegistrationChange.CANCELLED}


def push_after_registration_change(
    sender: object, *, registration: Registration, change: str, **kwargs: object
) -> None:
    """A confirmation or cancellation changes how many each of its events expects. Expiry
    of a pending registration never does (its tickets were never valid); a pay-later one
    that lapses after confirming is rare enough to wait for the next push."""
    if change not in EXPECTED_CHANGES:
        return
    event_ids = (
        Hold.objects.filter(registration_id=registration.pk)
        .values_list("ticket_type__event_id", flat=True)
        .distinct()
    )
    for event_id in list(event_ids):
        staff_publisher.event_changed(event_id)


# --- the socket ----------------------------------------------------------------------------


class StaffEventConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = None
        event_id = self.scope["url_route"]["kwargs"]["event_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        self.page = KITCHEN_PAGE if query.get("page") == [KITCHEN_PAGE] else DOOR_PAGE
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: refused (403)
            return
        allowed = await database_sync_to_async(user.has_perm)(PAGE_PERMISSIONS[self.page])
        self.may_see_names = await database_sync_to_async(user.has_perm)(
            "tickets.see_dietary_names"
        )
        self.event = await database_sync_to_async(Event.objects.filter(pk=event_id).first)()
        if not allowed or self.event is None:
            await self.close()
            return
        self.sent_version = -1
        self.sent_counts: checkin.DoorCounts | None = None
        self._reread = asyncio.Event()
        self.group = staff_event_group(self.event.pk)
        # Join first, then read the snapshot: nothing can fall between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=await self._snapshot())
        self._kitchen_task = (
            asyncio.create_task(self._reread_kitchen_forever())
            if self.page == KITCHEN_PAGE
            else None
        )

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_kitchen_task", None) is not None:
            self._kitchen_task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # pages send keep-alives only; nothing to answer

    async def door_counts(self, message: dict) -> None:
        counts = checkin.DoorCounts.from_message(message["counts"])
        if self.page == KITCHEN_PAGE:
            self._reread.set()
        await self._send_counts(counts)

    async def staff_note(self, message: dict) -> None:
        note = await database_sync_to_async(
            StaffNote.objects.filter(pk=message["id"], event_id=self.event.pk).first
        )()
        if note is not None:
            await self.send(text_data=note_fragment(note))

    async def _send_counts(self, counts: checkin.DoorCounts) -> None:
        if counts.version < self.sent_version or counts == self.sent_counts:
            return
        self.sent_version, self.sent_counts = counts.version, counts
        await self.send(text_data=door_counts_fragment(counts))

    async def _snapshot(self) -> str:
        counts = await database_sync_to_async(checkin.counts_of)(self.event.pk)
        self.sent_version, self.sent_counts = counts.version, counts
        html = fragments.live_indicator(True) + door_counts_fragment(counts)
        if self.page == KITCHEN_PAGE:
            summary = await database_sync_to_async(kitchen.summary_of)(self.event)
            html += kitchen_fragment(summary, may_see_names=self.may_see_names)
        return html

    async def _reread_kitchen_forever(self) -> None:
        while True:
            await self._reread.wait()
            self._reread.clear()
            try:
                summary = await database_sync_to_async(kitchen.summary_of)(self.event)
                await self.send(
                    text_data=kitchen_fragment(summary, may_see_names=self.may_see_names)
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Kitchen page could not re-read its counts", exc_info=True)
            await asyncio.sleep(KITCHEN_REREAD_INTERVAL)
