"""Live sockets across a server restart: closed so that browsers reconnect."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.support.factories import make_function
from tests.support.servers import AsgiServer

# Close codes after which the htmx WebSocket extension reconnects.
RECONNECTING_CLOSE_CODES = {1006, 1011, 1012, 1013}

pytestmark = pytest.mark.django_db(transaction=True)


async def close_code_when_stopped(server: AsgiServer, slug: str) -> int:
    url = server.url.replace("http", "ws", 1) + f"/ws/functions/{slug}/"
    async with websockets.connect(url, origin=server.url) as socket:
        await socket.recv()  # the snapshot: the socket is live
        await asyncio.to_thread(server.stop)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
    frame = closed.value.rcvd
    return frame.code if frame is not None else 1006


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # The production /ws/ server says "service restart".
        ("uvicorn", {1012}),
        # runserver's daphne cannot send 1012 (its WebSocket library refuses the code) and
        # drops the connection, which a browser reads as 1006: it reconnects all the same.
        ("daphne", {1006}),
    ],
)
def test_server_shutdown_closes_sockets_so_pages_reconnect(kind, expected):
    function = make_function()
    server = AsgiServer(kind)
    server.start()
    try:
        code = asyncio.run(close_code_when_stopped(server, function.slug))
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)
    assert code in expected
    assert code in RECONNECTING_CLOSE_CODES
