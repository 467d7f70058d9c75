"""Many simultaneous buyers through real HTTP: nobody oversells (docs/design.md §3).

Each buyer is its own HTTP client with its own session and CSRF token, talking to the live
test server (one thread per request, one database connection per thread). All POSTs wait
on a barrier and fire together; a delay injected while the seat lock is held widens the
race window. The control test swaps in a read-then-write reserve - what the replaced
system did - and shows the same harness catching the oversell, so the passing test means
something.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from tests.support.factories import make_ticket_type, refreshed
from tickets.models import Hold, TicketType
from tickets.services import inventory
from tickets.services.availability import availability_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def crowd_from_one_address(settings):
    """Every buyer here comes from 127.0.0.1, where a real crowd has many addresses."""
    settings.HOLD_RATE_LIMIT_PER_IP = None
    settings.HOLD_SEATS_PER_IP = None
    # These race the general path (inventory.reserve, swapped below); the lean first hold
    # has its own race and control in test_first_hold_rush.py.
    settings.HOLD_FAST_PATH = False


RACE_WINDOW = 0.05  # seconds between the read and the write in the unguarded control


def rush(base_url: str, ticket_type: TicketType, quantities: list[int]) -> list[tuple[int, int]]:
    """Fire one hold request per quantity, all at once. Returns (status, quantity)."""
    function_url = f"{base_url}{ticket_type.event.function.get_absolute_url()}"
    hold_url = f"{function_url}hold/"
    ready = threading.Barrier(len(quantities))

    def buyer(quantity: int) -> tuple[int, int]:
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            client.get(function_url).raise_for_status()  # session + CSRF cookie
            token = client.cookies["csrftoken"]
            ready.wait()
            response = client.post(
                hold_url,
                data={"ticket_type": ticket_type.pk, "quantity": quantity},
                headers={"X-CSRFToken": token},
            )
            return response.status_code, quantity

    with ThreadPoolExecutor(max_workers=len(quantities)) as pool:
        return list(pool.map(buyer, quantities))


def granted_seats(results: list[tuple[int, int]]) -> int:
    return sum(quantity for status, quantity in results if status == 303)


def held_seats(ticket_type: TicketType) -> int:
    return Hold.objects.filter(ticket_type=ticket_type).aggregate(s=Sum("seats"))["s"] or 0


@pytest.fixture
def guard_switched_off(monkeypatch):
    """The replaced system's reserve: read the counters, decide, write a new value."""

    def unguarded_reserve(ticket_type, seats):
        current = TicketType.objects.get(pk=ticket_type.pk)
        time.sleep(RACE_WINDOW)
        if current.capacity - current.reserved - current.sold < seats:
            return None
        TicketType.objects.filter(pk=ticket_type.pk).update(
            reserved=current.reserved + seats, version=F("version") + 1
        )
        return availability_of(refreshed(ticket_type))

    monkeypatch.setattr(inventory, "reserve", unguarded_reserve)


def test_rush_grants_exactly_the_seats_there_are(live_server, slow_winners):
    seats, buyers = 20, 40
    ticket_type = make_ticket_type(capacity=seats, max_per_order=4)

    results = rush(live_server.url, ticket_type, [1] * buyers)

    statuses = {status for status, _ in results}
    assert statuses <= {303, 409}, f"unexpected statuses {statuses}"
    assert granted_seats(results) == seats
    ticket_type.refresh_from_db()
    assert ticket_type.reserved == held_seats(ticket_type) == seats
    call_command("reconcile_inventory")  # raises CommandError on drift


def test_rush_with_mixed_quantities_never_oversells(live_server, slow_winners):
    seats = 25
    ticket_type = make_ticket_type(capacity=seats, max_per_order=4)

    results = rush(live_server.url, ticket_type, [1, 2, 3, 4] * 8)  # 80 seats wanted

    assert {status for status, _ in results} <= {303, 409}
    granted = granted_seats(results)
    assert seats - 3 <= granted <= seats  # a leftover smaller than every ask may stay
    assert refreshed(ticket_type).reserved == held_seats(ticket_type) == granted


@pytest.mark.postgres
def test_control_the_harness_catches_an_oversell_when_the_guard_is_off(
    live_server, guard_switched_off
):
    # Only PostgreSQL shows it: SQLite's IMMEDIATE transactions run one writer at a time,
    # which serialises even this unguarded code.
    seats, buyers = 20, 40
    ticket_type = make_ticket_type(capacity=seats)

    results = rush(live_server.url, ticket_type, [1] * buyers)

    assert granted_seats(results) > seats, "the harness failed to provoke the race"
    assert held_seats(ticket_type) > seats
