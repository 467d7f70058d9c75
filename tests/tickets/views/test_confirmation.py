"""The confirmation page is the owners' ticket view (docs/design.md §8.9): one `ticket-<id>` per
ticket with the code its QR carries, in a constant number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.support import factories
from tests.support.html import elements_by_id
from tests.support.http import body_of, post_hold
from tickets.models import Registration, Ticket
from tickets.services import registrations as wizard

pytestmark = pytest.mark.django_db


def confirmation_url(registration: Registration) -> str:
    return reverse("tickets:registration-confirmation", kwargs={"pk": registration.pk})


def confirm_lodge(client, banquet, brunch, *, tables: int) -> Registration:
    """A lodge's tables and two brunch seats, held through this client (which then owns the
    registration) and confirmed by invoice without names."""
    assert post_hold(client, banquet, tables, registration_type="lodge").status_code == 303
    response = post_hold(client, brunch, 2, registration_type="lodge")
    assert response.status_code == 303, response.content.decode()[-1500:]
    registration = Registration.objects.get(status=Registration.Status.PENDING)
    wizard.continue_to_attendee_details(registration.pk)
    contact = wizard.ContactDetails(
        contact_name="Sec", contact_email="sec@example.com", contact_phone="1", lodge_name="A"
    )
    wizard.save_attendee_details(registration.pk, contact, [])
    wizard.continue_to_payment(registration.pk)
    return wizard.confirm_registration(
        registration.pk, payment_method="invoice", payment_status="pending"
    )


@pytest.fixture
def banquet():
    function = factories.make_function(unpaid_seat_limit=500)
    return factories.make_ticket_type(
        factories.make_event(function), name="Banquet table seat", capacity=500
    )


@pytest.fixture
def brunch(banquet):
    event = factories.make_event(banquet.event.function, name="Ladies' brunch", position=5)
    return factories.make_ticket_type(event, name="Brunch", sold_by_table=False)


def test_every_ticket_shows_with_its_code_event_qr_and_holder(client, banquet, brunch) -> None:
    registration = confirm_lodge(client, banquet, brunch, tables=1)
    page = body_of(client.get(confirmation_url(registration)), 200)
    elements = elements_by_id(page)

    tickets = list(Ticket.objects.filter(hold__registration=registration))
    assert len(tickets) == 12
    for ticket in tickets:
        element = elements[f"ticket-{ticket.pk}"]
        assert element.attrs["data-code"] == ticket.code
        assert element.attrs["data-event"] == str(ticket.event_id)
        holder = elements[f"ticket-{ticket.pk}-holder"]
        assert element.attrs["aria-labelledby"] == f"ticket-{ticket.pk}-holder"
        assert holder is not None
    assert page.count('class="ticket"') == 12
    assert page.count('<svg role="img"') == 12
    for ticket in tickets:
        assert f"<code>{ticket.code}</code>" in page
    assert page.count("Unnamed seat (lodge table 1)") == 10
    assert page.count("Unnamed seat</strong>") == 2
    assert "Some seats are not named yet" in page
    assert "with its tax invoice" in page
    assert "by bank transfer" in page


def test_named_attendees_show_on_their_tickets(client) -> None:
    tt = factories.make_ticket_type(name="Banquet")
    assert post_hold(client, tt, 2).status_code == 303
    registration = Registration.objects.get()
    factories.reach_payment(
        registration,
        [
            factories.attendee("Alan", tt, email="alan@example.com"),
            factories.attendee("Grace", tt, attendee_type="guest", email="", lodge_name=""),
        ],
    )
    wizard.confirm_registration(registration.pk, payment_method="door", payment_status="pending")

    page = body_of(client.get(confirmation_url(registration)), 200)
    elements = elements_by_id(page)
    for ticket in Ticket.objects.filter(hold__registration=registration).select_related("attendee"):
        assert str(ticket.attendee) in elements[f"ticket-{ticket.pk}-holder"].text
    assert "Unnamed seat" not in page
    assert "at the door" in page


def test_the_page_reads_as_many_queries_for_12_tickets_as_for_52(client, banquet, brunch) -> None:
    small = confirm_lodge(client, banquet, brunch, tables=1)
    with CaptureQueriesContext(connection) as for_small:
        body_of(client.get(confirmation_url(small)), 200)

    other = client.__class__()
    large = confirm_lodge(other, banquet, brunch, tables=5)
    with CaptureQueriesContext(connection) as for_large:
        page = body_of(other.get(confirmation_url(large)), 200)

    assert page.count('class="ticket"') == 52
    assert len(for_large) == len(for_small)


def test_someone_elses_confirmation_shows_no_tickets(client, banquet, brunch) -> None:
    registration = confirm_lodge(client, banquet, brunch, tables=1)
    stranger = client.__class__()
    response = stranger.get(confirmation_url(registration))
    assert response.status_code == 404
    assert Ticket.objects.filter(hold__registration=registration).first().code not in (
        response.content.decode()
    )


def test_the_payment_step_promises_what_the_confirmation_email_does(client) -> None:
    tt = factories.make_ticket_type(
        event=factories.make_event(factories.make_function(unpaid_days=10))
    )
    assert post_hold(client, tt, 1).status_code == 303
    registration = Registration.objects.get()
    factories.reach_payment(registration, [factories.attendee("Alan", tt)])
    page = body_of(
        client.get(reverse("tickets:registration-payment", kwargs={"pk": registration.pk})), 200
    )
    assert "We email a tax invoice with your confirmation" in page
    assert "within 10 days" in page
    assert "bank details" not in page


def test_the_confirmation_links_to_naming_the_seats_until_names_are_due(
    client, banquet, brunch
) -> None:
    registration = confirm_lodge(client, banquet, brunch, tables=1)
    names_url = reverse("tickets:registration-names", kwargs={"pk": registration.pk})
    page = body_of(client.get(confirmation_url(registration)), 200)
    assert f'href="{names_url}"' in page

    function = registration.function
    function.names_due_at = timezone.now() - datetime.timedelta(minutes=1)
    function.save()
    page = body_of(client.get(confirmation_url(registration)), 200)
    assert names_url not in page
    assert "Naming seats has closed" in page
