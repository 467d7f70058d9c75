"""The staff dashboard's socket (tickets/live/dashboard.py), through Channels'
WebsocketCommunicator on the configured channel layer (Redis in the services run)."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lodgetix.asgi import websocket_app
from tests.support import factories
from tests.support.dashboard import many_registrations
from tests.support.door import tickets_of
from tests.support.sockets import (
    HOST,
    ORIGIN,
    RECEIVE_TIMEOUT,
    fragments_until,
    new_session,
    next_fragments,
    open_socket,
)
from tickets.live import dashboard as live_dashboard
from tickets.models import Registration
from tickets.services import broadcasts, checkin, dashboard
from tickets.services import registrations as wizard

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_loop")]

# Every figure is at most a second behind the database (docs/design.md §14).
WITHIN = 1.0


async def committed(change, *args, **kwargs) -> tuple[object, float]:
    """Runs the change off the loop; returns its result and when it had committed.

    The clock starts at the commit, not before the call: "behind the database" is counted
    from when the database has the change, and a loaded machine's slow hold is not lag.
    """

    def run() -> tuple[object, float]:
        result = change(*args, **kwargs)
        return result, time.monotonic()

    return await database_sync_to_async(run)()


@database_sync_to_async
def signed_in(*codenames: str, superuser: bool = False) -> str:
    user = factories.staff_user(f"staff-{time.monotonic_ns()}", *codenames)
    if superuser:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_dashboard(slug: str, session_key: str | None, *, origin=ORIGIN):
    headers = [origin, HOST]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    communicator = WebsocketCommunicator(
        websocket_app, f"/ws/staff/functions/{slug}/", headers=headers
    )
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected


@pytest.fixture(autouse=True)
def nothing_remembered():
    """Ids come round again after a flush (SQLite): no lookups from an earlier test."""
    live_dashboard._function_of_event.forget()
    live_dashboard._function_of_ticket_type.forget()


@pytest.fixture
def banquet(db):
    return factories.make_ticket_type(factories.make_event(name="Banquet"), name="Seat", capacity=6)


def figures_of(fragments: dict, ticket_type) -> dict[str, str]:
    element = fragments[f"dash-ticket-type-{ticket_type.pk}"]
    return {k: element.attrs[f"data-{k}"] for k in ("sold", "held", "available", "waiting")}


async def until_figures(socket, ticket_type, started: float, **expected: str) -> dict:
    """The push whose ticket type shows `expected`, within WITHIN of `started` (a commit)."""
    pushed = await fragments_until(
        socket,
        lambda f: (
            f"dash-ticket-type-{ticket_type.pk}" in f
            and all(figures_of(f, ticket_type)[k] == v for k, v in expected.items())
        ),
    )
    assert time.monotonic() - started < WITHIN
    return pushed


async def test_staff_get_the_snapshot_then_every_kind_of_change(banquet):
    socket, connected = await open_dashboard(
        banquet.event.function.slug, await signed_in("view_dashboard")
    )
    assert connected
    snapshot = await next_fragments(socket)
    assert snapshot["live-indicator"].attrs["data-live"] == "true"
    assert figures_of(snapshot, banquet) == {
        "sold": "0", "held": "0", "available": "6", "waiting": "0"
    }  # fmt: skip
    assert snapshot["dash-revenue"].attrs["data-confirmed"] == "0.00"
    assert snapshot["dash-presence"].attrs["data-step-ticket_selection"] == "0"
    assert snapshot["dash-sales-chart"].tag == "svg"

    # A hold.
    line, started = await committed(factories.hold, banquet, 2, buyer="held")
    await until_figures(socket, banquet, started, held="2", available="4")

    # A confirmation (paid): sold, money in, the chart has its bar.
    def confirm_paid():
        factories.reach_payment(
            line.registration,
            [factories.attendee("Alan", banquet), factories.attendee("Bob", banquet)],
        )
        return wizard.confirm_registration(
            line.registration_id, payment_method="card", payment_status="paid"
        )

    registration, started = await committed(confirm_paid)
    pushed = await until_figures(socket, banquet, started, sold="2", held="0")
    assert pushed["dash-revenue"].attrs["data-confirmed"] == "200.00"
    assert pushed["dash-sales"].attrs["data-sold-last-hour"] == "2"

    # A check-in.
    ticket = (await database_sync_to_async(tickets_of)(registration))[0]
    _, started = await committed(checkin.check_in, banquet.event, code=ticket.code, door="North")
    pushed = await fragments_until(
        socket,
        lambda f: (
            f"dash-check-in-{banquet.event_id}" in f
            and f[f"dash-check-in-{banquet.event_id}"].attrs["data-checked-in"] == "1"
        ),
    )
    assert time.monotonic() - started < WITHIN
    assert pushed[f"dash-check-in-{banquet.event_id}"].attrs["data-expected"] == "2"

    # A waiting-list join, once the rest is held.
    await database_sync_to_async(factories.hold)(banquet, 4, buyer="rest")
    _, started = await committed(factories.waiters, banquet, 1)
    await until_figures(socket, banquet, started, waiting="1", available="0")
    await socket.disconnect()


async def test_a_broadcast_and_a_payment_reach_the_dashboard(banquet):
    registration = await database_sync_to_async(factories.confirm)(banquet, 1)
    socket, _ = await open_dashboard(banquet.event.function.slug, await signed_in(superuser=True))
    snapshot = await next_fragments(socket)
    assert snapshot["dash-revenue"].attrs["data-outstanding"] == "100.00"
    organiser = await database_sync_to_async(factories.staff_user)("organiser")
    await database_sync_to_async(broadcasts.send_message)(
        banquet.event.function, "Doors open at six", sent_by=organiser
    )
    pushed = await fragments_until(
        socket,
        lambda f: "dash-broadcasts" in f and f["dash-broadcasts"].attrs["data-count"] == "1",
    )
    assert "Doors open at six" in str(pushed["dash-broadcasts"].children)

    def mark_paid():
        wizard.mark_paid(Registration.objects.filter(pk=registration.pk), marked_by=organiser)

    await database_sync_to_async(mark_paid)()
    pushed = await fragments_until(
        socket,
        lambda f: "dash-revenue" in f and f["dash-revenue"].attrs["data-confirmed"] != "0.00",
    )
    assert pushed["dash-revenue"].attrs["data-confirmed"] == "100.00"
    assert pushed["dash-revenue"].attrs["data-outstanding"] == "0.00"
    await socket.disconnect()


async def test_people_registering_now_are_counted_by_step(banquet, settings):
    settings.PRESENCE_HEARTBEAT = 1
    socket, _ = await open_dashboard(banquet.event.function.slug, await signed_in("view_dashboard"))
    await next_fragments(socket)
    buyer, _ = await open_socket(banquet.event.function, await new_session("a-buyer"))
    seen = await fragments_until(
        socket,
        lambda f: "dash-presence" in f and f["dash-presence"].attrs["data-total"] == "1",
        within=4.0,
    )
    assert seen["dash-presence"].attrs["data-step-ticket_selection"] == "1"
    await buyer.disconnect()
    await socket.disconnect()


async def test_only_staff_who_may_view_it_and_from_this_site(banquet):
    slug = banquet.event.function.slug
    _, anonymous = await open_dashboard(slug, None)
    assert not anonymous
    _, door_staff = await open_dashboard(slug, await signed_in("check_in", "view_kitchen"))
    assert not door_staff
    key = await signed_in("view_dashboard")
    _, foreign = await open_dashboard(slug, key, origin=(b"origin", b"http://evil.example"))
    assert not foreign
    _, no_origin = await open_dashboard(slug, key, origin=(b"x-nothing", b""))
    assert not no_origin
    _, unknown = await open_dashboard("no-such-function", key)
    assert not unknown
    allowed, connected = await open_dashboard(slug, key)
    assert connected
    await allowed.disconnect()


async def test_changes_of_another_function_do_not_arrive(banquet):
    other = await database_sync_to_async(factories.make_ticket_type)()
    socket, _ = await open_dashboard(banquet.event.function.slug, await signed_in("view_dashboard"))
    await next_fragments(socket)
    await database_sync_to_async(factories.hold)(other, 1)
    assert await socket.receive_nothing(timeout=1.0)
    await socket.disconnect()


async def test_an_older_push_never_overwrites_a_newer_one(banquet):
    socket, _ = await open_dashboard(banquet.event.function.slug, await signed_in("view_dashboard"))
    await next_fragments(socket)
    group = live_dashboard.dashboard_group(banquet.event.function_id)
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send(
        group, {"type": "dashboard.figures", "version": 1, "html": "<p id='stale'></p>"}
    )
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


# --- cost --------------------------------------------------------------------------------


def _push_queries(function_id: int) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        message = live_dashboard._figures_message(function_id)
    return len(queries), message


@pytest.mark.django_db
def test_a_push_costs_the_same_queries_at_10_and_10000_registrations():
    """What a push reads and renders, for every dashboard of the function at once."""
    counted = {}
    for count in (10, 10_000):
        ticket_type = factories.make_ticket_type(capacity=20_000)
        many_registrations(ticket_type, count)
        live_dashboard.mark_watched(ticket_type.event.function_id)
        queries, message = _push_queries(ticket_type.event.function_id)
        assert f'id="dash-ticket-type-{ticket_type.pk}"' in message["html"]
        counted[count] = queries
    assert counted == {10: dashboard.QUERIES, 10_000: dashboard.QUERIES}


@pytest.mark.django_db
def test_nobody_watching_costs_no_query():
    function_id = factories.make_ticket_type().event.function_id
    # Never cache.clear(): on Redis that empties the whole shared database.
    cache.delete(live_dashboard._watch_key(function_id))  # an id reused after a flush
    assert _push_queries(function_id) == (0, None)
