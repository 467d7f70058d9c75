"""Helpers for tests that open the live socket through Channels' WebsocketCommunicator."""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from bench.data import session_store
from common.buyers import BUYER_SESSION_KEY
from lodgetix.asgi import websocket_app
from tests.support.html import elements_by_id

ORIGIN = (b"origin", b"http://127.0.0.1")
# What a browser sends with it: the socket's own host (the scope's scheme is ws).
HOST = (b"host", b"127.0.0.1")
RECEIVE_TIMEOUT = 5


@database_sync_to_async
def new_session(buyer_key: str | None = None) -> str:
    session = session_store()  # the engine the consumer reads
    if buyer_key:
        session[BUYER_SESSION_KEY] = buyer_key
    session.create()
    return session.session_key


async def open_socket(function, session_key=None, *, origin=ORIGIN, client=None, host=HOST):
    headers = [origin, host]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    communicator = WebsocketCommunicator(
        websocket_app, f"/ws/functions/{function.slug}/", headers=headers
    )
    if client:
        communicator.scope["client"] = client
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected


async def next_fragments(communicator) -> dict:
    return elements_by_id(await communicator.receive_from(timeout=RECEIVE_TIMEOUT))


async def fragments_until(communicator, predicate, within: float = RECEIVE_TIMEOUT) -> dict:
    """Receive until one message satisfies predicate(fragments); fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the expected push never arrived"
        fragments = elements_by_id(await communicator.receive_from(timeout=remaining))
        if predicate(fragments):
            return fragments


async def nothing_but_presence(communicator, within: float) -> bool:
    """Whether, for `within` seconds, nothing but presence counts arrives. A hub's first
    presence tick goes to every socket whatever the test does, so silence cannot be
    asked of a function page for long."""
    deadline = time.monotonic() + within
    while (remaining := deadline - time.monotonic()) > 0:
        if await communicator.receive_nothing(timeout=remaining):
            return True
        if set(elements_by_id(await communicator.receive_from())) - {"presence"}:
            return False
    return True
