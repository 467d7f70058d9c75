"""The public pages, the hold form, the wizard and the JSON API over HTTP."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.buyers import BUYER_SESSION_KEY
from tests.support.factories import hold, make_event, make_function, make_ticket_type, refreshed
from tests.support.html import refusal_code
from tickets.models import Event, Hold, Registration, Ticket

pytestmark = pytest.mark.django_db


def hold_url(function) -> str:
    return reverse("tickets:hold-create", kwargs={"slug": function.slug})


def post_hold(client, ticket_type, quantity=1, **extra):
    data = {"ticket_type": ticket_type.pk, "quantity": quantity, **extra}
    return client.post(hold_url(ticket_type.event.function), data)


class TestFunctionPages:
    def test_lists_only_published_functions(self, client):
        make_function(name="Grand Installation")
        make_function(name="Secret Draft", published=False)
        page = client.get("/").content.decode()
        assert "Grand Installation" in page
        assert "Secret Draft" not in page

    def test_unpublished_function_is_404(self, client):
        function = make_function(published=False)
        assert client.get(function.get_absolute_url()).status_code == 404

    def test_function_page_shows_availability_states(self, client):
        event = make_event()
        plenty = make_ticket_type(event, capacity=50)
        low = make_ticket_type(event, capacity=12)
        gone = make_ticket_type(event, capacity=2)
        hold(low, 5, buyer="a")
        hold(gone, 2, buyer="b")
        page = client.get(event.function.get_absolute_url()).content.decode()
        assert f'id="availability-{plenty.pk}"' in page
        assert re.search(
            rf'id="availability-{plenty.pk}"[^>]*data-state="in_stock"[^>]*>50 available', page
        )
        assert re.search(
            rf'id="availability-{low.pk}"[^>]*data-state="low"[^>]*>Only 7 left!', page
        )
        assert re.search(
            rf'id="availability-{gone.pk}"[^>]*data-state="sold_out"[^>]*>SOLD OUT', page
        )
        assert re.search(rf'<button id="buy-{gone.pk}"[^>]* disabled', page)
        assert not re.search(rf'<button id="buy-{plenty.pk}"[^>]* disabled', page)

    def test_low_stock_threshold_is_per_function(self, client):
        tt = make_ticket_type(event=make_event(make_function(low_stock_threshold=30)), capacity=25)
        page = client.get(tt.event.function.get_absolute_url()).content.decode()
        assert "Only 25 left!" in page

    def test_draft_events_are_not_shown(self, client):
        function = make_function()
        make_ticket_type(make_event(function, name="Hidden Dinner", status=Event.Status.DRAFT))
        assert "Hidden Dinner" not in client.get(function.get_absolute_url()).content.decode()

    def test_cancelled_event_shows_banner_and_disables_buying(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.CANCELLED))
        page = client.get(tt.event.function.get_absolute_url()).content.decode()
        assert f'id="event-status-{tt.event_id}"' in page
        assert 'data-status="cancelled"' in page
        assert re.search(rf'<button id="buy-{tt.pk}"[^>]* disabled', page)
        assert 'data-state="unavailable"' in page

    def test_function_page_query_count_does_not_grow_with_ticket_types(self, client):
        def queries_for_page_with(ticket_types_per_event: int) -> int:
            function = make_function()
            for _ in range(3):
                event = make_event(function)
                for _ in range(ticket_types_per_event):
                    make_ticket_type(event)
            client.get(function.get_absolute_url())  # the first visit creates the session
            with CaptureQueriesContext(connection) as queries:
                assert client.get(function.get_absolute_url()).status_code == 200
            return len(queries)

        small, large = queries_for_page_with(1), queries_for_page_with(6)
        assert small == large
        assert large <= 5


class TestHoldForm:
    def test_hold_redirects_303_to_the_registration(self, client):
        tt = make_ticket_type(capacity=10)
        response = post_hold(client, tt, 2)
        assert response.status_code == 303
        registration = Registration.objects.get()
        assert response["Location"] == reverse(
            "tickets:registration-tickets", kwargs={"pk": registration.pk}
        )
        assert refreshed(tt).reserved == 2
        assert client.session[BUYER_SESSION_KEY] == registration.buyer_key

    def test_not_enough_available_is_409_with_the_reason(self, client):
        tt = make_ticket_type(capacity=1)
        hold(tt, 1, buyer="someone-else")
        response = post_hold(client, tt, 1)
        assert response.status_code == 409
        assert "has just sold out" in response.content.decode()
        assert refusal_code(response) == "not_enough_available"
        assert refreshed(tt).reserved == 1

    def test_cancelled_event_is_409(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.CANCELLED))
        response = post_hold(client, tt)
        assert response.status_code == 409
        assert "cancelled" in response.content.decode()
        assert refusal_code(response) == "event_cancelled"

    def test_sales_closed_is_409(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.PUBLISHED))
        tt.event.function.published = True
        tt.sales_end = tt.event.starts_at.replace(year=2000)
        tt.save()
        response = post_hold(client, tt)
        assert response.status_code == 409
        assert refusal_code(response) == "sales_closed"

    # The code is the refusal's when the service refused; None when the form did (its
    # fields say what is wrong, as the hold-errors list).
    @pytest.mark.parametrize(
        ("data", "code"),
        [
            ({}, None),
            ({"ticket_type": "1"}, None),
            ({"quantity": "1"}, None),
            ({"ticket_type": "abc", "quantity": "1"}, None),
            ({"ticket_type": "{tt}", "quantity": "two"}, None),
            ({"ticket_type": "{tt}", "quantity": "-3"}, None),
            ({"ticket_type": "{tt}", "quantity": "0"}, None),
            ({"ticket_type": "{tt}", "quantity": "1.5"}, None),
            ({"ticket_type": "{tt}", "quantity": "99999999999999999999"}, None),
            # above max_per_order
            ({"ticket_type": "{tt}", "quantity": "11"}, "quantity_out_of_range"),
            # not a ticket type of this function
            ({"ticket_type": "999999", "quantity": "1"}, "unknown_ticket_type"),
            ({"ticket_type": "{tt}", "quantity": "1", "registration_type": "pirate"}, None),
        ],
    )
    def test_bad_input_is_400_and_changes_nothing(self, client, data, code):
        tt = make_ticket_type(capacity=10, max_per_order=10)
        data = {k: v.replace("{tt}", str(tt.pk)) for k, v in data.items()}
        response = client.post(hold_url(tt.event.function), data)
        assert response.status_code == 400
        assert refusal_code(response) == code
        assert refreshed(tt).reserved == 0
        assert not Registration.objects.exists()
        assert not Hold.objects.exists()

    def test_ticket_type_of_another_function_is_400(self, client):
        tt = make_ticket_type()
        other = make_function()
        response = client.post(hold_url(other), {"ticket_type": tt.pk, "quantity": 1})
        assert response.status_code == 400
        assert refusal_code(response) == "unknown_ticket_type"
        assert refreshed(tt).reserved == 0

    def test_get_is_not_allowed(self, client):
        tt = make_ticket_type()
        assert client.get(hold_url(tt.event.function)).status_code == 405

    def test_lodge_quantity_counts_tables(self, client):
        tt = make_ticket_type(capacity=100)
        response = post_hold(client, tt, 2, registration_type="lodge")
        assert response.status_code == 303
        assert refreshed(tt).reserved == 20


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


class TestAvailabilityApi:
    def test_contract_shape(self, client):
        function = make_function(slug="grand-proclamation")
        event = make_event(function, slug="banquet")
        tt = make_ticket_type(event, name="Banquet seat", price="165.00", capacity=480)
        hold(tt, 2)
        body = client.get("/api/functions/grand-proclamation/availability/").json()
        assert body == {
            "function": "grand-proclamation",
            "events": [
                {
                    "id": event.pk,
                    "slug": "banquet",
                    "status": "published",
                    "ticket_types": [
                        {
                            "id": tt.pk,
                            "name": "Banquet seat",
                            "price": "165.00",
                            "capacity": 480,
                            "available": 478,
                            "reserved": 2,
                            "sold": 0,
                            "version": 1,
                        }
                    ],
                }
            ],
        }

    def test_unknown_function_is_404(self, client):
        assert client.get("/api/functions/nope/availability/").status_code == 404
