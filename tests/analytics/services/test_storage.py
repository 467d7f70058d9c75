"""analytics.services.storage: every interaction stored once, on PostgreSQL by COPY."""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from django.db import connection, transaction

from analytics.models import Interaction
from analytics.services import storage
from analytics.services.storage import InteractionRow
from tests.support.factories import interaction_batch, interaction_event

NOW = datetime.datetime(2025, 5, 1, 9, 30, tzinfo=datetime.UTC)


def row(**fields) -> InteractionRow:
    data = fields.pop("data", {"field": "first_name"})
    values = {
        "uuid": uuid.uuid4(),
        "action": "field.change",
        "data": data,
        "data_json": json.dumps(data),
        "source": Interaction.Source.CLIENT,
        "client_timestamp": NOW,
        "occurred_at": NOW,
        "received_at": NOW,
    }
    return InteractionRow(**{**values, **fields})


def staging_table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"pg_temp.{storage.STAGING_TABLE}"])
        return cursor.fetchone()[0] is not None


@pytest.mark.django_db
class TestStore:
    def test_new_rows_are_stored_and_known_ones_counted_as_duplicates(self):
        first = [row() for _ in range(3)]
        assert storage.store(first) == storage.StoreResult(accepted=3, duplicates=0)
        again = [*first[:2], row()]
        assert storage.store(again) == storage.StoreResult(accepted=1, duplicates=2)
        assert Interaction.objects.count() == 4

    def test_every_column_is_stored(self):
        reference = row(
            data={"é": "<b>", "n": [1, 2.5, None, True]},
            session_id="s" * 32,
            page_url="https://x.test/a?b=c",
            user_agent="UA",
            registration_id=uuid.uuid4(),
            function_id=5,
            event_id=6,
            user_id=7,
            client_timestamp=NOW - datetime.timedelta(hours=1),
            occurred_at=NOW - datetime.timedelta(seconds=1),
        )
        storage.store([reference])
        stored = Interaction.objects.get()
        for name in storage.COLUMNS:
            expected = reference.data if name == "data" else getattr(reference, name)
            assert getattr(stored, name) == expected, name

    def test_nothing_to_store_touches_nothing(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert storage.store([]) == storage.StoreResult(accepted=0, duplicates=0)

    def test_the_copy_columns_are_the_models_columns(self):
        columns = {f.column for f in Interaction._meta.concrete_fields if not f.primary_key}
        assert set(storage.COLUMNS) == columns
        assert len(storage._copy_values(row())) == len(storage.COLUMNS)


@pytest.mark.postgres
@pytest.mark.django_db
class TestCopyOnPostgresql:
    def test_a_fresh_batch_goes_straight_in_by_one_copy(self):
        rows = [row() for _ in range(50)]
        storage.store(rows)
        assert Interaction.objects.count() == 50
        assert not staging_table_exists()

    def test_a_batch_with_a_stored_event_takes_the_staging_table(self):
        stored = row()
        storage.store([stored])
        result = storage.store([row(), stored, row()])
        assert result == storage.StoreResult(accepted=2, duplicates=1)
        assert staging_table_exists()
        assert Interaction.objects.count() == 3

    def test_two_duplicate_stores_in_one_transaction_count_right(self):
        known = [row() for _ in range(2)]
        storage.store(known)
        with transaction.atomic():
            assert storage.store([known[0], row()]).accepted == 1
            assert storage.store([known[1], row()]).accepted == 1
        assert Interaction.objects.count() == 4

    def test_a_failed_store_leaves_the_callers_transaction_usable(self):
        with transaction.atomic():
            storage.store([row(action="kept")])
            with pytest.raises(psycopg.errors.StringDataRightTruncation):
                storage.store([row(action="x" * 65)])
            assert Interaction.objects.filter(action="kept").count() == 1
        assert Interaction.objects.count() == 1


def post_everywhere_at_once(url: str, body: str, senders: int) -> list[dict]:
    """The same batch from `senders` clients at the same moment (fetch and beacon racing
    each other, a retry overtaking its original)."""
    ready = threading.Barrier(senders)

    def send(_):
        with httpx.Client(timeout=60) as client:
            client.get(f"{url}/")
            token = client.cookies["csrftoken"]
            ready.wait()
            response = client.post(
                f"{url}/analytics/events/", content=body, headers={"X-CSRFToken": token}
            )
            assert response.status_code == 202, response.text
            return response.json()

    with ThreadPoolExecutor(max_workers=senders) as pool:
        return list(pool.map(send, range(senders)))


@pytest.fixture
def read_then_write_counts(monkeypatch):
    """On PostgreSQL, the SQLite way: read which uuids are stored, then insert the rest,
    with a pause between the two. Its counts are right only while writers take turns."""
    bulk_create = Interaction.objects.bulk_create

    def pause_then_bulk_create(*args, **kwargs):
        time.sleep(0.2)
        return bulk_create(*args, **kwargs)

    monkeypatch.setattr(Interaction.objects, "bulk_create", pause_then_bulk_create)
    monkeypatch.setattr(storage, "_copy_in", storage._bulk_create)


@pytest.mark.django_db(transaction=True)
def test_one_batch_posted_by_many_at_once_is_stored_and_counted_once(live_server):
    events = [interaction_event() for _ in range(50)]
    body = json.dumps(interaction_batch(events))

    answers = post_everywhere_at_once(live_server.url, body, senders=8)

    assert Interaction.objects.count() == 50
    assert sum(a["accepted"] for a in answers) == 50
    assert sum(a["duplicates"] for a in answers) == 50 * 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_the_harness_catches_miscounting_when_storage_reads_then_writes(
    live_server, read_then_write_counts
):
    events = [interaction_event() for _ in range(50)]
    body = json.dumps(interaction_batch(events))

    answers = post_everywhere_at_once(live_server.url, body, senders=8)

    assert Interaction.objects.count() == 50  # the unique index still holds the rows
    assert sum(a["accepted"] for a in answers) > 50, "the harness failed to provoke the race"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_copy_is_its_own_and_duplicates_still_count():
    assert not connection.in_atomic_block
    # Pooled connections outlive a test, and with them a staging table an earlier test
    # made: start without one, so its absence below shows the fresh batch skipped it.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{storage.STAGING_TABLE}")
    first = [row() for _ in range(3)]
    assert storage.store(first) == storage.StoreResult(accepted=3, duplicates=0)
    assert not staging_table_exists()
    assert storage.store([first[0], row()]) == storage.StoreResult(accepted=1, duplicates=1)
    assert not connection.in_atomic_block
    assert Interaction.objects.count() == 4
