"""A lean HTTP/1.1 client for load generation: one keep-alive connection, bytes in, status
and body out; and the live socket a page opens (`open_live_socket`).

Why not httpx: measured on the 2-core bench machine, httpx spent 4.7 ms of CPU per request
(cookie jar, header models, decoding) - CPU taken from the server it was measuring, on the
same cores. This client spends a fraction of that, so the figures describe the server.
It speaks just enough HTTP/1.1 for a benchmark against our own server: Content-Length or
chunked bodies, keep-alive, and a reconnect when the server closes the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import websockets
from websockets.asyncio.client import ClientConnection


class WireError(Exception):
    """The server's answer was not HTTP/1.1 as this client understands it."""


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: dict[str, str]  # lower-cased names; the last of repeated headers wins
    body: bytes
    # Every Set-Cookie header, as sent: a page sets the CSRF and session cookies together,
    # and `headers` would keep only the last.
    set_cookies: tuple[str, ...] = ()

    def cookies(self) -> dict[str, str]:
        """The name=value of each cookie set (attributes dropped)."""
        pairs = (header.split(";", 1)[0].partition("=") for header in self.set_cookies)
        return {name.strip(): value.strip() for name, _, value in pairs}


class KeepAliveClient:
    """One connection to one host, reused for every request (as a browser tab does)."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host:port URLs are supported, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.authority = parts.netloc
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post_form(
        self, path: str, fields: dict[str, object], headers: dict[str, str]
    ) -> WireResponse:
        body = urlencode(fields).encode()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.authority}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        return await asyncio.wait_for(self._exchange(request), self.timeout)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> WireResponse:
        head = [
            f"GET {path} HTTP/1.1",
            f"Host: {self.authority}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode()
        return await asyncio.wait_for(self._exchange(request), self.timeout)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def _exchange(self, request: bytes) -> WireResponse:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(request)
        await self._writer.drain()
        response, keep_alive = await self._read_response(self._reader)
        if not keep_alive:
            await self.close()
        return response

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader) -> tuple[WireResponse, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            raise WireError("connection closed before a response") from error
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise WireError(f"not an HTTP/1.x response: {status_line!r}")
        headers = {}
        set_cookies = []
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
                if name.strip().lower() == "set-cookie":
                    set_cookies.append(value.strip())
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        keep_alive = headers.get("connection", "").lower() != "close"
        status = int(rest.split(" ", 1)[0])
        return WireResponse(status, headers, body, tuple(set_cookies)), keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our servers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def open_live_socket(
    base_url: str, path: str, *, cookie: str | None = None, max_size: int = 2**20
) -> ClientConnection:
    """A page's live socket to our server at `base_url` (http://host:port), as a browser
    opens it: our own Origin, the page's cookie header. Without compression, so the
    client's CPU is not spent inflating what it measures, and with a 60 s opening timeout,
    because a bench opens hundreds at once."""
    return await websockets.connect(
        base_url.replace("http", "ws", 1) + path,
        origin=base_url,
        additional_headers={"Cookie": cookie} if cookie else None,
        max_size=max_size,
        open_timeout=60,
        compression=None,
    )
