"""Fixtures of the outbox tests: messages of a kind of their own, without a sale."""

from __future__ import annotations

import signal
import time

import pytest
from django.db import transaction

from outbox import renderers
from outbox.models import OutboxMessage
from outbox.renderers import RenderedMessage
from outbox.services import enqueue

PLAIN = "test.plain"


@pytest.fixture(autouse=True, scope="session")
def plain_renderer() -> None:
    renderers.register(PLAIN, lambda message: RenderedMessage(text=f"Hello {message.to}"))


def queue_messages(count: int, *, kind: str = PLAIN) -> list[OutboxMessage]:
    """`count` messages to distinct addresses, written in one transaction."""
    with transaction.atomic():
        return [
            enqueue(kind, to=f"person{n}@example.com", subject=f"Message {n}", context={})
            for n in range(count)
        ]


def wait_until(condition, timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def own_signal_handlers():
    """The sweeper installs SIGTERM/SIGINT handlers in this (the main) thread; put the
    test runner's back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
