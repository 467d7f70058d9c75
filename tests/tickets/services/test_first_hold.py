"""The lean first hold (tickets/services/first_hold.py): one round trip, the general
path's rules and answers, and a decline (None) for everything it does not answer."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.factories import hold, make_event, make_ticket_type, refreshed
from tickets.models import Event, Hold, Registration
from tickets.services import first_hold
from tickets.services.exceptions import AddressHoldLimit, NotEnoughAvailable
from tickets.signals import availability_changed, registration_changed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def first(ticket_type, quantity=1, *, buyer="fast-1", registration_type="individual", address=""):
    return first_hold.try_first_hold(
        function_slug=ticket_type.event.function.slug,
        ticket_type_id=ticket_type.pk,
        quantity=quantity,
        registration_type=registration_type,
        buyer_key=buyer,
        user_id=None,
        client_address=address,
    )


def test_a_first_hold_is_one_statement_and_holds_the_seats():
    ticket_type = make_ticket_type(capacity=10, price="42.50")
    with CaptureQueriesContext(connection) as queries:
        held = first(ticket_type, 3)
    assert len(queries.captured_queries) == 1
    registration = Registration.objects.get(pk=held.registration.pk)
    assert (registration.buyer_key, registration.status) == ("fast-1", "pending")
    assert registration.function_id == ticket_type.event.function_id
    assert registration.manage_key
    assert registration.attendee_draft == {}
    # The function's hold time, on the registration and its hold alike.
    minutes = (registration.expires_at - registration.created_at).total_seconds() / 60
    assert round(minutes) == ticket_type.event.function.hold_minutes
    line = Hold.objects.get(registration=registration)
    assert (line.seats, line.tables, str(line.unit_price)) == (3, None, "42.50")
    assert line.expires_at == registration.expires_at
    assert refreshed(ticket_type).reserved == 3


def test_a_lodge_holds_tables_of_ten():
    ticket_type = make_ticket_type(capacity=40)
    held = first(ticket_type, 2, registration_type="lodge")
    line = Hold.objects.get(registration_id=held.registration.pk)
    assert (line.seats, line.tables) == (20, 2)
    assert held.registration.registration_type == "lodge"


def test_too_few_seats_is_refused_and_leaves_nothing_behind():
    ticket_type = make_ticket_type(capacity=2)
    with pytest.raises(NotEnoughAvailable) as refused:
        first(ticket_type, 3, buyer="late")
    assert refused.value.available == 2
    assert "Only 2 seats are left" in refused.value.message
    assert not Registration.objects.filter(buyer_key="late").exists()
    assert refreshed(ticket_type).reserved == 0


def test_too_few_tables_is_said_in_tables():
    ticket_type = make_ticket_type(capacity=15)
    with pytest.raises(NotEnoughAvailable) as refused:
        first(ticket_type, 2, registration_type="lodge")
    assert "Only 1 table left" in refused.value.message


def test_the_address_cap_holds(settings):
    settings.HOLD_SEATS_PER_IP = 5
    ticket_type = make_ticket_type(capacity=50)
    first(ticket_type, 4, buyer="a", address="10.1.1.1")
    with pytest.raises(AddressHoldLimit) as refused:
        first(ticket_type, 2, buyer="b", address="10.1.1.1")
    assert (refused.value.held, refused.value.limit) == (4, 5)
    assert first(ticket_type, 2, buyer="c", address="10.9.9.9") is not None
    assert refreshed(ticket_type).reserved == 6


def test_published_after_commit_in_the_general_paths_order():
    ticket_type = make_ticket_type(capacity=10)
    seen = []

    def on_registration(sender, registration, change, **kwargs):
        seen.append(("registration", change, registration.function_id))

    def on_availability(sender, function_id, availabilities, **kwargs):
        seen.extend(
            ("availability", a.ticket_type_id, a.reserved, a.version) for a in availabilities
        )

    registration_changed.connect(on_registration)
    availability_changed.connect(on_availability)
    try:
        first(ticket_type, 2)
    finally:
        registration_changed.disconnect(on_registration)
        availability_changed.disconnect(on_availability)
    function_id = ticket_type.event.function_id
    assert seen == [
        ("registration", "created", function_id),
        ("registration", "hold_created", function_id),
        ("availability", ticket_type.pk, 2, refreshed(ticket_type).version),
    ]


def declines(ticket_type, quantity=1, **kwargs) -> bool:
    before = Registration.objects.count()
    result = first(ticket_type, quantity, **kwargs)
    assert Registration.objects.count() == before  # a decline changes nothing
    return result is None


class TestDeclines:
    """Whatever the fast path does not answer exactly goes to the general path."""

    def test_a_buyer_who_already_has_a_registration(self):
        ticket_type = make_ticket_type(capacity=10)
        hold(ticket_type, 1, buyer="again")
        assert declines(ticket_type, buyer="again")
        assert refreshed(ticket_type).reserved == 1

    def test_off_sale_cancelled_or_draft(self):
        past = timezone.now() - datetime.timedelta(days=1)
        assert declines(make_ticket_type(sales_end=past))
        assert declines(make_ticket_type(sales_start=timezone.now() + datetime.timedelta(days=1)))
        assert declines(make_ticket_type(event=make_event(status=Event.Status.CANCELLED)))
        assert declines(make_ticket_type(event=make_event(status=Event.Status.DRAFT)))

    def test_an_unpublished_function_or_another_functions_ticket_type(self):
        ticket_type = make_ticket_type()
        function = ticket_type.event.function
        function.published = False
        function.save()
        assert declines(ticket_type)
        other = make_ticket_type()
        assert (
            first_hold.try_first_hold(
                function_slug=other.event.function.slug,
                ticket_type_id=ticket_type.pk,
                quantity=1,
                registration_type="individual",
                buyer_key="x",
                user_id=None,
                client_address="",
            )
            is None
        )

    def test_a_quantity_outside_the_limits(self):
        ticket_type = make_ticket_type(min_per_order=2, max_per_order=4, max_tables_per_order=1)
        assert declines(ticket_type, 1)
        assert declines(ticket_type, 5)
        assert declines(ticket_type, 2, registration_type="lodge")

    def test_sold_out_with_expired_holds_the_sweeper_has_not_reached(self):
        ticket_type = make_ticket_type(capacity=1)
        stale = hold(ticket_type, 1, buyer="gone").registration
        Hold.objects.filter(registration=stale).update(expires_at=stale.created_at)
        assert declines(ticket_type, buyer="next")

    def test_a_registration_type_the_ticket_type_is_not_for(self):
        lodges_only = make_ticket_type(capacity=50, eligible_registration_types=["lodge"])
        assert declines(lodges_only, registration_type="individual")
        assert refreshed(lodges_only).reserved == 0
        held = first(lodges_only, 1, registration_type="lodge")
        assert held is not None
        assert refreshed(lodges_only).reserved > 0

    def test_the_predicate_is_one_database_function(self):
        # The one place a new ticket-type rule is added (FAST_PATH_RULES says what it checks).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'lodgetix_first_hold_declines'"
            )
            assert cursor.fetchone() == (1,)
