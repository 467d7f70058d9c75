"""Many simultaneous first holds through real HTTP on the lean path: nobody oversells.

The same harness as test_inventory_rush.py (one client per buyer, a barrier, the live
test server), with the database function in place of inventory.reserve. The control swaps
in a version of the function whose guard is a read, a pause and a write - what the
replaced system did - and shows the harness catching the oversell.
"""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django.db import connection

from tests.support.factories import make_ticket_type, refreshed
from tests.tickets.services.test_inventory_rush import granted_seats, held_seats, rush
from tickets.services import holds

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("one_address_crowd"),
]

FIRST_HOLD = importlib.import_module("tickets.migrations.0009_hold_function").FIRST_HOLD
GUARDED_UPDATE = """UPDATE tickets_tickettype t
           SET reserved = t.reserved + o_seats, version = t.version + 1
         WHERE t.id = tt.id AND NOT t.withdrawn AND t.capacity - t.reserved - t.sold >= o_seats
        RETURNING"""
# Keep the hot row's lock a little longer after each granted UPDATE, so losers queue.
GRANTED = "END IF;\n    EXCEPTION WHEN"
LINGERING = "END IF;\n        PERFORM pg_sleep(0.01);\n    EXCEPTION WHEN"
UNGUARDED_UPDATE = """SELECT t.capacity - t.reserved - t.sold, t.reserved INTO v_left, v_read
          FROM tickets_tickettype t WHERE t.id = tt.id;
        PERFORM pg_sleep(0.05);
        IF v_left < o_seats THEN RAISE EXCEPTION USING ERRCODE = 'LX001'; END IF;
        UPDATE tickets_tickettype t SET reserved = v_read + o_seats, version = t.version + 1
         WHERE t.id = tt.id
        RETURNING"""


@pytest.fixture
def only_the_fast_path(monkeypatch):
    """Fail any hold the fast path declined: this test is about the fast path alone."""

    def general_path(*args, **kwargs):
        raise AssertionError("a first hold went to the general path")

    monkeypatch.setattr(holds, "hold_tickets", general_path)


def swap_function(old: str, new: str):
    assert FIRST_HOLD.count(old) == 1
    sql = FIRST_HOLD.replace(old, new).replace(
        "v_withdrawn boolean;", "v_withdrawn boolean; v_left integer; v_read integer;"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def restore_function():
    yield
    with connection.cursor() as cursor:
        cursor.execute(FIRST_HOLD)


def test_a_rush_of_first_holds_grants_exactly_the_seats_there_are(
    live_server, only_the_fast_path, restore_function
):
    swap_function(GRANTED, LINGERING)
    seats = 20
    ticket_type = make_ticket_type(capacity=seats, max_per_order=4)

    results = rush(live_server.url, ticket_type, [1, 2, 1, 3] * 10)  # 70 seats wanted

    assert {status for status, _ in results} <= {303, 409}
    granted = granted_seats(results)
    assert seats - 2 <= granted <= seats
    assert refreshed(ticket_type).reserved == held_seats(ticket_type) == granted
    call_command("reconcile_inventory")  # raises CommandError on drift


def test_control_the_harness_catches_an_oversell_when_the_guard_is_off(
    live_server, restore_function
):
    swap_function(GUARDED_UPDATE, UNGUARDED_UPDATE)
    seats, buyers = 20, 40
    ticket_type = make_ticket_type(capacity=seats)

    results = rush(live_server.url, ticket_type, [1] * buyers)

    assert granted_seats(results) > seats, "the harness failed to provoke the race"
    assert held_seats(ticket_type) > seats
