"""Sockets without a session are nobody in presence (tickets/live/consumer.py): a script
can open any number of them, so they must not inflate "N other people"."""

from __future__ import annotations

import pytest

from tests.factories import make_event, make_function, make_ticket_type
from tests.html import elements_by_id
from tests.sockets import fragments_until, new_session, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

SETTLE = 8.0


@pytest.fixture(autouse=True)
def fast_heartbeat(settings):
    settings.PRESENCE_HEARTBEAT = 1


@pytest.fixture
def function(db):
    function = make_function()
    make_ticket_type(make_event(function))
    return function


@pytest.mark.usefixtures("live_loop")
async def test_sockets_without_a_session_are_not_counted_as_people(function):
    viewer, _ = await open_socket(function, await new_session("viewer"))
    anonymous = [(await open_socket(function))[0] for _ in range(5)]
    # A real person joining is seen: counts are flowing, and the five anonymous sockets
    # added nobody.
    other, _ = await open_socket(function, await new_session("other"))
    seen = await fragments_until(
        viewer,
        lambda f: "presence" in f and f["presence"].attrs["data-total"] == "2",
        within=SETTLE,
    )
    assert seen["presence"].attrs["data-others"] == "1"

    # An anonymous socket sees the two people, none of them itself.
    watcher, _ = await open_socket(function)
    snapshot = elements_by_id(await watcher.receive_from(timeout=5))["presence"]
    assert (snapshot.attrs["data-total"], snapshot.attrs["data-others"]) == ("2", "2")
    for socket in (viewer, other, watcher, *anonymous):
        await socket.disconnect()
