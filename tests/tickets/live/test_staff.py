"""The staff socket of the door and kitchen pages (tickets/live/staff.py), through
Channels' WebsocketCommunicator on the configured channel layer."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from lodgetix.asgi import websocket_app
from tests.support.door import confirmed_individuals, set_needs, tickets_of
from tests.support.factories import make_event, make_ticket_type, staff_user
from tests.support.html import elements_by_id
from tests.support.sockets import HOST, ORIGIN, RECEIVE_TIMEOUT, fragments_until, next_fragments
from tickets.services import checkin, staff_notes
from tickets.signals import attendee_details_changed_on_commit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_loop")]


@database_sync_to_async
def signed_in(*codenames: str) -> str:
    client = Client()
    client.force_login(staff_user(f"staff-{time.monotonic_ns()}", *codenames))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_staff_socket(event_id: int, session_key: str | None, page: str = "door", **kw):
    headers = [kw.get("origin", ORIGIN), HOST]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    communicator = WebsocketCommunicator(
        websocket_app, f"/ws/staff/events/{event_id}/?page={page}", headers=headers
    )
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected


@pytest.fixture
def banquet(db):
    return make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat", capacity=50)


async_confirmed = database_sync_to_async(confirmed_individuals)
async_check_in = database_sync_to_async(checkin.check_in)


def count_of(fragments: dict, event_id: int) -> tuple[int, int]:
    element = fragments[f"checkin-count-{event_id}"]
    return int(element.attrs["data-checked-in"]), int(element.attrs["data-expected"])


async def test_a_check_in_at_one_door_reaches_the_other_within_a_second(banquet):
    registration = await async_confirmed(banquet, "Alan", "Bob")
    ticket = (await database_sync_to_async(tickets_of)(registration))[0]
    north, _ = await open_staff_socket(banquet.event_id, await signed_in("check_in"))
    south, _ = await open_staff_socket(banquet.event_id, await signed_in("check_in"))
    assert count_of(await next_fragments(north), banquet.event_id) == (0, 2)
    await next_fragments(south)

    started = time.monotonic()
    await async_check_in(banquet.event, code=ticket.code, door="North")
    for socket in (north, south):
        message = await socket.receive_from(timeout=RECEIVE_TIMEOUT)
        assert count_of(elements_by_id(message), banquet.event_id) == (1, 2)
        assert 'data-door="North" data-checked-in="1"' in message
    assert time.monotonic() - started < 1.0
    for socket in (north, south):
        await socket.disconnect()


async def test_only_staff_with_the_permission_and_from_this_site(banquet):
    _, anonymous = await open_staff_socket(banquet.event_id, None)
    assert not anonymous
    _, without = await open_staff_socket(banquet.event_id, await signed_in("view_registration"))
    assert not without
    _, chef_at_door = await open_staff_socket(banquet.event_id, await signed_in("view_kitchen"))
    assert not chef_at_door
    key = await signed_in("check_in")
    _, foreign = await open_staff_socket(
        banquet.event_id, key, origin=(b"origin", b"http://evil.example")
    )
    assert not foreign
    _, unknown_event = await open_staff_socket(999_999, key)
    assert not unknown_event


def _rename_needs(registration, position, needs):
    with transaction.atomic():
        set_needs(registration, position, needs)
        attendee_details_changed_on_commit([registration.holds.first().ticket_type.event_id])


async def test_kitchen_follows_needs_and_check_ins_and_never_names(banquet):
    registration = await async_confirmed(banquet, "Alan", "Zebedee", last_name="Quartermaine")
    kitchen, connected = await open_staff_socket(
        banquet.event_id, await signed_in("view_kitchen"), page="kitchen"
    )
    assert connected
    snapshot = await next_fragments(kitchen)
    assert snapshot["dietary-vegetarian"].attrs["data-expected"] == "0"

    await database_sync_to_async(_rename_needs)(registration, 2, ["vegetarian"])
    pushed = await fragments_until(
        kitchen, lambda f: f.get("dietary-vegetarian", None) is not None
        and f["dietary-vegetarian"].attrs["data-expected"] == "1"
    )  # fmt: skip
    assert pushed["dietary-vegetarian"].attrs["data-arrived"] == "0"

    second = (await database_sync_to_async(tickets_of)(registration))[1]
    await async_check_in(banquet.event, code=second.code, door="North")
    arrived = await fragments_until(
        kitchen, lambda f: "dietary-vegetarian" in f
        and f["dietary-vegetarian"].attrs["data-arrived"] == "1"
    )  # fmt: skip
    assert arrived["kitchen-summary"].attrs["data-arrived"] == "1"
    await kitchen.disconnect()


async def test_kitchen_messages_carry_no_names(banquet):
    registration = await async_confirmed(banquet, "Zebedee", last_name="Quartermaine")
    kitchen, _ = await open_staff_socket(
        banquet.event_id, await signed_in("view_kitchen", "see_dietary_names"), page="kitchen"
    )
    messages = [await kitchen.receive_from(timeout=RECEIVE_TIMEOUT)]
    ticket = (await database_sync_to_async(tickets_of)(registration))[0]
    await async_check_in(banquet.event, code=ticket.code, door="North")
    messages.append(await kitchen.receive_from(timeout=RECEIVE_TIMEOUT))
    messages.append(await kitchen.receive_from(timeout=RECEIVE_TIMEOUT))
    for message in messages:
        assert "Zebedee" not in message
        assert "Quartermaine" not in message
    await kitchen.disconnect()


async def test_a_staff_note_reaches_door_and_kitchen(banquet):
    door, _ = await open_staff_socket(banquet.event_id, await signed_in("check_in"))
    await next_fragments(door)
    organiser = await database_sync_to_async(staff_user)("organiser", "send_broadcast")
    await database_sync_to_async(staff_notes.send)(
        banquet.event, "North door closes at 7", sent_by=organiser
    )
    message = await door.receive_from(timeout=RECEIVE_TIMEOUT)
    assert "North door closes at 7" in message
    assert 'hx-swap-oob="afterbegin:#staff-notes"' in message
    await door.disconnect()
