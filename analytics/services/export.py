"""Interactions out to files, for developers and for tools that are not this one."""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from analytics.models import Interaction
from analytics.services.storage import COLUMNS
from common.spreadsheets import safe_row

FORMATS = ("jsonl", "csv")
# Every stored column but the internal primary key, as storage writes them.
FIELDS = COLUMNS


def interactions_since(
    since: datetime.datetime, until: datetime.datetime | None = None
) -> Iterator[dict]:
    """Interactions that occurred from `since` (and before `until`), oldest first, as
    plain values (uuids and times as ISO-8601 text)."""
    rows = Interaction.objects.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    for values in rows.order_by("occurred_at", "pk").values_list(*FIELDS).iterator(2000):
        yield {name: _plain(value) for name, value in zip(FIELDS, values, strict=True)}


def write(rows: Iterable[dict], stream: TextIO, fmt: str) -> int:
    """Write rows as JSON lines or CSV (data as JSON text; text that would start a
    formula prefixed with `'`); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(stream, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        # Page URLs, user agents and data come from visitors: no cell may be a formula.
        writer.writerow(safe_row({**row, "data": json.dumps(row["data"], ensure_ascii=False)}))
        count += 1
    return count


def _plain(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, int | str | dict | list):
        return value
    return str(value)  # UUIDs
