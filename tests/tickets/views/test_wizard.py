"""The registration wizard over HTTP: steps, attendees, payment, cancelling."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import hold, make_event, make_ticket_type, refreshed
from tests.support.html import refusal_code
from tests.support.http import post_hold
from tickets.models import Registration, Ticket

pytestmark = pytest.mark.django_db


class TestWizard:
    def _start(self, client, ticket_type, quantity=1) -> Registration:
        assert post_hold(client, ticket_type, quantity).status_code == 303
        return Registration.objects.get()

    @staticmethod
    def _post_one_attendee(client, registration, fields: dict[str, str]):
        """Through the ticket step, then the attendee step's form for one attendee."""
        pk = {"pk": registration.pk}
        client.post(reverse("tickets:registration-tickets", kwargs=pk))
        data = {"attendees-TOTAL_FORMS": "1", "attendees-INITIAL_FORMS": "1"}
        data |= {f"attendees-0-{name}": value for name, value in fields.items()}
        return client.post(reverse("tickets:registration-attendees", kwargs=pk), data)

    def test_registration_url_redirects_to_current_step(self, client):
        tt = make_ticket_type()
        registration = self._start(client, tt)
        response = client.get(reverse("tickets:registration", kwargs={"pk": registration.pk}))
        assert response.status_code == 303
        assert response["Location"].endswith("/tickets/")

    def test_later_steps_redirect_back_until_reached(self, client):
        tt = make_ticket_type()
        registration = self._start(client, tt)
        response = client.get(
            reverse("tickets:registration-payment", kwargs={"pk": registration.pk})
        )
        assert response.status_code == 303
        assert response["Location"].endswith("/tickets/")

    def test_someone_elses_registration_is_404(self, client, django_user_model):
        tt = make_ticket_type()
        other = hold(tt, buyer="not-you").registration
        url = reverse("tickets:registration-tickets", kwargs={"pk": other.pk})
        assert client.get(url).status_code == 404
        post_hold(client, tt)  # now this client has a buyer key, but a different one
        assert client.get(url).status_code == 404
        cancel = reverse("tickets:registration-cancel", kwargs={"pk": other.pk})
        assert client.post(cancel).status_code == 404
        assert refreshed(tt).reserved == 2

    def test_full_individual_journey(self, client):
        event = make_event()
        banquet = make_ticket_type(event, name="Banquet", capacity=10, price="165.00")
        registration = self._start(client, banquet, 2)
        pk = {"pk": registration.pk}

        page = client.get(reverse("tickets:registration-tickets", kwargs=pk))
        assert page.status_code == 200
        assert 'id="hold-countdown"' in page.content.decode()
        assert client.post(reverse("tickets:registration-tickets", kwargs=pk)).status_code == 303

        page = client.get(reverse("tickets:registration-attendees", kwargs=pk))
        assert page.status_code == 200
        form = page.context["formset"]
        assert form.total_form_count() == 2
        data = {
            "attendees-TOTAL_FORMS": "2",
            "attendees-INITIAL_FORMS": "2",
            "attendees-MIN_NUM_FORMS": "0",
            "attendees-MAX_NUM_FORMS": "100",
        }
        for i, (first, kind) in enumerate([("Alan", "mason"), ("Mary", "lady_partner")]):
            data.update(
                {
                    f"attendees-{i}-attendee_type": kind,
                    f"attendees-{i}-first_name": first,
                    f"attendees-{i}-last_name": "Reid",
                    f"attendees-{i}-email": "alan@example.com" if i == 0 else "",
                    f"attendees-{i}-phone": "0400 000 000" if i == 0 else "",
                    f"attendees-{i}-lodge_name": "Lodge Antiquity" if i == 0 else "",
                    f"attendees-{i}-partner_of": "0" if i == 1 else "",
                    f"attendees-{i}-ticket_{event.pk}": str(banquet.pk),
                }
            )
        response = client.post(reverse("tickets:registration-attendees", kwargs=pk), data)
        assert response.status_code == 303, response.content.decode()[:2000]

        review = client.get(reverse("tickets:registration-review", kwargs=pk)).content.decode()
        assert "Alan Reid" in review
        assert "Mary Reid" in review
        assert client.post(reverse("tickets:registration-review", kwargs=pk)).status_code == 303

        response = client.post(
            reverse("tickets:registration-payment", kwargs=pk), {"method": "invoice"}
        )
        assert response.status_code == 303
        confirmation = client.get(response["Location"]).content.decode()
        registration.refresh_from_db()
        assert registration.status == Registration.Status.CONFIRMED
        assert registration.payment_status == Registration.PaymentStatus.PENDING
        assert registration.contact_email == "alan@example.com"
        assert registration.confirmation_number in confirmation
        mary = registration.attendees.get(first_name="Mary")
        assert mary.partner_of.first_name == "Alan"
        assert Ticket.objects.filter(attendee__registration=registration).count() == 2
        banquet.refresh_from_db()
        assert (banquet.reserved, banquet.sold) == (0, 2)

    def test_attendee_form_errors_are_400_and_keep_the_step(self, client):
        tt = make_ticket_type()
        registration = self._start(client, tt)
        response = self._post_one_attendee(
            client, registration, {"first_name": "", "attendee_type": "mason"}
        )
        assert response.status_code == 400
        assert refusal_code(response) == "invalid_fields"
        registration.refresh_from_db()
        assert registration.step == Registration.Step.ATTENDEE_DETAILS

    def test_an_email_longer_than_its_column_is_400_not_a_database_error(self, client):
        # 258 characters: a valid address for the email validator, too long for the
        # 254-character column. The form's fields come from the model, so it says so.
        too_long = "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "b" * 6 + ".com"
        assert len(too_long) == 258
        tt = make_ticket_type()
        registration = self._start(client, tt)
        response = self._post_one_attendee(
            client,
            registration,
            {
                "attendee_type": "guest",
                "first_name": "Alan",
                "last_name": "Reid",
                "email": too_long,
                "phone": "0400 000 000",
                f"ticket_{tt.event_id}": str(tt.pk),
            },
        )
        assert response.status_code == 400
        assert "at most 254 characters" in response.content.decode()
        registration.refresh_from_db()
        assert registration.step == Registration.Step.ATTENDEE_DETAILS
        assert not registration.attendees.exists()

    def test_free_registration_needs_no_payment(self, client):
        tt = make_ticket_type(price="0.00")
        registration = self._start(client, tt)
        from tests.support.factories import attendee, reach_payment

        reach_payment(registration, [attendee("A", tt)])
        response = client.post(
            reverse("tickets:registration-payment", kwargs={"pk": registration.pk})
        )
        assert response.status_code == 303
        registration.refresh_from_db()
        assert registration.payment_status == Registration.PaymentStatus.NOT_REQUIRED

    def test_cancel_gives_seats_back(self, client):
        tt = make_ticket_type(capacity=10)
        registration = self._start(client, tt, 3)
        response = client.post(
            reverse("tickets:registration-cancel", kwargs={"pk": registration.pk})
        )
        assert response.status_code == 303
        assert response["Location"] == tt.event.function.get_absolute_url()
        assert refreshed(tt).reserved == 0

    def test_remove_one_line(self, client):
        tt = make_ticket_type(capacity=10)
        registration = self._start(client, tt, 3)
        line = registration.holds.get()
        url = reverse("tickets:hold-remove", kwargs={"pk": registration.pk, "hold_id": line.pk})
        assert client.post(url).status_code == 303
        assert refreshed(tt).reserved == 0
        assert client.post(url).status_code == 303  # a second click is harmless

    def test_continuing_with_nothing_selected_is_409_on_the_step(self, client):
        tt = make_ticket_type(capacity=10)
        registration = self._start(client, tt, 1)
        pk = {"pk": registration.pk}
        line = registration.holds.get()
        client.post(reverse("tickets:hold-remove", kwargs={**pk, "hold_id": line.pk}))
        response = client.post(reverse("tickets:registration-tickets", kwargs=pk))
        assert response.status_code == 409
        assert refusal_code(response) == "nothing_selected"
        assert "Select at least one ticket first." in response.content.decode()
