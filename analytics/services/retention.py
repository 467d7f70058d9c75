"""Keeping the interactions table to the days staff still need."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.models import Interaction

PRUNE_BATCH_SIZE = 10_000


def prunable(before: datetime.datetime) -> int:
    """How many interactions occurred before `before`."""
    return Interaction.objects.filter(occurred_at__lt=before).count()


def prune(before: datetime.datetime, *, batch_size: int = PRUNE_BATCH_SIZE) -> Iterator[int]:
    """Delete interactions that occurred before `before`, yielding the count after each
    batch.

    Small batches, each its own transaction, so a prune of millions of rows never holds
    one long transaction (and its locks and WAL) while capture keeps inserting.
    """
    while True:
        with transaction.atomic():
            ids = list(
                Interaction.objects.filter(occurred_at__lt=before).values_list("pk", flat=True)[
                    :batch_size
                ]
            )
            if not ids:
                return
            deleted, _ = Interaction.objects.filter(pk__in=ids).delete()
        yield deleted


# Batches one scheduled prune deletes at most, so a first prune of a large table never
# holds the sweeper (and the holds it releases) for long; the rest goes next time.
SCHEDULED_PRUNE_BATCHES = 10


def prune_on_schedule() -> str | None:
    """The housekeeping job: delete interactions older than ANALYTICS_RETENTION_DAYS."""
    days = settings.ANALYTICS_RETENTION_DAYS
    if days <= 0:
        return None  # kept for good: the operator turned it off
    before = timezone.now() - datetime.timedelta(days=days)
    deleted = 0
    for batch, count in enumerate(prune(before), start=1):
        deleted += count
        if batch >= SCHEDULED_PRUNE_BATCHES:
            break
    return f"deleted {deleted:,} interaction(s) over {days} days old" if deleted else None
