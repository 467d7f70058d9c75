"""`manage.py bench waitlist` runs end to end (tiny, so the suite stays quick)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.servers import database_url_of_this_run
from tickets.models import Function, WaitlistEntry


def bench(*args) -> str:
    out = io.StringIO()
    call_command("bench", "waitlist", *args, stdout=out)
    return out.getvalue()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_waitlist_bench_measures_offers_beside_the_raw_path(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url_of_this_run())

    output = bench("--entries", "5", "--rounds", "3")

    assert "| raw: commit -> availability on every open page |      15 |" in output
    assert "| offer: seat freed -> offer on the entry's page |       3 |" in output
    assert "5 entry pages open, 3 seats freed per path" in output
    assert not WaitlistEntry.objects.exists()  # the run cleaned up after itself
    assert not Function.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entries", "0"], "--entries must be at least 1"),
        (["--entries", "3", "--rounds", "4"], "--rounds between 1 and --entries"),
    ],
)
def test_bad_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        bench(*args)
