"""Writing interactions in bulk, once each, on every database.

PostgreSQL takes them by COPY, the fastest way in (docs/design.md §9: two to three times
`bulk_create`). Plain COPY cannot skip a row whose uuid is already stored, so:

* a batch never seen before - nearly all of them - is copied straight into the table,
  as a transaction of its own (or a savepoint inside a caller's transaction);
* if that meets a stored uuid (a batch re-sent after a lost response, or delivered by
  both fetch and beacon) that COPY is rolled back and the batch takes the careful way:
  COPY into a staging table private to the connection, then
  `INSERT ... SELECT ... ON CONFLICT (uuid) DO NOTHING`, whose row count says how many
  were new. A re-sent batch pays for two COPYs; a fresh one pays for one.

Elsewhere (SQLite) `bulk_create(ignore_conflicts=True)` does the insert.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import psycopg
from django.db import connection, transaction

from analytics.models import Interaction

TABLE = Interaction._meta.db_table
STAGING_TABLE = "analytics_staged_interactions"
# Every column but the primary key, in the order `_copy_values` yields them.
COLUMNS = (
    "uuid",
    "action",
    "data",
    "source",
    "client_timestamp",
    "occurred_at",
    "received_at",
    "session_id",
    "visitor_id",
    "user_id",
    "page_url",
    "user_agent",
    "function_id",
    "event_id",
    "registration_id",
)
_COLUMN_LIST = ", ".join(COLUMNS)


@dataclass(slots=True)
class InteractionRow:
    """One interaction ready to store; `data_json` is `data` as the JSON text stored."""

    uuid: uuid.UUID
    action: str
    data: dict
    data_json: str
    source: str
    client_timestamp: datetime.datetime
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    session_id: str = ""
    visitor_id: str = ""
    user_id: int | None = None
    page_url: str = ""
    user_agent: str = ""
    function_id: int | None = None
    event_id: int | None = None
    registration_id: uuid.UUID | None = field(default=None)


@dataclass(frozen=True)
class StoreResult:
    accepted: int  # newly stored
    duplicates: int  # already stored before (same uuid)


def store(rows: Sequence[InteractionRow]) -> StoreResult:
    """Store rows whose uuid is new; count the others as duplicates.

    `rows` must not repeat a uuid among themselves (capture drops repeats first).
    Runs in its own transaction (a savepoint inside a caller's), so a failure leaves
    nothing behind and never spoils the caller's transaction.
    """
    if not rows:
        return StoreResult(accepted=0, duplicates=0)
    accepted = _copy_in(rows) if connection.vendor == "postgresql" else _bulk_create(rows)
    return StoreResult(accepted=accepted, duplicates=len(rows) - accepted)


def _copy_in(rows: Sequence[InteractionRow]) -> int:
    # Outside a transaction the COPY is a transaction by itself: one round trip instead of
    # five (BEGIN, SAVEPOINT, COPY, RELEASE, COMMIT), and a duplicate fails only it. Inside
    # a caller's transaction it gets a savepoint, so a duplicate fails only the savepoint.
    try:
        with (
            transaction.atomic() if connection.in_atomic_block else nullcontext(),
            connection.cursor() as cursor,
        ):
            copy_rows(cursor, TABLE, rows)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        pass  # some were stored before: the careful way below
    with transaction.atomic(), connection.cursor() as cursor:
        # Created once per connection, emptied at every commit. CREATE TABLE AS copies
        # the column types but none of the constraints, so the COPY cannot fail on them.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} ON COMMIT DELETE ROWS "
            f"AS SELECT {_COLUMN_LIST} FROM {TABLE} WITH NO DATA"
        )
        copy_rows(cursor, STAGING_TABLE, rows)
        cursor.execute(
            f"INSERT INTO {TABLE} ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {STAGING_TABLE} "
            "ON CONFLICT (uuid) DO NOTHING"
        )
        accepted = cursor.rowcount
        # Inside a caller's transaction the commit (and its clean-up) comes later.
        cursor.execute(f"DELETE FROM {STAGING_TABLE}")
        return accepted


def copy_rows(cursor, table: str, rows: Sequence[InteractionRow]) -> None:
    """COPY rows into `table` (PostgreSQL); no duplicate handling. Also the raw baseline
    of `manage.py bench capture`."""
    with cursor.copy(f"COPY {table} ({_COLUMN_LIST}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(_copy_values(row))


def _copy_values(row: InteractionRow) -> tuple:
    return (
        row.uuid,
        row.action,
        row.data_json,
        row.source,
        row.client_timestamp,
        row.occurred_at,
        row.received_at,
        row.session_id,
        row.visitor_id,
        row.user_id,
        row.page_url,
        row.user_agent,
        row.function_id,
        row.event_id,
        row.registration_id,
    )


def _bulk_create(rows: Sequence[InteractionRow]) -> int:
    # Counting the new rows by a read first is exact on SQLite, where the IMMEDIATE
    # transaction holds the database's one write lock from BEGIN; the insert itself
    # would be safe anywhere (ignore_conflicts), only the counts would not be.
    with transaction.atomic():
        stored = set(
            Interaction.objects.filter(uuid__in=[row.uuid for row in rows]).values_list(
                "uuid", flat=True
            )
        )
        new = [row for row in rows if row.uuid not in stored]
        Interaction.objects.bulk_create(
            [
                Interaction(
                    uuid=row.uuid,
                    action=row.action,
                    data=row.data,
                    source=row.source,
                    client_timestamp=row.client_timestamp,
                    occurred_at=row.occurred_at,
                    received_at=row.received_at,
                    session_id=row.session_id,
                    visitor_id=row.visitor_id,
                    user_id=row.user_id,
                    page_url=row.page_url,
                    user_agent=row.user_agent,
                    function_id=row.function_id,
                    event_id=row.event_id,
                    registration_id=row.registration_id,
                )
                for row in new
            ],
            ignore_conflicts=True,
        )
    return len(new)
