"""Writing messages to the outbox. Delivery lives in outbox.delivery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from outbox.models import OutboxMessage


def enqueue(
    kind: str, *, to: str, subject: str, context: Mapping[str, Any], about: str = ""
) -> OutboxMessage:
    """Write one message, inside the caller's transaction: it exists exactly when the
    change that caused it commits, and nothing here can fail the sale for want of a mail
    server."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue() belongs inside the transaction that causes it")
    return OutboxMessage.objects.create(
        kind=kind, to=to, subject=subject[:300], context=dict(context), about=about
    )
