"""The live socket of a names page (docs/design.md §11): `/ws/registrations/<uuid>/names/`
for owners and `/ws/tables/<token>/` for share-link holders.

Seats fill as they are named, on every open page of the registration, and each viewer
sees how many others are filling in with them. The pieces are the function pages' own
(docs/design.md §4-5), keyed by the registration instead of the function:

- after commit, `seat_named` (tickets.signals) reaches `push_seats_named`, which hands
  the message to the process's LivePublisher (its loop, its failure logging);
- one channel layer group per registration (`names_group`); each server process has one
  `NamesRoom` per registration with open pages, the group's one member from that
  process. It reads the named seats once per message and hands every local socket the
  fragment for its page (the owner's and the share link's forms post to different URLs);
- sockets are admitted by the same caps (`socket_caps`) and kept in the same registry of
  local sockets (`local_sockets`, under `names_scope`), so the heartbeat refreshes them;
- presence is `presence.local.FunctionPresence` over the same store, under
  `names_scope`: people (the session's buyer key), not tabs; counts only, nothing
  personal; a one-second grace on leave; entries of a dead process age out.

A names page has a handful of viewers, so pushes are not coalesced: each naming is one
message and one fragment per seat it changed. Seat fragments carry `data-version` and the
snapshot on every (re)connect heals whatever a page missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from uuid import UUID

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from common.aio import spawn
from common.failures import FailureLog
from presence.local import FunctionPresence
from presence.store import PresenceCounts, heartbeat_interval, presence_store
from tickets.live.hub import PRESENCE_INTERVAL
from tickets.live.publisher import publisher
from tickets.live.registry import LiveSocket, LocalSockets, Rooms, local_sockets, per_loop
from tickets.models import Registration, Ticket
from tickets.services import names

logger = logging.getLogger(__name__)

SEATS_NAMED = "seats.named"
# What presence is told everyone on a names page is doing (a step it knows).
NAMING_STEP = Registration.Step.CONFIRMATION.value


def names_group(registration_id: UUID) -> str:
    """The channel layer group of a registration's names pages."""
    return f"names.{registration_id.hex}"


def names_scope(registration_id: UUID) -> str:
    """Where a names page's sockets and people are kept, in the registry of local sockets
    and in the presence store: beside the function ids, never equal to one."""
    return f"names:{registration_id.hex}"


# --- fragments ----------------------------------------------------------------------------


def seat_fragment(ticket: Ticket, *, post_url: str, editable: bool) -> str:
    """The seat as the page shows it, swapped out of band (no CSRF input: the page's htmx
    sends the token as a header). Renders without a query: `ticket` has its attendee."""
    from tickets.forms import SeatForm  # forms import services; keep the live path light

    context = {
        "ticket": ticket,
        "form": SeatForm.of_seat(ticket),
        "post_url": post_url,
        "editable": editable,
        "oob": True,
    }
    return render_to_string("tickets/names/seat.html", context)


def presence_fragment(others: int) -> str:
    return render_to_string("tickets/names/presence.html", {"others": others, "oob": True})


def others_than(counts: PresenceCounts, counted: bool) -> int:
    """Everyone on the page but the viewer (who is in the counts when counted)."""
    return max(0, counts.total - (1 if counted else 0))


# --- from commit to the group ---------------------------------------------------------------


def push_seats_named(
    sender: object, *, registration_id: UUID, ticket_ids: list[int], **kwargs: object
) -> None:
    """Receiver of tickets.signals.seat_named (sent after commit)."""
    publisher.publish_to_group(
        names_group(registration_id), {"type": SEATS_NAMED, "ticket_ids": list(ticket_ids)}
    )


# --- one room per registration per server process -------------------------------------------


class NamesRoom:
    """Fans out to the names pages of one registration this process holds."""

    def __init__(self, registration_id: UUID, local: LocalSockets) -> None:
        self.registration_id = registration_id
        self.scope = names_scope(registration_id)
        self.group = names_group(registration_id)
        self._local = local
        self._layer = get_channel_layer()
        self._channel: str | None = None
        self.presence = FunctionPresence(
            self.scope,  # type: ignore[arg-type]  # a key of the store, like a function id
            presence_store(),
            steps_of=_everyone_naming,
            holds=lambda person: local.holds_person(self.scope, person),  # type: ignore[arg-type]
        )
        self._tasks: list[asyncio.Task] = []
        self._failures = FailureLog(
            logger, f"Names page of registration {registration_id} cannot reach its layer"
        )

    @property
    def sockets(self) -> list[LiveSocket]:
        return self._local.of_function(self.scope)  # type: ignore[arg-type]

    async def start(self) -> None:
        try:
            self._channel = await self._layer.new_channel()
            await self._layer.group_add(self.group, self._channel)
        except Exception as error:  # pages still load and heal on their next connect
            self._failures.failed(error)
            self._channel = None
        self._tasks = [asyncio.create_task(self._count_presence_forever())]
        if self._channel is not None:
            self._tasks.append(asyncio.create_task(self._receive_forever()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._channel is not None:
            try:
                await self._layer.group_discard(self.group, self._channel)
            except Exception as error:
                self._failures.failed(error)
        await self.presence.forget_everyone()

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._failures.failed(error)
                await asyncio.sleep(PRESENCE_INTERVAL)
                continue
            if message.get("type") == SEATS_NAMED:
                spawn(self._announce(message["ticket_ids"]))
            else:
                logger.warning("Names room ignored a %r message", message.get("type"))

    async def _announce(self, ticket_ids: list[int]) -> None:
        seats, editable = await database_sync_to_async(_seats)(self.registration_id, ticket_ids)
        rendered: dict[str, str] = {}  # per page kind: their forms post to different URLs
        for socket in self.sockets:
            url = socket.post_url
            if url not in rendered:
                rendered[url] = "".join(
                    seat_fragment(t, post_url=url, editable=editable) for t in seats
                )
            socket.offer_html(rendered[url])

    async def _count_presence_forever(self) -> None:
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
            except Exception as error:  # Redis away: the last counts stay shown
                self._failures.failed(error)
                continue
            if counts is not None:
                for socket in self.sockets:
                    socket.offer_presence(counts)


async def _everyone_naming(scope: str, people: list[str]) -> dict[str, str]:
    return dict.fromkeys(people, NAMING_STEP)


def _seats(registration_id: UUID, ticket_ids: list[int]) -> tuple[list[Ticket], bool]:
    registration = Registration.objects.select_related("function").get(pk=registration_id)
    seats = list(
        Ticket.objects.filter(pk__in=ticket_ids, hold__registration=registration)
        .select_related("hold__ticket_type__event", "attendee")
        .order_by("pk")
    )
    return seats, names.names_open(registration.function)


class NamesRooms(Rooms[UUID, NamesRoom]):
    """The rooms of one event loop, created with a registration's first names socket and
    stopped with its last (as tickets.live.hub.Hubs does for functions)."""

    def __init__(self, local: LocalSockets) -> None:
        super().__init__(local, NamesRoom)


_rooms_of_loop = per_loop(lambda: NamesRooms(local_sockets()))


def rooms() -> NamesRooms:
    """The names rooms of the running loop."""
    return _rooms_of_loop()
