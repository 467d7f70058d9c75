"""Eligibility (docs/design.md §15) through HTTP: each rule kind refused with 409 and its
reason, nothing changed; the same request of someone eligible goes through."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support import factories
from tests.support.html import elements_by_id, refusal_code
from tests.support.http import body_of, hold_url, post_hold
from tickets.models import Attendee, GrandLodge, Hold, Lodge, Registration, Ticket
from tickets.services import eligibility
from tickets.services.exceptions import NotEligible

pytestmark = pytest.mark.django_db


def grand_lodges() -> tuple[GrandLodge, GrandLodge]:
    nsw = GrandLodge.objects.create(name="UGL of NSW and ACT", abbreviation="UGLNSW&ACT")
    vic = GrandLodge.objects.create(name="UGL of Victoria", abbreviation="UGLV")
    Lodge.objects.create(grand_lodge=nsw, name="Lodge Harmony", number="5")
    Lodge.objects.create(grand_lodge=vic, name="Lodge Unity", number="12")
    return nsw, vic


def attendee_step(client, registration: Registration, event, ticket_type, **fields):
    """Through the ticket step, then one attendee seated on `ticket_type`."""
    pk = {"pk": registration.pk}
    client.post(reverse("tickets:registration-tickets", kwargs=pk))
    values = {
        "attendee_type": Attendee.Type.MASON,
        "first_name": "Alan",
        "last_name": "Reid",
        "email": "alan@example.com",
        "phone": "0400 000 000",
        "lodge_name": "Lodge Harmony",
        "lodge_number": "5",
        f"ticket_{event.pk}": str(ticket_type.pk),
        **fields,
    }
    data = {"attendees-TOTAL_FORMS": "1", "attendees-INITIAL_FORMS": "1"}
    data |= {f"attendees-0-{name}": value for name, value in values.items()}
    return client.post(reverse("tickets:registration-attendees", kwargs=pk), data)


class TestRegistrationType:
    def test_an_individual_cannot_hold_a_lodge_only_ticket(self, client):
        tt = factories.make_ticket_type(
            name="Lodge table", eligible_registration_types=[Registration.Type.LODGE]
        )
        page = body_of(post_hold(client, tt, 1), 409)
        assert "Lodge table is for lodge registrations only." in page
        assert refusal_code(post_hold(client, tt, 1)) == "not_eligible"
        assert not Registration.objects.exists()
        assert factories.refreshed(tt).reserved == 0

    def test_a_selection_with_a_line_not_offered_holds_nothing(self, client):
        event = factories.make_event()
        open_tt = factories.make_ticket_type(event, name="Banquet")
        lodge_only = factories.make_ticket_type(
            event, name="Lodge table", eligible_registration_types=[Registration.Type.LODGE]
        )
        data = {f"quantity_{open_tt.pk}": "1", f"quantity_{lodge_only.pk}": "1"}
        page = body_of(client.post(hold_url(event.function), data), 409)
        assert "Lodge table is for lodge registrations only." in page
        assert not Hold.objects.exists()

    def test_a_lodge_may_hold_it(self, client):
        tt = factories.make_ticket_type(eligible_registration_types=[Registration.Type.LODGE])
        response = post_hold(client, tt, 1, registration_type=Registration.Type.LODGE)
        assert response.status_code == 303
        assert factories.refreshed(tt).reserved == 10

    def test_the_function_page_says_why_it_is_not_offered(self, client):
        tt = factories.make_ticket_type(
            name="Lodge table", eligible_registration_types=[Registration.Type.LODGE]
        )
        url = reverse("tickets:function-detail", kwargs={"slug": tt.event.function.slug})
        found = elements_by_id(body_of(client.get(url), 200))
        assert "for lodge registrations only" in found[f"not-offered-{tt.pk}"].text
        # Never posted (disabled); the socket still finds its button to swap.
        assert "disabled" in found[f"quantity-{tt.pk}"].attrs
        as_lodge = elements_by_id(body_of(client.get(url, {"as": "lodge"}), 200))
        assert f"not-offered-{tt.pk}" not in as_lodge
        assert "disabled" not in as_lodge[f"quantity-{tt.pk}"].attrs
        assert as_lodge[f"eligibility-{tt.pk}"].text == "Lodge registrations only"


class TestAttendeeType:
    def test_a_guest_is_refused_the_masons_only_ticket(self, client):
        event = factories.make_event()
        tt = factories.make_ticket_type(
            event, name="Quarterly Communication", eligible_attendee_types=[Attendee.Type.MASON]
        )
        assert post_hold(client, tt, 1).status_code == 303
        registration = Registration.objects.get()
        response = attendee_step(client, registration, event, tt, attendee_type=Attendee.Type.GUEST)
        page = body_of(response, 409)
        assert "Attendee 1: Quarterly Communication is for Masons only." in page
        assert refusal_code(response) == "not_eligible"
        registration.refresh_from_db()
        assert registration.step == Registration.Step.ATTENDEE_DETAILS
        assert not Attendee.objects.exists()
        assert not Ticket.objects.exists()

    def test_a_mason_takes_it(self, client):
        event = factories.make_event()
        tt = factories.make_ticket_type(event, eligible_attendee_types=[Attendee.Type.MASON])
        post_hold(client, tt, 1)
        registration = Registration.objects.get()
        assert attendee_step(client, registration, event, tt).status_code == 303
        assert Ticket.objects.get().attendee.first_name == "Alan"

    def test_the_attendee_step_marks_who_each_ticket_is_for(self, client):
        event = factories.make_event()
        tt = factories.make_ticket_type(event, eligible_attendee_types=[Attendee.Type.MASON])
        post_hold(client, tt, 1)
        registration = Registration.objects.get()
        client.post(reverse("tickets:registration-tickets", kwargs={"pk": registration.pk}))
        page = body_of(
            client.get(reverse("tickets:registration-attendees", kwargs={"pk": registration.pk})),
            200,
        )
        assert 'data-attendee-types="mason"' in page
        assert "Masons only" in page


class TestGrandLodge:
    @staticmethod
    def attend(client, lodge_name: str, lodge_number: str):
        """A Mason typing this lodge seated on a ticket type for UGLNSW&ACT lodges only."""
        nsw, _ = grand_lodges()
        event = factories.make_event()
        tt = factories.make_ticket_type(event, name="Quarterly Communication")
        tt.eligible_grand_lodges.add(nsw)
        post_hold(client, tt, 1)
        registration = Registration.objects.get()
        return attendee_step(
            client, registration, event, tt, lodge_name=lodge_name, lodge_number=lodge_number
        )

    def test_a_mason_of_another_grand_lodge_is_refused(self, client):
        page = body_of(self.attend(client, "Lodge Unity", "12"), 409)
        assert "is for members of lodges under UGLNSW&amp;ACT only." in page
        assert not Attendee.objects.exists()

    def test_a_lodge_not_listed_is_asked_to_choose_from_the_list(self, client):
        page = body_of(self.attend(client, "Lodge Nowhere", "99"), 409)
        assert "Choose your lodge from the list" in page

    def test_a_mason_of_the_grand_lodge_takes_it_and_the_lodge_is_linked(self, client):
        # Typed another way than listed: the number inside the name, other case.
        assert self.attend(client, "HARMONY LODGE No. 5", "").status_code == 303
        assert Attendee.objects.get().lodge == Lodge.objects.get(number="5")


class TestNamesPage:
    def test_naming_a_guest_into_a_masons_only_seat_is_refused(self, client):
        from tests.tickets.views.test_names import names_url, owner_of, seat_fields, seats

        function = factories.make_function()
        tt = factories.make_ticket_type(
            factories.make_event(function), eligible_attendee_types=[Attendee.Type.MASON]
        )
        registration = factories.confirm(tt, 1, registration_type=Registration.Type.LODGE)
        ticket = seats(registration)[0]
        client = owner_of(client, registration)
        response = client.post(names_url(registration), seat_fields(ticket))
        assert "is for Masons only." in body_of(response, 409)
        ticket.refresh_from_db()
        assert ticket.attendee_id is None
        assert ticket.version == 0
        assert not Attendee.objects.exists()
        mason = seat_fields(ticket, attendee_type=Attendee.Type.MASON, lodge_name="Lodge Antiquity")
        assert client.post(names_url(registration), mason).status_code == 200


class TestRules:
    """The rules themselves, as other offers (packages) call them."""

    def test_empty_means_anyone(self):
        tt = factories.make_ticket_type()
        rules = eligibility.rules_for([tt])[tt.pk]
        assert rules.open_to_anyone
        for kind in Attendee.Type.values:
            assert eligibility.attendee_refusal(rules, kind, None) == ""
        for kind in Registration.Type.values:
            eligibility.check_registration_type(kind, tt)

    def test_registration_type_check_takes_any_offer(self):
        class Package:
            name = "Lodge package"
            eligible_registration_types = [Registration.Type.LODGE]

        with pytest.raises(NotEligible) as refused:
            eligibility.check_registration_type(Registration.Type.DELEGATION, Package())
        assert refused.value.http_status == 409
        assert refused.value.message == "Lodge package is for lodge registrations only."
