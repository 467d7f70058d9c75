"""The live socket, through Channels' WebsocketCommunicator on the configured channel
layer: Redis pub/sub in CI's services run, the in-memory layer on the embedded default."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from tests.support.factories import hold, make_event, make_function, make_package, make_ticket_type
from tests.support.html import elements_by_id, elements_with
from tests.support.redis_server import unreachable_redis_url
from tests.support.sockets import (
    RECEIVE_TIMEOUT,
    fragments_until,
    new_session,
    next_fragments,
    nothing_but_presence,
    open_socket,
)
from tickets.live import admission, consumer
from tickets.live.hub import hubs
from tickets.live.registry import socket_caps
from tickets.models import Hold, Registration
from tickets.services import holds

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_loop")]


def version(fragments: dict, ticket_type) -> int:
    return int(fragments[f"availability-{ticket_type.pk}"].attrs["data-version"])


def available(fragments: dict, ticket_type) -> str | None:
    badge = fragments.get(f"availability-{ticket_type.pk}")
    return None if badge is None else badge.attrs["data-available"]


async_hold = database_sync_to_async(hold)


@pytest.fixture
def function_with_two_ticket_types(db):
    function = make_function(low_stock_threshold=10)
    event = make_event(function)
    return function, make_ticket_type(event, capacity=50), make_ticket_type(event, capacity=12)


async def watcher_of(function):
    """A watcher's socket on the function page, its snapshot already read."""
    socket, _ = await open_socket(function, await new_session("watcher"))
    await next_fragments(socket)
    return socket


async def test_snapshot_on_connect(function_with_two_ticket_types):
    function, banquet, brunch = function_with_two_ticket_types
    await async_hold(banquet, 3, buyer="someone")
    socket, connected = await open_socket(function, await new_session("me"))
    assert connected
    snapshot = await next_fragments(socket)
    assert snapshot["live-indicator"].attrs["data-live"] == "true"
    badge = snapshot[f"availability-{banquet.pk}"].attrs
    assert (badge["data-available"], badge["data-reserved"], badge["data-sold"]) == ("47", "3", "0")
    assert badge["data-state"] == "in_stock"
    assert badge["data-version"] == "1"
    assert snapshot[f"availability-{brunch.pk}"].attrs["data-state"] == "in_stock"
    assert f"buy-{brunch.pk}" in snapshot
    assert snapshot[f"event-status-{banquet.event_id}"].attrs["data-status"] == "published"
    # Every fragment is swapped by id, out of band.
    assert all(e.attrs.get("hx-swap-oob") == "true" for e in snapshot.values())
    await socket.disconnect()


async def test_hold_in_another_session_updates_the_page(function_with_two_ticket_types):
    function, banquet, _ = function_with_two_ticket_types
    socket = await watcher_of(function)
    await async_hold(banquet, 5, buyer="buyer")
    update = await next_fragments(socket)
    badge = update[f"availability-{banquet.pk}"]
    assert badge.attrs["data-available"] == "45"
    assert badge.text == "45 available"
    assert version(update, banquet) == 1
    await socket.disconnect()


async def test_versions_never_go_backwards_and_pushes_are_coalesced(
    function_with_two_ticket_types,
):
    function, banquet, _ = function_with_two_ticket_types
    socket = await watcher_of(function)

    @sync_to_async
    def burst():
        for n in range(20):
            hold(banquet, 1, buyer=f"buyer-{n}")

    started = time.monotonic()
    await burst()
    versions, arrivals = [], []
    final = await fragments_until(
        socket,
        lambda f: (
            (versions.append(version(f, banquet)) or arrivals.append(time.monotonic()))
            or versions[-1] == 20
        ),
    )
    assert final[f"availability-{banquet.pk}"].attrs["data-available"] == "30"
    assert versions == sorted(set(versions)), f"versions went backwards or repeated: {versions}"
    # 20 sales, but about four pushes a second reach the viewer.
    elapsed = max(arrivals[-1] - started, 0.001)
    assert len(versions) <= 2 + 4 * elapsed, (len(versions), elapsed)
    assert len(versions) < 20
    await socket.disconnect()


