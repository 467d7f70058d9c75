"""The socket of a names page: `/ws/registrations/<uuid>/names/` (owners, by the same
ownership rule as the page) and `/ws/tables/<token>/` (anyone with a valid share link).

Thin, like FunctionConsumer: refuse whom the page would refuse; admit through the same
caps; join the registration's room (tickets.live.names) first, then accept and send a
snapshot (live indicator, presence, every seat), so nothing named in between is missed;
then send what the room offers from the socket's own task. Client messages are read as on
function pages: `{"type": "ping"}` only, within the same rate, 1008 past it.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.urls import reverse

from common.failures import REDIS_ERRORS
from presence.store import PresenceCounts
from tickets.live import fragments
from tickets.live.admission import CappedSocket
from tickets.live.names import (
    NAMING_STEP,
    NamesRoom,
    others_than,
    presence_fragment,
    rooms,
    seat_fragment,
)
from tickets.models import Registration, Ticket
from tickets.services import names


class NamesConsumer(CappedSocket, AsyncWebsocketConsumer):
    room: NamesRoom | None = None

    async def connect(self) -> None:
        page = await _page_of(self.scope)
        if page is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.registration, self.post_url = page
        if not await self.admit_socket():
            return
        self._pending_html: list[str] = []
        self._pending_presence: PresenceCounts | None = None
        self._wake = asyncio.Event()
        self.room = await rooms().join(self.registration.pk, self, NAMING_STEP)
        await self.accept()
        await self.send(text_data=await self._snapshot())
        self._sender = asyncio.create_task(self._send_pushes())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "_sender"):
            self._sender.cancel()
        if self.room is not None:
            await rooms().leave(self.registration.pk, self)
        await self.release_socket()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if await self.flooding():
            return
        # Pages send nothing but keep-alives ({"type": "ping"}): whatever arrives within the
        # rate is ignored, past it the socket closes.

    # --- what the room offers (tickets.live.registry.LiveSocket) -----------------------------

    def offer_html(self, html: str) -> None:
        self._pending_html.append(html)
        self._wake.set()

    def offer_presence(self, counts: PresenceCounts) -> None:
        self._pending_presence = counts
        self._wake.set()

    def offer_availability(self, batch: object) -> None:
        """Names pages show no availability."""

    async def _send_pushes(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            html, self._pending_html = "".join(self._pending_html), []
            counts, self._pending_presence = self._pending_presence, None
            if counts is not None:
                html += presence_fragment(others_than(counts, self.identity.counted))
            if html:
                await self.send(text_data=html)

    async def _snapshot(self) -> str:
        seats, editable = await database_sync_to_async(_all_seats)(self.registration)
        try:
            counts = await self.room.presence.store.counts(self.room.scope)
        except REDIS_ERRORS:
            counts = self.room.presence.counts
        parts = [
            fragments.live_indicator(True),
            presence_fragment(others_than(counts, self.identity.counted)),
        ]
        parts += [seat_fragment(t, post_url=self.post_url, editable=editable) for t in seats]
        return "".join(parts)


@database_sync_to_async
def _page_of(scope: dict) -> tuple[Registration, str] | None:
    """The registration this socket may watch and the URL its page posts to, or None."""
    kwargs = scope["url_route"]["kwargs"]
    if "token" in kwargs:
        registration = names.registration_of_share_token(kwargs["token"])
        url = reverse("tickets:table-names", kwargs={"token": kwargs["token"]})
        return (registration, url) if registration is not None else None
    # The page's own ownership rule (it reads only the session), so the two never differ.
    from tickets.views.wizard import owned_registration

    request = SimpleNamespace(session=scope.get("session") or {}, user=scope.get("user"))
    try:
        registration = owned_registration(request, UUID(str(kwargs["pk"])))
    except Http404:
        return None
    if registration.status != Registration.Status.CONFIRMED:
        return None
    return registration, reverse("tickets:registration-names", kwargs={"pk": registration.pk})


def _all_seats(registration: Registration) -> tuple[list[Ticket], bool]:
    seats = [t for group in names.seats_of(registration) for table in group.tables
             for t in table.seats]  # fmt: skip
    return seats, names.names_open(registration.function)
