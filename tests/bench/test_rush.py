"""`manage.py bench rush`: refuses bad arguments, and runs end to end on the real shape."""

from __future__ import annotations

import random
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from bench.scenarios.rush import CRUMB_BUYERS, plan_asks
from tests.support.servers import embedded_command_env
from tests.support.serving import require_nginx
from tickets.models import Function


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--buyers", "0", "--seats", "10"], "--buyers"),
        (["--buyers", "4", "--seats", "0"], "--seats"),
        (["--seats", "10", "--demand", "0"], "--demand"),
        (["--seats", "10", "--lodges", "1.5"], "--lodges"),
        (["--seats", "10", "--url", "127.0.0.1:8000"], "--url"),
        (["--seats", "10", "--pgbench-seconds", "-1"], "--pgbench-seconds"),
        (["--buyers", "4"], "--seats is required"),
        (["--demo", "--embedded"], "does not go with --embedded"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench", "rush", *arguments, stdout=StringIO())
    assert not Function.objects.exists()


@pytest.mark.django_db
def test_a_non_number_is_refused():
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("bench", "rush", "--seats", "many", stdout=StringIO())


def test_buyers_want_more_than_there_is_and_end_with_crumb_takers():
    asks = plan_asks(500, demand=1.25, lodge_share=0.1, rng=random.Random(1))
    mixed, crumbs = asks[:-CRUMB_BUYERS], asks[-CRUMB_BUYERS:]
    assert sum(a.seats for a in mixed) >= 625
    assert {a.quantity for a in mixed} == {1, 2, 3, 4}
    assert any(a.lodge for a in mixed)
    assert not all(a.lodge for a in mixed)
    assert all(a.seats == 1 for a in crumbs)


def run_rush(*arguments: str) -> tuple[str, dict[str, str]]:
    """Run `bench rush` with these arguments: its report, and its table's rows by name."""
    out = StringIO()
    call_command("bench", "rush", *arguments, stdout=out)
    report = out.getvalue()
    rows = {line.split("|")[1].strip(): line for line in report.splitlines() if "|" in line}
    return report, rows


@pytest.mark.postgres
@pytest.mark.redis
def test_a_small_rush_on_the_production_shape(transactional_db):
    require_nginx()
    report, rows = run_rush(
        "--buyers", "6", "--seats", "60", "--lodges", "0.2", "--pgbench-seconds", "1"
    )
    assert "60 / 60" in rows["raw SQL"]
    assert "60 / 60" in rows["HTTP"]
    assert "HTTP / raw" in rows
    # The same hot-row transaction under pgbench, in the same run.
    assert "transactions, latency avg" in rows["pgbench"]
    assert "HTTP / pgbench" in rows
    assert "verdict: no oversell, sold out exactly, no drift, no 5xx" in report
    # Its throwaway function is gone again, holds and all.
    assert not Function.objects.filter(slug__startswith="bench-rush-").exists()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_small_rush_on_a_copy_of_the_demo_function(transactional_db):
    require_nginx()
    report, rows = run_rush("--demo", "--buyers", "6", "--seats", "20", "--pgbench-seconds", "1")
    # 30 one-seat buyers (demand 1.5) for the copy's 20 ceremony seats, after loading a
    # page with the demo's seven ticket types.
    assert "30 buyers (0 lodges) want 30 seats of 20 (the ceremony of a copy" in report
    assert "30 buyers have loaded the page (7 ticket types)" in report
    assert "20 / 20" in rows["HTTP"]
    assert "409 not enough 10, granted 20" in rows["HTTP"]
    assert "10 answers" in rows["HTTP 409 (refused)"]
    assert "20 answers" in rows["HTTP 303 (held)"]
    assert "20 / 20" in rows["raw SQL"]
    assert "verdict: no oversell, sold out exactly, no drift, no 5xx" in report
    # The copy and the raw baseline's function are gone; no demo function was made.
    assert not Function.objects.filter(slug__startswith="bench-").exists()
    assert not Function.objects.filter(slug="grand-proclamation").exists()


def test_a_small_rush_on_the_embedded_default(tmp_path):
    # make run's shape (runserver on SQLite, no Redis), whatever this run's own services:
    # the bench runs as its own command on a SQLite file of its own.
    env = embedded_command_env(tmp_path / "embedded.sqlite3")
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    done = subprocess.run(
        [*manage, "bench", "rush", "--embedded", "--buyers", "8", "--seats", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = done.stdout
    assert done.returncode == 0, report + done.stderr
    rows = {line.split("|")[1].strip(): line for line in report.splitlines() if "|" in line}
    assert "2 / 2" in rows["HTTP"]
    assert "409 not enough 6, granted 2" in rows["HTTP"]
    assert "raw SQL" not in rows
    assert "verdict: no oversell, sold out exactly, no drift, no 5xx" in report


@pytest.mark.postgres
@pytest.mark.django_db  # the command first checks that this database is migrated
def test_embedded_is_refused_on_postgresql():
    with pytest.raises(CommandError, match="embedded default"):
        call_command("bench", "rush", "--embedded", "--seats", "3", stdout=StringIO())