async def test_reconnect_sends_a_fresh_snapshot(function_with_two_ticket_types):
    function, banquet, _ = function_with_two_ticket_types
    session = await new_session("me")
    socket, _ = await open_socket(function, session)
    await next_fragments(socket)
    await socket.disconnect()
    await async_hold(banquet, 7, buyer="while-away")
    socket, _ = await open_socket(function, session)
    snapshot = await next_fragments(socket)
    assert snapshot[f"availability-{banquet.pk}"].attrs["data-available"] == "43"
    await socket.disconnect()


async def test_released_holds_reach_open_pages(function_with_two_ticket_types):
    function, banquet, _ = function_with_two_ticket_types
    created = await async_hold(banquet, 4, buyer="late")
    socket = await watcher_of(function)

    @database_sync_to_async
    def expire_and_sweep():
        past = timezone.now() - datetime.timedelta(seconds=1)
        Registration.objects.filter(pk=created.registration_id).update(expires_at=past)
        Hold.objects.filter(pk=created.pk).update(expires_at=past)
        return holds.release_expired_holds().holds

    assert await expire_and_sweep() == 1
    update = await next_fragments(socket)
    assert update[f"availability-{banquet.pk}"].attrs["data-available"] == "50"
    await socket.disconnect()


async def test_low_availability_toast_arrives_once(function_with_two_ticket_types):
    function, _, brunch = function_with_two_ticket_types  # 12 seats, threshold 10
    socket = await watcher_of(function)
    await async_hold(brunch, 3, buyer="a")
    html = await socket.receive_from(timeout=RECEIVE_TIMEOUT)
    toasts = elements_with(html, "data-kind")
    assert [t.attrs["data-kind"] for t in toasts] == ["low_availability"]
    assert "Only 9 left" in toasts[0].text
    await async_hold(brunch, 1, buyer="b")
    html = await socket.receive_from(timeout=RECEIVE_TIMEOUT)
    assert elements_by_id(html)[f"availability-{brunch.pk}"].attrs["data-available"] == "8"
    assert not elements_with(html, "data-kind")
    await socket.disconnect()


async def test_sold_out_disables_the_button_and_release_enables_it(
    function_with_two_ticket_types,
):
    function, _, brunch = function_with_two_ticket_types
    socket = await watcher_of(function)
    last = await async_hold(brunch, 10, buyer="big")
    await fragments_until(socket, lambda f: f"availability-{brunch.pk}" in f)
    await async_hold(brunch, 2, buyer="last-two")
    sold_out = await fragments_until(
        socket, lambda f: f[f"availability-{brunch.pk}"].attrs["data-state"] == "sold_out"
    )
    assert "disabled" in sold_out[f"buy-{brunch.pk}"].attrs
    assert sold_out[f"availability-{brunch.pk}"].text == "SOLD OUT"
    await database_sync_to_async(holds.cancel_registration)(last.registration_id)
    back = await fragments_until(
        socket, lambda f: f[f"availability-{brunch.pk}"].attrs["data-state"] != "sold_out"
    )
    assert "disabled" not in back[f"buy-{brunch.pk}"].attrs
    await socket.disconnect()


async def test_a_session_keeps_its_ten_newest_sockets(function_with_two_ticket_types):
    function, banquet, _ = function_with_two_ticket_types
    session = await new_session("many-tabs")
    sockets = []
    for _ in range(settings.LIVE_MAX_SOCKETS_PER_SESSION):
        socket, connected = await open_socket(function, session)
        assert connected
        await next_fragments(socket)
        sockets.append(socket)
    newest, connected = await open_socket(function, session)
    assert connected
    closed = await sockets[0].receive_output(timeout=RECEIVE_TIMEOUT)
    assert closed == {"type": "websocket.close", "code": admission.CLOSE_TOO_MANY_TABS}
    # The other ten stay open: each still gets the next hold. (Awaiting that, not
    # silence: a presence push may legitimately arrive meanwhile, a close may not.)
    await async_hold(banquet, 1, buyer="someone-else")
    survivors = [*sockets[1:], newest]
    for socket in survivors:
        await fragments_until(socket, lambda f: available(f, banquet) == "49")
    for socket in survivors:
        await socket.disconnect()


