"""Structured dietary needs and special needs on the wizard's attendee step (§11)."""

from __future__ import annotations

import pytest

from tests.support.factories import make_ticket_type
from tests.support.html import elements_by_id
from tests.tickets.views.test_wizard_holds import one_attendee, start, url
from tickets.models import Attendee, Registration

pytestmark = pytest.mark.django_db


def attendee_post(tt, needs: list[str], **fields: str) -> dict:
    data = one_attendee(tt, **fields)
    data["attendees-0-dietary_needs"] = needs
    return data


class TestDietaryNeeds:
    def test_the_step_offers_every_need_as_a_checkbox(self, client):
        registration = start(client, make_ticket_type())
        page = client.get(url("attendees", registration)).content.decode()
        found = elements_by_id(page)
        boxes = [e for k, e in found.items() if k.startswith("id_attendees-0-dietary_needs_")]
        assert [b.attrs["value"] for b in boxes] == [
            "vegetarian",
            "vegan",
            "gluten_free",
            "dairy_free",
            "nut_allergy",
            "halal",
            "kosher",
            "other",
        ]
        assert all(b.attrs["type"] == "checkbox" for b in boxes)
        assert "id_attendees-0-special_needs" in found

    def test_ticked_needs_other_text_and_special_needs_are_saved_and_reviewed(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        data = attendee_post(
            tt,
            ["other", "vegan"],
            dietary_requirements="no onion",
            special_needs="Wheelchair access",
        )
        assert client.post(url("attendees", registration), data).status_code == 303
        attendee = Attendee.objects.get(registration=registration)
        assert attendee.dietary_needs == ["vegan", "other"]  # the list's order
        assert (attendee.dietary_requirements, attendee.special_needs) == (
            "no onion",
            "Wheelchair access",
        )
        review = client.get(url("review", registration)).content.decode()
        assert "Dietary: Vegan, Other: no onion" in review
        assert "Needs: Wheelchair access" in review

    def test_other_without_text_is_refused_beside_the_field(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        response = client.post(url("attendees", registration), attendee_post(tt, ["other"]))
        assert response.status_code == 400
        assert "Say what the other dietary need is." in response.content.decode()
        assert not Attendee.objects.filter(registration=registration).exists()

    def test_an_unknown_need_is_refused(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        response = client.post(url("attendees", registration), attendee_post(tt, ["chocolate"]))
        assert response.status_code == 400
        assert not Attendee.objects.filter(registration=registration).exists()

    def test_text_without_other_is_not_kept(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        data = attendee_post(tt, ["halal"], dietary_requirements="stray")
        assert client.post(url("attendees", registration), data).status_code == 303
        attendee = Attendee.objects.get(registration=registration)
        assert (attendee.dietary_needs, attendee.dietary_requirements) == (["halal"], "")

    def test_a_refused_step_keeps_what_was_ticked(self, client):
        tt = make_ticket_type()
        registration = start(client, tt)
        client.post(url("attendees", registration), attendee_post(tt, ["vegan", "other"]))
        registration = Registration.objects.get(pk=registration.pk)
        typed = registration.attendee_draft["attendees"][0]["values"]
        assert typed["dietary_needs"] == ["vegan", "other"]
        page = elements_by_id(client.get(url("attendees", registration)).content.decode())
        ticked = {k for k, e in page.items() if "checked" in e.attrs and "dietary" in k}
        assert ticked == {"id_attendees-0-dietary_needs_1", "id_attendees-0-dietary_needs_7"}
