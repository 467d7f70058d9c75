"""Presence: who else is registering, as counts (docs/design.md §5).

Store tests run on the configured store (Redis in CI's services run); socket tests go
through the live consumer exactly as pages do.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from bench.data import session_store
from common.buyers import BUYER_SESSION_KEY
from presence.store import STEPS, MemoryPresenceStore, PresenceCounts, presence_store
from tests.support.factories import hold, make_event, make_function, make_ticket_type
from tests.support.html import Element, elements_by_id
from tests.support.servers import AsgiServer
from tests.support.sockets import fragments_until, new_session, open_socket
from tickets.live.hub import hubs
from tickets.models import Registration
from tickets.services import registrations as wizard

pytestmark = pytest.mark.django_db(transaction=True)

SETTLE = 8.0  # seconds: a leave grace (1 s) and a tick or two, with room to spare


@pytest.fixture(autouse=True)
def fast_heartbeat(settings):
    settings.PRESENCE_HEARTBEAT = 1  # entries age out after 3 s


def function_id() -> int:
    # Store tests need a function id no other test (or run) uses at the same time.
    return int(time.time() * 1000) % 1_000_000_000


@pytest.mark.usefixtures("live_loop")
class TestStore:
    async def test_counts_people_by_step(self):
        store, fid = presence_store(), function_id()
        await store.touch(fid, {"a": "ticket_selection", "b": "ticket_selection", "c": "review"})
        counts = await store.counts(fid)
        assert counts.total == 3
        assert (counts.at("ticket_selection"), counts.at("review"), counts.at("payment")) == (
            2,
            1,
            0,
        )
        await store.forget(fid, "b")
        assert (await store.counts(fid)).total == 2

    async def test_a_step_change_moves_the_person(self):
        store, fid = presence_store(), function_id()
        await store.touch(fid, {"a": "ticket_selection"})
        await store.touch(fid, {"a": "attendee_details"})
        counts = await store.counts(fid)
        assert counts.total == 1
        assert counts.at("ticket_selection") == 0
        assert counts.at("attendee_details") == 1

    async def test_entries_not_refreshed_age_out(self):
        store, fid = presence_store(), function_id()
        await store.touch(fid, {"ghost": "review"})
        assert (await store.counts(fid)).total == 1
        await asyncio.sleep(3.3)  # three missed one-second heartbeats
        counts = await store.counts(fid)
        assert counts.total == 0
        assert counts.at("review") == 0

    async def test_functions_are_counted_apart(self):
        store, fid = presence_store(), function_id()
        await store.touch(fid, {"a": "review"})
        assert (await store.counts(fid + 1)).total == 0

    def test_memory_store_is_the_embedded_default(self, settings):
        settings.REDIS_URL = ""
        presence_store.cache_clear()
        try:
            assert isinstance(presence_store(), MemoryPresenceStore)
        finally:
            presence_store.cache_clear()

    def test_counts_are_hashable_value_objects(self):
        a = PresenceCounts.of(2, {"review": 1, "payment": 1})
        assert a == PresenceCounts.of(2, {"payment": 1, "review": 1})
        assert hash(a) == hash(PresenceCounts.of(2, {"payment": 1, "review": 1}))


def test_presence_steps_are_the_registration_steps():
    # presence keeps its own copy so that it does not import tickets; they must agree.
    assert tuple(Registration.STEP_ORDER) == STEPS


async def presence_of(socket, predicate) -> Element:
    """The first presence element pushed that satisfies predicate(attrs)."""
    fragments = await fragments_until(
        socket, lambda f: "presence" in f and predicate(f["presence"].attrs), within=SETTLE
    )
    return fragments["presence"]


@pytest.fixture
def function(db):
    function = make_function()
    make_ticket_type(make_event(function))
    return function


@pytest.mark.usefixtures("live_loop")
class TestSockets:
    async def test_two_people_each_see_one_other(self, function):
        alice, _ = await open_socket(function, await new_session("alice"))
        alone = elements_by_id(await alice.receive_from(timeout=5))["presence"]
        assert alone.attrs["data-others"] == "0"
        assert "hidden" in alone.attrs  # nobody else: nothing to say
        bob, _ = await open_socket(function, await new_session("bob"))
        for socket in (alice, bob):
            seen = await presence_of(socket, lambda a: a["data-others"] == "1")
            assert seen.text.startswith("1 other person is registering for this function")
            assert seen.attrs["data-total"] == "2"
            assert "hidden" not in seen.attrs
        await alice.disconnect()
        await bob.disconnect()

    async def test_tabs_of_one_session_count_once(self, function):
        session = await new_session("many-tabs")
        tabs = [(await open_socket(function, session))[0] for _ in range(3)]
        viewer, _ = await open_socket(function, await new_session("viewer"))
        seen = await presence_of(viewer, lambda a: a["data-total"] == "2")
        assert seen.attrs["data-others"] == "1"
        for tab in tabs:
            await tab.disconnect()
        await presence_of(viewer, lambda a: a["data-others"] == "0")
        await viewer.disconnect()

    async def test_step_comes_from_the_registration_not_the_browser(self, function):
        ticket_type = await database_sync_to_async(
            lambda: function.events.get().ticket_types.get()
        )()
        buyer, _ = await open_socket(function, await new_session("buyer"))
        viewer, _ = await open_socket(function, await new_session("viewer"))
        await presence_of(viewer, lambda a: a["data-step-ticket_selection"] == "1")

        @database_sync_to_async
        def move_on():
            registration = hold(ticket_type, 1, buyer="buyer").registration
            wizard.continue_to_attendee_details(registration.pk)

        await move_on()  # the buyer's page does not say so; the heartbeat reads it
        seen = await presence_of(viewer, lambda a: a["data-step-attendee_details"] == "1")
        assert seen.attrs["data-step-ticket_selection"] == "0"
        assert "selecting tickets" not in seen.text
        await buyer.disconnect()
        await viewer.disconnect()

    async def test_leaving_brings_the_count_down(self, function):
        leaver, _ = await open_socket(function, await new_session("leaver"))
        viewer, _ = await open_socket(function, await new_session("viewer"))
        await presence_of(viewer, lambda a: a["data-others"] == "1")
        await leaver.disconnect()
        gone = await presence_of(viewer, lambda a: a["data-others"] == "0")
        assert "hidden" in gone.attrs
        await viewer.disconnect()
        assert hubs()._rooms == {}


@pytest.mark.redis
def test_a_killed_servers_people_disappear_within_a_minute(function, settings):
    settings.PRESENCE_HEARTBEAT = 2  # as the server's, so both agree on the TTL
    server = AsgiServer("uvicorn", extra_env={"PRESENCE_HEARTBEAT": "2"})
    server.start()

    # A person has a session: a socket without one is nobody in presence.
    session = session_store()
    session[BUYER_SESSION_KEY] = "soon-a-ghost"
    session.create()

    async def scenario() -> float:
        import websockets

        url = server.url.replace("http", "ws", 1) + f"/ws/functions/{function.slug}/"
        cookie = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}"}
        socket = await websockets.connect(url, origin=server.url, additional_headers=cookie)
        await socket.recv()
        store = presence_store()
        deadline = time.monotonic() + 10
        while (await store.counts(function.pk)).total != 1:
            assert time.monotonic() < deadline, "the person never showed up"
            await asyncio.sleep(0.1)
        await asyncio.to_thread(server.stop, kill=True)  # SIGKILL: no goodbye
        killed_at = time.monotonic()
        while (await store.counts(function.pk)).total != 0:
            assert time.monotonic() - killed_at < 60, "a ghost outlived the TTL"
            await asyncio.sleep(0.2)
        return time.monotonic() - killed_at

    try:
        took = asyncio.run(scenario())
    finally:
        server.stop()
    assert took < 60
