"""Figures staff see about captured interactions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import Interaction


@dataclass(frozen=True)
class DayCount:
    day: datetime.date
    count: int


def daily_counts(
    interactions: QuerySet[Interaction], *, days: int = 30, today: datetime.date | None = None
) -> list[DayCount]:
    """How many of `interactions` occurred on each of the last `days` days (local time),
    oldest first, with a zero for a day that had none."""
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    # The time bound lets the time-range index skip everything older.
    per_day = dict(
        interactions.filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [
        DayCount(day=day, count=per_day.get(day, 0))
        for day in (first + datetime.timedelta(days=i) for i in range(days))
    ]
