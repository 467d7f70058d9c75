"""uvicorn as deployment/supervisord.conf runs it: a compressed-frame bomb and a message
flood leave its memory where it was, and the flooding socket is closed.

The server is AsgiServer("uvicorn"), whose --ws-* flags are read from supervisord.conf
(bench.processes.production_ws_flags): this tests the flags production runs with.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import socket
import struct
import zlib
from pathlib import Path

import pytest
import websockets

from bench.processes import HOST, production_ws_flags
from tests.support.factories import make_event, make_function, make_ticket_type
from tests.support.servers import AsgiServer
from tickets.live import admission, consumer

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1 << 20
# The acceptance line: within 50 MB of where it started.
RSS_BOUND = 50 * MB
# 2 GiB of zeros deflates to about 2 MB: what took uvicorn from 125 MB to 1.2 GB.
BOMB_INFLATED = 2048 * MB


def test_production_frames_are_small_and_uncompressed():
    flags = production_ws_flags()
    max_size = int(flags[flags.index("--ws-max-size") + 1])
    # Near what the app reads (it ignores client messages over 4 KB), far from 16 MiB.
    assert consumer.MAX_CLIENT_MESSAGE_BYTES < max_size <= 16 * 1024
    assert flags[flags.index("--ws-per-message-deflate") + 1] == "false"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@functools.cache
def deflate_bomb() -> bytes:
    """permessage-deflate's payload for BOMB_INFLATED zeros (raw deflate, sync-flushed,
    with the final 00 00 ff ff left off as RFC 7692 says)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(16 * MB)
    parts = [compressor.compress(chunk) for _ in range(BOMB_INFLATED // len(chunk))]
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(parts)[:-4]


def frame(payload: bytes, *, compressed: bool) -> bytes:
    """A masked client text frame; RSV1 marks it compressed. A zero mask key leaves the
    payload as it is (valid, and no 2 MB XOR in Python)."""
    first = 0x80 | (0x40 if compressed else 0) | 0x1
    return bytes([first, 0x80 | 127]) + struct.pack("!Q", len(payload)) + bytes(4) + payload


def send_bomb(port: int, path: str, origin: str) -> tuple[str, bytes]:
    """Offer permessage-deflate, then send the bomb; the handshake response and whatever
    the server sent back before it closed."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(4096)
        head, _, rest = response.partition(b"\r\n\r\n")
        with contextlib.suppress(OSError):  # refused part way: the point
            sock.sendall(frame(deflate_bomb(), compressed=True))
        received = rest
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            pass
    return head.decode(), received


def close_code_of(data: bytes) -> int | None:
    """The code of the close frame among the server's (unmasked) frames in `data`."""
    while len(data) >= 2:
        opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        payload, data = data[offset : offset + length], data[offset + length :]
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
    return None


async def flood(url: str, origin: str) -> int:
    """Pings as fast as they go; the close code the server sent."""
    async with websockets.connect(url, origin=origin, compression=None) as ws:
        await ws.recv()  # the snapshot
        try:
            for _ in range(10_000):
                await ws.send('{"type": "ping"}')
            await asyncio.wait_for(ws.recv(), timeout=10)
            while True:
                await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006
    raise AssertionError("the flooding socket was never closed")


def test_a_frame_bomb_and_a_flood_leave_uvicorn_memory_alone_and_close_the_flooder():
    function = make_function()
    make_ticket_type(make_event(function))
    path = f"/ws/functions/{function.slug}/"
    deflate_bomb()  # built before measuring: it is the client's cost, not the server's
    with AsgiServer("uvicorn") as server:
        before = rss(server.pid)
        head, after_bomb = send_bomb(server.port, path, server.url)
        assert head.startswith("HTTP/1.1 101")
        assert "permessage-deflate" not in head.lower()  # compression is not on offer
        # Closed before inflating a byte: 1002 protocol error (RSV1 without the
        # extension) or 1009 message too big.
        bomb_code = close_code_of(after_bomb)
        assert bomb_code in {1002, 1009}
        code = asyncio.run(flood(server.url.replace("http", "ws", 1) + path, server.url))
        after = rss(server.pid)
        assert server.running
    print(f"uvicorn RSS {before / MB:.1f} MB before, {after / MB:.1f} MB after; "
          f"bomb closed with {bomb_code}, flood with {code}")  # fmt: skip
    assert code == admission.CLOSE_POLICY_VIOLATION
    assert after - before < RSS_BOUND
