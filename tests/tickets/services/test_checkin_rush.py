"""50 simultaneous scans of one ticket from two doors, through real HTTP: one check-in,
49 "already" (docs/design.md §12).

Each scan is its own HTTP client (a door's signed-in session and CSRF token) against the
live test server, one thread and database connection per request; all POSTs wait on a
barrier and fire together. The control drops the unique constraint and shows the same
harness catching the double count, so the passing test means something.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.support.door import confirmed_individuals, tickets_of
from tests.support.factories import make_event, make_ticket_type, staff_user
from tickets.models import AuditEntry, CheckIn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SCANS = 50
DOORS = ("North", "South")


def door_cookies(username: str) -> dict[str, str]:
    client = Client()
    client.force_login(staff_user(username, "check_in"))
    return {"sessionid": client.cookies["sessionid"].value}


def scan_all_at_once(base_url: str, event_id: int, code: str) -> list[dict]:
    url = f"{base_url}{reverse('tickets:door', args=[event_id])}"
    sessions = {door: door_cookies(f"door-{door.lower()}") for door in DOORS}
    ready = threading.Barrier(SCANS)

    def scan(n: int) -> dict:
        door = DOORS[n % len(DOORS)]
        with httpx.Client(timeout=60, cookies=sessions[door]) as client:
            client.get(url, params={"door": door}).raise_for_status()  # CSRF cookie
            token = client.cookies["csrftoken"]
            ready.wait()
            response = client.post(
                url, data={"code": code, "door": door}, headers={"X-CSRFToken": token}
            )
            response.raise_for_status()
            return response.json()

    with ThreadPoolExecutor(max_workers=SCANS) as pool:
        return list(pool.map(scan, range(SCANS)))


@pytest.fixture
def ticket():
    banquet = make_ticket_type(make_event(name="Grand Banquet"), capacity=10)
    return tickets_of(confirmed_individuals(banquet, "Alan"))[0]


def test_fifty_scans_from_two_doors_check_in_once(live_server, ticket):
    answers = scan_all_at_once(live_server.url, ticket.event_id, ticket.code)

    assert Counter(a["result"] for a in answers) == {"ok": 1, "already": SCANS - 1}
    winner = next(a for a in answers if a["result"] == "ok")
    # Every "already" names the one check-in that counted: its time and its door.
    assert {(a["checked_in_at"], a["door"]) for a in answers} == {
        (winner["checked_in_at"], winner["door"])
    }
    assert CheckIn.objects.filter(ticket=ticket).count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHECK_IN).count() == 1


@pytest.fixture
def unique_constraint_dropped():
    table = CheckIn._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT one_check_in_per_ticket")
    yield
    CheckIn.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT one_check_in_per_ticket "
            "UNIQUE (ticket_id, event_id)"
        )


def test_control_without_the_constraint_the_harness_sees_the_double_count(
    live_server, ticket, unique_constraint_dropped
):
    answers = scan_all_at_once(live_server.url, ticket.event_id, ticket.code)

    oks = sum(a["result"] == "ok" for a in answers)
    assert oks > 1, "the harness failed to provoke the race"
    assert CheckIn.objects.filter(ticket=ticket).count() == oks
