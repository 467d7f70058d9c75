"""The entry page's socket: its place and an offer arrive without a reload (design §13)."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from lodgetix.asgi import websocket_app
from tests.support.factories import hold, make_ticket_type, staff_user, waiters
from tests.support.html import elements_by_id, elements_with
from tests.support.sockets import (
    HOST,
    ORIGIN,
    RECEIVE_TIMEOUT,
    fragments_until,
    new_session,
    open_socket,
)
from tickets.services import holds, waitlist

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_loop")]


async def open_entry_socket(entry, session_key):
    headers = [ORIGIN, HOST, (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode())]
    communicator = WebsocketCommunicator(
        websocket_app, f"/ws/waitlist/{entry.uuid}/", headers=headers
    )
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected


@database_sync_to_async
def sold_out_with_queue(count: int):
    ticket_type = make_ticket_type(capacity=1)
    holder = hold(ticket_type, 1, buyer="holder").registration
    return ticket_type, holder, waiters(ticket_type, count, with_buyer_keys=True)


def entry_of(fragments):
    return fragments.get("waitlist-entry")


async def test_the_place_moves_up_and_the_offer_arrives_live():
    _, holder, (first, second) = await sold_out_with_queue(2)
    socket, connected = await open_entry_socket(second, await new_session("waiter-1"))
    assert connected
    snapshot = await fragments_until(socket, entry_of)
    assert snapshot["waitlist-entry"].attrs["data-position"] == "2"
    assert snapshot["waitlist-entry"].attrs["data-waiting"] == "2"

    await database_sync_to_async(holds.cancel_registration)(holder.pk)  # first is offered
    moved = await fragments_until(
        socket, lambda f: entry_of(f) and entry_of(f).attrs["data-position"] == "1"
    )
    assert moved["waitlist-entry"].attrs["data-waiting"] == "1"

    await database_sync_to_async(waitlist.leave)(first.uuid)  # its seat passes to second
    html = await message_until(socket, 'data-status="offered"')
    offered = elements_by_id(html)
    assert "waitlist-claim" in offered  # the page's own button
    toast = next(e for e in elements_with(html, "data-kind") if e.tag == "div")
    assert toast.attrs["data-kind"] == "waitlist_offer"
    claim = f"/waitlist/{second.uuid}/claim/"
    assert f'href="{claim}"' in html  # the toast's button into the wizard
    await socket.disconnect()


async def message_until(socket, text: str, within: float = RECEIVE_TIMEOUT) -> str:
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no message with {text!r} arrived"
        html = await socket.receive_from(timeout=remaining)
        if text in html:
            return html


async def test_someone_elses_entry_refuses_the_socket():
    _, _, (entry,) = await sold_out_with_queue(1)
    _, connected = await open_entry_socket(entry, await new_session("stranger"))
    assert not connected


async def test_viewers_are_told_when_a_list_closes_and_the_badge_stops_offering_to_join():
    ticket_type, _, _ = await sold_out_with_queue(1)
    staff = await database_sync_to_async(staff_user)("closer", "manage_waitlist")
    viewer, _ = await open_socket(ticket_type.event.function, await new_session("viewer"))
    snapshot = await viewer.receive_from(timeout=RECEIVE_TIMEOUT)
    assert "Join the waiting list" in snapshot

    await database_sync_to_async(waitlist.set_list_closed)(ticket_type.pk, True, changed_by=staff)
    # Two pushes, in either order: the broadcast's toast and the new availability.
    first = await viewer.receive_from(timeout=RECEIVE_TIMEOUT)
    both = first
    if not ('data-kind="waitlist"' in both and f'id="availability-{ticket_type.pk}"' in both):
        both += await viewer.receive_from(timeout=RECEIVE_TIMEOUT)
    assert "is closed: nobody new can join" in both
    assert f'id="availability-{ticket_type.pk}"' in both
    assert "Join the waiting list" not in both
    await viewer.disconnect()
