"""Keeping the interactions table to the days staff still need."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db import transaction

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
