"""The hold form's lean first hold (tickets/views/holds.py over services.first_hold): one
database round trip for a first hold, a cheap 409, and the general path for the rest."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.factories import hold, make_ticket_type, refreshed
from tests.support.html import refusal_code
from tests.support.http import post_hold
from tickets.models import Registration

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def visit(client, ticket_type) -> None:
    client.get(ticket_type.event.function.get_absolute_url())  # session + CSRF cookie


def test_a_first_hold_is_one_database_round_trip(client):
    ticket_type = make_ticket_type(capacity=10)
    visit(client, ticket_type)
    with CaptureQueriesContext(connection) as queries:
        response = post_hold(client, ticket_type, 2)
    assert response.status_code == 303
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 1, statements
    assert "lodgetix_first_hold" in statements[0]
    registration = Registration.objects.get()
    assert response["Location"].endswith(f"/registrations/{registration.pk}/tickets/")
    assert refreshed(ticket_type).reserved == 2


def test_sold_out_is_a_cheap_409_with_the_reason_and_a_way_back(client):
    ticket_type = make_ticket_type(capacity=1)
    hold(ticket_type, 1, buyer="someone-else")
    visit(client, ticket_type)
    with CaptureQueriesContext(connection) as queries:
        response = post_hold(client, ticket_type, 1)
    assert response.status_code == 409
    assert len(queries.captured_queries) == 1  # the refusal page reads nothing more
    body = response.content.decode()
    assert refusal_code(response) == "not_enough_available"
    assert "has just sold out" in body
    assert ticket_type.event.function.get_absolute_url() in body


def test_a_second_hold_takes_the_general_path_and_adds_to_the_registration(client):
    ticket_type = make_ticket_type(capacity=10)
    visit(client, ticket_type)
    assert post_hold(client, ticket_type, 1).status_code == 303
    assert post_hold(client, ticket_type, 2).status_code == 303
    registration = Registration.objects.get()
    assert [h.seats for h in registration.holds.all()] == [3]
    assert refreshed(ticket_type).reserved == 3


def test_off_sends_every_hold_the_general_way(client, settings):
    settings.HOLD_FAST_PATH = False
    ticket_type = make_ticket_type(capacity=10)
    visit(client, ticket_type)
    with CaptureQueriesContext(connection) as queries:
        assert post_hold(client, ticket_type, 1).status_code == 303
    assert not any("lodgetix_first_hold" in q["sql"] for q in queries.captured_queries)
