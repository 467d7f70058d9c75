"""Fixtures of the outbox tests: messages of a kind of their own, without a sale."""

from __future__ import annotations

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
