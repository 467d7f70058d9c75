"""Lodges in the admin (tickets/admin/lodges.py): merging duplicates and matching
not-listed entries need their own permission and leave an audit entry; eligibility is
edited on the ticket type's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support import factories
from tests.support.http import admin_action
from tests.tickets.admin.test_events import ticket_type_form
from tickets.models import Attendee, AuditEntry, GrandLodge, Lodge, Registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def duplicates():
    nsw = GrandLodge.objects.create(name="UGL of NSW and ACT", abbreviation="UGLNSW&ACT")
    kept = Lodge.objects.create(grand_lodge=nsw, name="Lodge Harmony", number="5")
    duplicate = Lodge.objects.create(grand_lodge=nsw, name="Harmony Lodge", number="5A")
    return kept, duplicate


def registration_naming(lodge: Lodge) -> Registration:
    registration = factories.hold(factories.make_ticket_type()).registration
    Registration.objects.filter(pk=registration.pk).update(
        lodge=lodge, lodge_name=lodge.name, lodge_number=lodge.number
    )
    return registration


class TestMerge:
    def test_without_the_permission_nothing_merges(self, client, duplicates):
        kept, duplicate = duplicates
        client.force_login(factories.staff_user("viewer", "view_lodge", "change_lodge"))
        changelist = client.get(reverse("admin:tickets_lodge_changelist")).content.decode()
        assert "merge_lodges" not in changelist
        admin_action(
            client, "lodge", "merge_lodges", kept.pk, duplicate.pk, confirm="yes", keep=kept.pk
        )
        assert Lodge.objects.count() == 2
        assert not AuditEntry.objects.exists()

    def test_merging_moves_every_reference_to_the_kept_lodge(self, client, duplicates):
        kept, duplicate = duplicates
        registration = registration_naming(duplicate)
        staff = factories.staff_user("registrar", "view_lodge", "merge_lodge")
        client.force_login(staff)

        ask = admin_action(client, "lodge", "merge_lodges", kept.pk, duplicate.pk)
        assert "Merge duplicate lodges" in ask.content.decode()
        assert Lodge.objects.count() == 2  # asked first, nothing merged yet

        done = admin_action(
            client, "lodge", "merge_lodges", kept.pk, duplicate.pk, confirm="yes", keep=kept.pk
        )
        assert "1 registration(s)" in done.content.decode()
        assert list(Lodge.objects.all()) == [kept]
        registration.refresh_from_db()
        assert registration.lodge == kept
        assert registration.lodge_number == "5A"  # what was typed is kept
        entry = AuditEntry.objects.get()
        assert (entry.action, entry.actor, entry.object_id) == (
            AuditEntry.Action.MERGE_LODGES,
            staff,
            str(kept.pk),
        )
        assert entry.details["removed"] == [{"id": duplicate.pk, "name": "Harmony Lodge No. 5A"}]


class TestMatchNotListed:
    def test_entries_typed_before_the_lodge_was_listed_are_linked(self, client, duplicates):
        kept, _ = duplicates
        registration = factories.hold(factories.make_ticket_type()).registration
        Registration.objects.filter(pk=registration.pk).update(
            lodge_name="HARMONY LODGE", lodge_number="No. 5"
        )
        typed = [("Lodge Harmony No 5", ""), ("Lodge Harmony", "55")]  # this lodge; another
        for position, (name, number) in enumerate(typed, start=1):
            Attendee.objects.create(
                registration=registration,
                position=position,
                first_name=f"Person {position}",
                last_name="Reid",
                lodge_name=name,
                lodge_number=number,
            )
        staff = factories.staff_user("registrar", "view_lodge", "merge_lodge")
        client.force_login(staff)
        page = admin_action(client, "lodge", "match_not_listed", kept.pk)
        assert "2 registration(s) and attendee(s) linked" in page.content.decode()
        registration.refresh_from_db()
        assert registration.lodge == kept
        assert list(Attendee.objects.order_by("position").values_list("lodge", flat=True)) == [
            kept.pk,
            None,
        ]
        assert AuditEntry.objects.get().action == AuditEntry.Action.MATCH_LODGE


class TestTicketTypeEligibility:
    def test_staff_tick_who_may_take_a_ticket_type(self, admin_client, duplicates):
        kept, _ = duplicates
        tt = factories.make_ticket_type()
        url = reverse("admin:tickets_tickettype_change", args=[tt.pk])
        response = admin_client.post(
            url,
            ticket_type_form(
                tt,
                eligible_attendee_types=["mason"],
                eligible_registration_types=["individual", "lodge"],
                eligible_grand_lodges=[kept.grand_lodge_id],
            ),
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        tt.refresh_from_db()
        assert tt.eligible_attendee_types == ["mason"]
        assert tt.eligible_registration_types == ["individual", "lodge"]
        assert list(tt.eligible_grand_lodges.all()) == [kept.grand_lodge]

    def test_an_unknown_kind_is_refused_beside_the_field(self, admin_client):
        tt = factories.make_ticket_type()
        url = reverse("admin:tickets_tickettype_change", args=[tt.pk])
        response = admin_client.post(url, ticket_type_form(tt, eligible_attendee_types=["wizard"]))
        assert response.status_code == 200
        assert "wizard is not one of the available choices" in response.content.decode()
        tt.refresh_from_db()
        assert tt.eligible_attendee_types == []
