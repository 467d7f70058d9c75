"""The names page socket (docs/design.md §11), through Channels' WebsocketCommunicator on
the configured channel layer: Redis pub/sub in the services run, in-memory otherwise."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from lodgetix.asgi import websocket_app
from tests.support import factories
from tests.support.html import elements_by_id
from tests.support.sockets import HOST, ORIGIN, RECEIVE_TIMEOUT, fragments_until, new_session
from tickets.models import Attendee, Registration, Ticket
from tickets.services import names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_loop")]


@database_sync_to_async
def shared_lodge() -> tuple[Registration, list[Ticket]]:
    tt = factories.make_ticket_type(capacity=100)
    registration = factories.confirm(
        tt, 1, buyer="secretary", registration_type=Registration.Type.LODGE
    )
    registration = names.create_share_link(registration.pk)
    return registration, list(Ticket.objects.filter(hold__registration=registration).order_by("pk"))


@database_sync_to_async
def name(registration: Registration, ticket: Ticket, first_name: str) -> Ticket:
    details = names.SeatDetails(
        first_name=first_name, last_name="Lovelace", attendee_type=Attendee.Type.GUEST
    )
    return names.name_seat(registration.pk, ticket.pk, ticket.version, details)


async def open_names(path: str, session_key: str | None):
    headers = [ORIGIN, HOST]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    communicator = WebsocketCommunicator(websocket_app, path, headers=headers)
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected


def owner_path(registration: Registration) -> str:
    return f"/ws/registrations/{registration.pk}/names/"


def share_path(registration: Registration) -> str:
    return f"/ws/tables/{names.share_token(registration)}/"


async def snapshot_of(communicator) -> dict:
    return elements_by_id(await communicator.receive_from(timeout=RECEIVE_TIMEOUT))


async def test_naming_pushes_the_seat_to_every_open_page():
    registration, tickets = await shared_lodge()
    owner, connected = await open_names(owner_path(registration), await new_session("secretary"))
    assert connected
    guest, connected = await open_names(share_path(registration), await new_session("brother"))
    assert connected
    for socket in (owner, guest):
        snapshot = await snapshot_of(socket)
        assert snapshot["live-indicator"].attrs["data-live"] == "true"
        assert snapshot[f"seat-{tickets[0].pk}"].attrs["data-named"] == "false"
    await name(registration, tickets[0], "Ada")
    for socket, path in ((owner, owner_path(registration)), (guest, share_path(registration))):
        text = await raw_until(socket, f'id="seat-{tickets[0].pk}"')
        seat = elements_by_id(text)[f"seat-{tickets[0].pk}"]
        assert (seat.attrs["data-named"], seat.attrs["data-version"]) == ("true", "1")
        assert seat.attrs["hx-swap-oob"] == "true"
        assert "Ada Lovelace" in seat.text
        # Each page's form posts where that page does, with the new version.
        assert f'action="{path.removeprefix("/ws")}"' in text
        assert elements_by_id(text)[f"seat-{tickets[0].pk}-version"].attrs["value"] == "1"
    await owner.disconnect()
    await guest.disconnect()


async def raw_until(socket, needle: str) -> str:
    while True:
        text = await socket.receive_from(timeout=RECEIVE_TIMEOUT)
        if needle in text:
            return text


async def test_presence_counts_the_others_filling_in():
    registration, _ = await shared_lodge()
    owner, _ = await open_names(owner_path(registration), await new_session("secretary"))
    first = await snapshot_of(owner)
    assert first["names-presence"].attrs["data-others"] == "0"
    guest, _ = await open_names(share_path(registration), await new_session("brother"))
    guest_snapshot = await snapshot_of(guest)
    assert guest_snapshot["names-presence"].attrs["data-others"] == "1"
    seen = await fragments_until(
        owner, lambda f: f.get("names-presence") and f["names-presence"].attrs["data-others"] == "1"
    )
    assert "1 person filling in this table" in seen["names-presence"].text
    await guest.disconnect()
    await fragments_until(
        owner, lambda f: f.get("names-presence") and f["names-presence"].attrs["data-others"] == "0"
    )
    await owner.disconnect()


async def test_two_tabs_of_one_person_are_one_person():
    registration, _ = await shared_lodge()
    session = await new_session("secretary")
    one, _ = await open_names(owner_path(registration), session)
    await snapshot_of(one)
    two, _ = await open_names(owner_path(registration), session)
    assert (await snapshot_of(two))["names-presence"].attrs["data-others"] == "0"
    await one.disconnect()
    await two.disconnect()


async def test_someone_else_cannot_watch_the_owners_page():
    registration, _ = await shared_lodge()
    _, connected = await open_names(owner_path(registration), await new_session("stranger"))
    assert not connected


async def test_a_revoked_share_link_opens_no_socket():
    registration, _ = await shared_lodge()
    path = share_path(registration)
    await database_sync_to_async(names.revoke_share_link)(registration.pk)
    _, connected = await open_names(path, await new_session("brother"))
    assert not connected
