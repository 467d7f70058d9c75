"""`manage.py bench dashboard` runs end to end (tiny, so the suite stays quick)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.servers import database_url_of_this_run
from tickets.models import Function, Registration


def bench(*args) -> str:
    out = io.StringIO()
    call_command("bench", "dashboard", *args, stdout=out)
    return out.getvalue()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_bench_measures_both_rushes_and_every_figure(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url_of_this_run())

    output = bench("--dashboards", "2", "--holds", "10", "--clients", "2")

    assert "| without dashboards      |    10 |" in output
    assert "| with 2 dashboards       |    10 |" in output
    assert "extra per hold (ms CPU)" in output
    assert "| every hold, on every dashboard    |      20 |" in output
    assert not Registration.objects.exists()  # the run cleaned up after itself
    assert not Function.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["--dashboards", "0"], ["--holds", "0"], ["--clients", "0"]])
def test_bad_arguments_are_refused(args):
    with pytest.raises(CommandError, match="must be at least 1"):
        bench(*args)


@pytest.mark.django_db
def test_it_refuses_without_postgresql_and_redis(settings):
    settings.REDIS_URL = None  # as on the embedded default: no layer crosses processes
    with pytest.raises(CommandError, match="measures the production shape"):
        bench("--dashboards", "1")
