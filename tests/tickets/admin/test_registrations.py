"""Staff read and act on registrations in the admin (tickets/admin/registrations.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import (
    attendee,
    hold,
    make_ticket_type,
    reach_payment,
)
from tickets.models import Registration
from tickets.services import registrations as wizard

pytestmark = pytest.mark.django_db


class TestRegistrationAdmin:
    def _confirmed(self, tt, buyer):
        registration = hold(tt, 1, buyer=buyer).registration
        reach_payment(registration, [attendee("A", tt)])
        return wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )

    def test_mark_paid_action(self, admin_client):
        tt = make_ticket_type()
        awaiting = self._confirmed(tt, "a")
        pending = hold(tt, 1, buyer="b").registration
        response = admin_client.post(
            reverse("admin:tickets_registration_changelist"),
            {"action": "mark_paid", "_selected_action": [awaiting.pk, pending.pk]},
            follow=True,
        )
        page = response.content.decode()
        assert "Marked 1 registration(s) paid." in page
        assert "1 registration(s) skipped" in page
        awaiting.refresh_from_db()
        pending.refresh_from_db()
        assert awaiting.payment_status == Registration.PaymentStatus.PAID
        assert awaiting.paid_at is not None
        assert pending.payment_status == Registration.PaymentStatus.UNPAID

    def test_filters_by_status_and_type(self, admin_client):
        tt = make_ticket_type()
        self._confirmed(tt, "a")
        hold(tt, 1, buyer="lodge", registration_type="lodge")
        url = reverse("admin:tickets_registration_changelist")
        confirmed = admin_client.get(url, {"status__exact": "confirmed"})
        assert confirmed.context["cl"].result_count == 1
        lodges = admin_client.get(url, {"registration_type__exact": "lodge"})
        assert lodges.context["cl"].result_count == 1

    def test_registration_page_shows_attendees_and_holds(self, admin_client):
        tt = make_ticket_type(name="Banquet seat")
        registration = self._confirmed(tt, "a")
        page = admin_client.get(
            reverse("admin:tickets_registration_change", args=[registration.pk])
        ).content.decode()
        assert "Banquet seat" in page
        assert registration.confirmation_number in page


class TestUnnamedSeats:
    """Names later (design §11): staff see who is unnamed."""

    def test_the_list_counts_unnamed_seats_and_filters_by_them(self, admin_client):
        from tests.support.factories import confirm
        from tickets.models import Attendee, Ticket
        from tickets.services import names

        tt = make_ticket_type(capacity=100)
        lodge = confirm(tt, 1, buyer="lodge", registration_type=Registration.Type.LODGE)
        named = confirm(tt, 1, buyer="delegation")
        seat = Ticket.objects.get(hold__registration=named)
        details = names.SeatDetails(
            first_name="Ada", last_name="L", attendee_type=Attendee.Type.GUEST
        )
        names.name_seat(named.pk, seat.pk, seat.version, details)
        changelist = reverse("admin:tickets_registration_changelist")
        page = admin_client.get(changelist).content.decode()
        assert '<td class="field-unnamed_seats">10</td>' in page
        assert '<td class="field-unnamed_seats">0</td>' in page
        unnamed = admin_client.get(changelist, {"names": "unnamed"}).context["cl"].result_list
        assert list(unnamed) == [lodge]
        everyone_named = admin_client.get(changelist, {"names": "named"}).context["cl"]
        assert list(everyone_named.result_list) == [named]
