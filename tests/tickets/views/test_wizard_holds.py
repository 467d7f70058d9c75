"""The wizard over HTTP when the hold runs short: the one expiry rule on every step, the
extension, the attendee draft; and the fields themselves (autocomplete, the error summary,
lodge fields only for Masons), and the confirmation's events."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.support.factories import hold, make_event, make_function, make_ticket_type, refreshed
from tests.support.html import elements_by_id, refusal_code
from tests.support.http import post_hold
from tickets.models import Hold, Registration
from tickets.services import holds

pytestmark = pytest.mark.django_db


def url(name: str, registration: Registration) -> str:
    return reverse(f"tickets:registration-{name}", kwargs={"pk": registration.pk})


def start(client, tt, quantity: int = 1) -> Registration:
    assert post_hold(client, tt, quantity).status_code == 303
    registration = Registration.objects.get(status=Registration.Status.PENDING)
    assert client.post(url("tickets", registration)).status_code == 303
    return registration


def one_attendee(tt, **fields: str) -> dict[str, str]:
    values = {
        "attendee_type": "guest",
        "first_name": "Alan",
        "last_name": "Reid",
        "email": "alan@example.com",
        "phone": "0400 000 000",
        f"ticket_{tt.event_id}": str(tt.pk),
        **fields,
    }
    return {
        "attendees-TOTAL_FORMS": "1",
        "attendees-INITIAL_FORMS": "1",
        **{f"attendees-0-{name}": value for name, value in values.items()},
    }


def expire_and_sweep(registration: Registration) -> None:
    past = timezone.now() - datetime.timedelta(seconds=1)
    Registration.objects.filter(pk=registration.pk).update(expires_at=past)
    registration.holds.update(expires_at=past)
    holds.release_expired_holds()


def seats_taken_by_someone_else(tt) -> None:
    hold(tt, tt.capacity, buyer="someone-else")


class TestOneExpiryRule:
    def test_attendee_step_retakes_free_seats(self, client):
        tt = make_ticket_type(capacity=3)
        registration = start(client, tt)
        expire_and_sweep(registration)
        page = client.get(url("attendees", registration))
        assert page.status_code == 200
        assert "hidden" not in elements_by_id(page.content.decode())["hold-expired"].attrs
        response = client.post(url("attendees", registration), one_attendee(tt))
        assert response.status_code == 303
        assert response["Location"] == url("review", registration)
        registration.refresh_from_db()
        assert registration.status == Registration.Status.PENDING
        assert refreshed(tt).reserved == 1

    def test_attendee_step_says_so_when_the_seats_are_gone(self, client):
        tt = make_ticket_type(capacity=1)
        registration = start(client, tt)
        expire_and_sweep(registration)
        seats_taken_by_someone_else(tt)
        response = client.post(url("attendees", registration), one_attendee(tt))
        assert response.status_code == 409
        assert refusal_code(response) == "hold_expired"
        body = response.content.decode()
        assert "gone to someone else" in body
        assert 'value="Alan"' in body  # what was typed is still there

    def test_review_step(self, client):
        tt = make_ticket_type(capacity=1)
        registration = start(client, tt)
        assert client.post(url("attendees", registration), one_attendee(tt)).status_code == 303
        expire_and_sweep(registration)
        assert client.get(url("review", registration)).status_code == 200
        seats_taken_by_someone_else(tt)
        response = client.post(url("review", registration))
        assert (response.status_code, refusal_code(response)) == (409, "hold_expired")

        Hold.objects.filter(registration__buyer_key="someone-else").delete()
        tt.__class__.objects.filter(pk=tt.pk).update(reserved=0)  # as if they cancelled
        response = client.post(url("review", registration))
        assert response.status_code == 303
        assert refreshed(tt).reserved == 1

    def test_payment_step(self, client):
        tt = make_ticket_type(capacity=1)
        registration = start(client, tt)
        client.post(url("attendees", registration), one_attendee(tt))
        client.post(url("review", registration))
        expire_and_sweep(registration)
        assert client.get(url("payment", registration)).status_code == 200
        seats_taken_by_someone_else(tt)
        response = client.post(url("payment", registration), {"method": "invoice"})
        assert (response.status_code, refusal_code(response)) == (409, "hold_expired")

    def test_the_ticket_step_of_an_expired_registration_is_closed(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        expire_and_sweep(registration)
        page = client.get(url("tickets", registration)).content.decode()
        assert "Your hold has expired" in page


class TestExtension:
    def test_once_then_409(self, client):
        tt = make_ticket_type(event=make_event(make_function(hold_minutes=10)))
        registration = start(client, tt)
        before = Registration.objects.get().expires_at
        json = {"HTTP_ACCEPT": "application/json"}
        first = client.post(url("extend", registration), **json)
        assert first.status_code == 200
        registration.refresh_from_db()
        assert registration.expires_at == before + datetime.timedelta(minutes=10)
        assert first.json()["expires_at"] == registration.expires_at.isoformat()

        second = client.post(url("extend", registration), **json)
        assert second.status_code == 409
        assert second.json()["code"] == "hold_already_extended"
        assert "extended once" in second.json()["error"]
        registration.refresh_from_db()
        assert registration.expires_at == before + datetime.timedelta(minutes=10)

    def test_without_script_a_redirect_then_a_page_saying_why(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        response = client.post(url("extend", registration))
        assert response.status_code == 303
        assert response["Location"] == url("attendees", registration)
        refused = client.post(url("extend", registration))
        assert (refused.status_code, refusal_code(refused)) == (409, "hold_already_extended")

    def test_the_page_offers_it_until_used(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        assert 'id="extend-hold"' in client.get(url("attendees", registration)).content.decode()
        client.post(url("extend", registration))
        page = client.get(url("attendees", registration)).content.decode()
        assert 'id="extend-hold"' not in page
        assert 'data-kind="hold_expiring"' in page

    def test_someone_elses_registration_is_404(self, client):
        other = hold(make_ticket_type(), buyer="not-you").registration
        assert client.post(url("extend", other)).status_code == 404


class TestDraft:
    def test_an_invalid_post_is_kept_and_offered_after_expiry(self, client):
        tt = make_ticket_type(capacity=3)
        registration = start(client, tt)
        typed = one_attendee(tt, first_name="Alan", last_name="", dietary_requirements="Vegan")
        assert client.post(url("attendees", registration), typed).status_code == 400
        expire_and_sweep(registration)
        page = client.get(url("attendees", registration)).content.decode()
        assert 'value="Alan"' in page
        assert 'value="Vegan"' in page
        assert 'value="alan@example.com"' in page


class TestFields:
    def test_autocomplete_and_input_types(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        found = elements_by_id(client.get(url("attendees", registration)).content.decode())
        expected = {
            "id_attendees-0-title": ("honorific-prefix", "text"),
            "id_attendees-0-first_name": ("given-name", "text"),
            "id_attendees-0-last_name": ("family-name", "text"),
            "id_attendees-0-email": ("email", "email"),
            "id_attendees-0-phone": ("tel", "tel"),
            "id_attendees-0-lodge_name": ("organization", "text"),
        }
        for field_id, (token, kind) in expected.items():
            assert found[field_id].attrs.get("autocomplete") == token, field_id
            assert found[field_id].attrs.get("type") == kind, field_id
        for field_id, element in found.items():
            if field_id.startswith("id_attendees-0-"):
                assert element.attrs.get("autocomplete"), field_id

    def test_a_second_attendee_autofills_as_its_own_section(self, client):
        tt = make_ticket_type()
        registration = start(client, tt, 2)
        found = elements_by_id(client.get(url("attendees", registration)).content.decode())
        assert found["id_attendees-1-first_name"].attrs["autocomplete"] == "section-a1 given-name"

    def test_contact_form_of_a_lodge(self, client):
        tt = make_ticket_type(capacity=100)
        post_hold(client, tt, 1, registration_type="lodge")
        registration = Registration.objects.get()
        client.post(url("tickets", registration))
        found = elements_by_id(client.get(url("attendees", registration)).content.decode())
        assert found["id_contact-contact_email"].attrs["type"] == "email"
        assert found["id_contact-contact_phone"].attrs["type"] == "tel"
        assert found["id_contact-contact_phone"].attrs["autocomplete"] == "tel"
        assert found["id_contact-lodge_name"].attrs["autocomplete"] == "organization"

    def test_error_summary_links_to_the_fields_and_keeps_what_was_typed(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        response = client.post(
            url("attendees", registration), one_attendee(tt, last_name="", email="not-an-email")
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert 'href="#id_attendees-0-last_name"' in body
        assert 'href="#id_attendees-0-email"' in body
        assert 'value="not-an-email"' in body
        assert elements_by_id(body)["step-error"].attrs["tabindex"] == "-1"

    def test_lodge_fields_of_a_guest_are_ignored(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        response = client.post(
            url("attendees", registration),
            one_attendee(tt, lodge_name="Lodge Antiquity", lodge_number="2"),
        )
        assert response.status_code == 303
        saved = registration.attendees.get()
        assert (saved.lodge_name, saved.lodge_number) == ("", "")


def test_the_confirmation_shows_each_events_date_time_and_venue(client):
    function = make_function()
    starts = timezone.make_aware(datetime.datetime(2027, 3, 6, 18, 30))
    banquet = make_ticket_type(
        make_event(
            function,
            name="Grand Banquet",
            venue="Sydney Town Hall",
            starts_at=starts,
            ends_at=starts + datetime.timedelta(hours=4),
        )
    )
    registration = start(client, banquet)
    client.post(url("attendees", registration), one_attendee(banquet))
    client.post(url("review", registration))
    response = client.post(url("payment", registration), {"method": "invoice"})
    page = client.get(response["Location"]).content.decode()
    element = elements_by_id(page)[f"confirmation-event-{banquet.event_id}"]
    assert element is not None
    assert "Saturday 6 March 2027, 6:30 PM" in page
    assert "Sydney Town Hall" in page
