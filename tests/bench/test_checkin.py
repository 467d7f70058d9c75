"""`manage.py bench checkin`: refuses clearly where it cannot measure; its ticket issuing
gives every seat a valid ticket (the full run is the benchmark, not a test)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bench.data import delete_bench_function, make_bench_function
from bench.scenarios import checkin as scenario
from tickets.services import checkin


@pytest.mark.django_db
def test_refuses_without_postgresql_and_redis_or_with_bad_numbers(settings):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        with pytest.raises(CommandError, match="needs DATABASE_URL=postgres"):
            call_command("bench", "checkin", stdout=StringIO())
    else:
        with pytest.raises(CommandError, match="at least 1"):
            call_command("bench", "checkin", "--doors", "0", stdout=StringIO())


@pytest.mark.django_db
def test_issued_bench_tickets_are_valid_seats():
    ticket_type = make_bench_function("checkin-test", 25)
    codes = scenario._issue_tickets(ticket_type, 25)
    assert len(set(codes)) == 25
    assert checkin.counts_of(ticket_type.event_id).expected == 25
    outcome = checkin.check_in(ticket_type.event, code=codes[0], door="North")
    assert outcome.result is checkin.Result.OK
    delete_bench_function(ticket_type.event.function)
