"""`manage.py bench capture` runs end to end (tiny, so the suite stays quick)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from analytics.models import Interaction
from bench.scenarios import capture
from bench.scenarios.capture import Timing
from tests.support.factories import make_function
from tests.support.servers import database_url_of_this_run


def bench(*args) -> str:
    out = io.StringIO()
    call_command("bench", "capture", *args, stdout=out)
    return out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_capture_bench_measures_the_endpoint_against_raw_copy(monkeypatch):
    # The server the bench starts must use this run's database, as it would the
    # configured one outside tests.
    monkeypatch.setenv("DATABASE_URL", database_url_of_this_run())
    make_function(slug="grand-proclamation")

    output = bench("--events", "230", "--senders", "3", "--workers", "1", "--threads", "2")

    assert "| POST /analytics/events/ (3 senders, gunicorn 1x2) |    230 |       5 |" in output
    assert "raw COPY (3 connections)" in output
    assert "endpoint / raw COPY:" in output
    assert "goal: 20,000 events/s stored end to end" in output
    assert "CPU seconds per 1,000 events" in output
    assert "load average" in output
    assert Interaction.objects.count() == 0  # the run cleaned up after itself
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [capture.SCRATCH_TABLE])
        assert cursor.fetchone()[0] is None


@pytest.mark.django_db
def test_the_bench_needs_postgresql(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        bench("--events", "10")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "0"], "--events must be at least 1"),
        (["--senders", "-1"], "--senders must be at least 1"),
        (["--batch-size", "101"], "at most 100"),
    ],
)
def test_bad_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        bench(*args)


def test_cpu_that_cannot_be_read_shows_as_not_available():
    timing = Timing(
        seconds=1.0, latencies=[0.1], cpu={"web server": None, "PostgreSQL": 0.5, "senders": 0.5}
    )
    row = capture._cpu_row("endpoint", 1000, timing, cores=2)
    assert row == ["endpoint", "n/a", "0.500", "0.500", "1.000", 2000]
