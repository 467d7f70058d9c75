"""Writing messages to the outbox. Delivery lives in outbox.delivery."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

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


def resend(messages: QuerySet[OutboxMessage], *, now: datetime.datetime | None = None) -> int:
    """Put messages back in the queue, due now, whatever became of them (sent, printed,
    given up, waiting out a backoff). Their attempts start again from nought, so a message
    given up gets the whole retry schedule again; the last error stays until the next
    attempt replaces it. Returns how many."""
    return messages.update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=now or timezone.now(), attempts=0
    )