async def test_an_address_over_its_cap_is_refused(function_with_two_ticket_types, settings):
    settings.LIVE_MAX_SOCKETS_PER_IP = 2
    socket_caps.cache_clear()
    function, _, _ = function_with_two_ticket_types
    client = ("203.0.113.9", 5000)
    first, ok1 = await open_socket(function, await new_session("a"), client=client)
    second, ok2 = await open_socket(function, await new_session("b"), client=client)
    _third, ok3 = await open_socket(function, await new_session("c"), client=client)
    elsewhere, ok4 = await open_socket(function, await new_session("d"), client=("198.51.100.1", 1))
    assert (ok1, ok2, ok3, ok4) == (True, True, False, True)
    await first.disconnect()
    again, ok5 = await open_socket(function, await new_session("c"), client=client)
    assert ok5, "a slot freed by a closed socket can be used again"
    for socket in (second, elsewhere, again):
        await socket.disconnect()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"text_data": "x" * 5000}, "oversized"),
        ({"text_data": "{not json"}, "malformed"),
        ({"text_data": json.dumps(["ping"])}, "unknown"),
        ({"text_data": json.dumps({"type": "buy", "ticket_type": 1})}, "unknown"),
        ({"bytes_data": b"\x00\x01"}, "binary"),
    ],
)
async def test_bad_client_messages_are_ignored_and_counted(
    function_with_two_ticket_types, payload, reason
):
    function, banquet, _ = function_with_two_ticket_types
    socket, _ = await open_socket(function, await new_session("me"))
    await next_fragments(socket)
    before = consumer.ignored_client_messages[reason]
    if "text_data" in payload:
        await socket.send_to(text_data=payload["text_data"])
    else:
        await socket.send_to(bytes_data=payload["bytes_data"])
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert await socket.receive_nothing(timeout=0.2)
    assert consumer.ignored_client_messages[reason] == before + 1
    await async_hold(banquet, 1, buyer="someone")  # the socket still works
    assert f"availability-{banquet.pk}" in await next_fragments(socket)
    await socket.disconnect()


async def test_unknown_or_unpublished_function_is_refused(db):
    hidden = await database_sync_to_async(make_function)(published=False)
    _, connected = await open_socket(hidden)
    assert not connected


async def test_foreign_origin_is_refused(function_with_two_ticket_types):
    function, _, _ = function_with_two_ticket_types
    _, connected = await open_socket(function, origin=(b"origin", b"https://evil.example"))
    assert not connected


@pytest.mark.parametrize(
    "origin",
    [
        b"https://127.0.0.1",  # another scheme of this host
        b"http://127.0.0.1:8080",  # another port of this host
        b"null",  # a sandboxed frame or a file
    ],
)
async def test_another_scheme_or_port_of_this_host_is_refused(
    function_with_two_ticket_types, origin
):
    function, _, _ = function_with_two_ticket_types
    _, connected = await open_socket(function, origin=(b"origin", origin))
    assert not connected


async def test_a_socket_without_an_origin_is_refused(function_with_two_ticket_types):
    function, _, _ = function_with_two_ticket_types
    _, connected = await open_socket(function, origin=(b"user-agent", b"a script"))
    assert not connected


async def test_changes_of_another_function_do_not_arrive(function_with_two_ticket_types):
    function, _, _ = function_with_two_ticket_types
    other = await database_sync_to_async(make_ticket_type)(capacity=5)
    socket = await watcher_of(function)
    await async_hold(other, 1, buyer="elsewhere")
    assert await nothing_but_presence(socket, within=0.5)
    await socket.disconnect()


async def test_sockets_of_a_function_share_one_hub_that_stops_with_the_last(
    function_with_two_ticket_types,
):
    function, banquet, _ = function_with_two_ticket_types
    first, _ = await open_socket(function, await new_session("a"))
    second, _ = await open_socket(function, await new_session("b"))
    await next_fragments(first)
    await next_fragments(second)
    assert list(hubs()._rooms) == [function.pk]
    assert len(hubs()._rooms[function.pk].sockets) == 2
    await async_hold(banquet, 1, buyer="c")
    for socket in (first, second):
        assert f"availability-{banquet.pk}" in await next_fragments(socket)
    await first.disconnect()
    await second.disconnect()
    assert hubs()._rooms == {}


async def test_sockets_without_a_session_are_not_counted_as_people(settings, db):
    # A script can open any number of session-less sockets: they must not inflate
    # "N other people".
    settings.PRESENCE_HEARTBEAT = 1
    function = await database_sync_to_async(make_function)()
    await database_sync_to_async(make_ticket_type)(
        await database_sync_to_async(make_event)(function)
    )
    viewer, _ = await open_socket(function, await new_session("viewer"))
    anonymous = [(await open_socket(function))[0] for _ in range(5)]
    # A real person joining is seen: counts are flowing, and the five anonymous sockets
    # added nobody.
    other, _ = await open_socket(function, await new_session("other"))
    seen = await fragments_until(
        viewer,
        lambda f: "presence" in f and f["presence"].attrs["data-total"] == "2",
        within=8.0,
    )
    assert seen["presence"].attrs["data-others"] == "1"

    # An anonymous socket sees the two people, none of them itself.
    watcher, _ = await open_socket(function)
    snapshot = elements_by_id(await watcher.receive_from(timeout=5))["presence"]
    assert (snapshot.attrs["data-total"], snapshot.attrs["data-others"]) == ("2", "2")
    for socket in (viewer, other, watcher, *anonymous):
        await socket.disconnect()


async def test_a_flooding_socket_is_closed_with_a_policy_violation(
    function_with_two_ticket_types,
):
    function, _, _ = function_with_two_ticket_types
    socket, _ = await open_socket(function, await new_session("me"))
    await next_fragments(socket)
    for _ in range(admission.CLIENT_MESSAGE_BURST):  # a burst is fine
        await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert await socket.receive_nothing(timeout=0.2)
    for _ in range(admission.CLIENT_MESSAGE_BURST):  # a flood is not
        await socket.send_to(text_data=json.dumps({"type": "ping"}))
    closed = await socket.receive_output(timeout=RECEIVE_TIMEOUT)
    assert closed == {"type": "websocket.close", "code": admission.CLOSE_POLICY_VIOLATION}


async def test_with_redis_stopped_a_new_socket_is_told_to_try_again_later(
    function_with_two_ticket_types, settings
):
    """Admission cannot consult the caps: accepted and closed with 1013, which htmx's
    WebSocket extension reconnects after; never an error."""
    function, _, _ = function_with_two_ticket_types
    settings.REDIS_URL = unreachable_redis_url()
    socket_caps.cache_clear()
    socket, connected = await open_socket(function, await new_session("me"))
    assert connected
    closed = await socket.receive_output(timeout=RECEIVE_TIMEOUT)
    assert closed == {"type": "websocket.close", "code": admission.CLOSE_TRY_AGAIN_LATER}


# --- packages (docs/design.md §15) ---------------------------------------------------------


async def test_a_package_badge_moves_when_an_item_sells_out_from_single_sales(db):
    @database_sync_to_async
    def function_with_a_package():
        function = make_function()
        ceremony = make_ticket_type(make_event(function), capacity=20)
        banquet = make_ticket_type(make_event(function), capacity=6)
        return function, banquet, make_package([(ceremony, 1), (banquet, 2)])

    function, banquet, package = await function_with_a_package()
    socket, _ = await open_socket(function, await new_session("watcher"))
    snapshot = await next_fragments(socket)
    badge = f"package-availability-{package.pk}"
    assert snapshot[badge].attrs["data-available"] == "3"  # min(20 // 1, 6 // 2)
    assert "disabled" not in snapshot[f"buy-package-{package.pk}"].attrs

    await async_hold(banquet, 1, buyer="a")  # 5 banquet seats: two packages
    moved = await fragments_until(socket, lambda f: badge in f)
    assert moved[badge].attrs["data-available"] == "2"
    await async_hold(banquet, 5, buyer="b")  # the banquet sells out on its own
    sold_out = await fragments_until(
        socket, lambda f: badge in f and f[badge].attrs["data-state"] == "sold_out"
    )
    assert sold_out[badge].attrs["data-available"] == "0"
    assert sold_out[badge].text == "SOLD OUT"
    assert "disabled" in sold_out[f"buy-package-{package.pk}"].attrs
    assert int(sold_out[badge].attrs["data-version"]) > int(moved[badge].attrs["data-version"])
    await socket.disconnect()
