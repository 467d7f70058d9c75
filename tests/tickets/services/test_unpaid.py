"""Pay later without free seats (tickets/services/unpaid.py): the cap per buyer and per
email, expiry past the due date, and staff's "cancel unpaid"."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from tests.support.factories import (
    confirm,
    make_event,
    make_function,
    make_ticket_type,
    refreshed,
    staff_user,
)
from tests.support.html import refusal_code
from tickets.models import AuditEntry, Hold, Registration
from tickets.services import holds, unpaid
from tickets.services import registrations as wizard
from tickets.services.exceptions import RegistrationClosed, UnpaidSeatLimit
from tickets.services.reconciliation import check_counters

pytestmark = pytest.mark.django_db


def drift() -> list:
    return [check for check in check_counters() if check.drifted]


def big_ticket_type(capacity: int = 600, **function_fields):
    function = make_function(**function_fields)
    return make_ticket_type(make_event(function), capacity=capacity, max_per_order=60)


# --- the cap, through the wizard over HTTP ----------------------------------------------------


def pay_at_the_door_over_http(client, ticket_type, tables: int):
    """One lodge's journey as a browser makes it: hold tables, give a contact, pay at the
    door. Returns the payment step's answer."""
    function = ticket_type.event.function
    held = client.post(
        reverse("tickets:hold-create", kwargs={"slug": function.slug}),
        {"ticket_type": ticket_type.pk, "quantity": tables, "registration_type": "lodge"},
    )
    assert held.status_code == 303, held.content.decode()[:500]
    registration = Registration.objects.filter(status=Registration.Status.PENDING).latest(
        "created_at"
    )
    pk = {"pk": registration.pk}
    assert client.post(reverse("tickets:registration-tickets", kwargs=pk)).status_code == 303
    contact = {
        "contact-lodge_name": "Lodge Antiquity",
        "contact-lodge_number": "2",
        "contact-contact_name": "The Secretary",
        "contact-contact_email": "secretary@example.com",
        "contact-contact_phone": "0400 000 000",
    }
    answer = client.post(reverse("tickets:registration-attendees", kwargs=pk), contact)
    assert answer.status_code == 303, answer.content.decode()[:500]
    assert client.post(reverse("tickets:registration-review", kwargs=pk)).status_code == 303
    return client.post(reverse("tickets:registration-payment", kwargs=pk), {"method": "door"})


class TestCapOverHttp:
    def test_one_buyer_cannot_confirm_more_than_50_unpaid_seats(self, client):
        ticket_type = big_ticket_type()
        # Five lodge tables: 50 seats, exactly the default cap.
        assert pay_at_the_door_over_http(client, ticket_type, 5).status_code == 303
        # The same browser starts again: one more table would be 60 unpaid seats.
        refused = pay_at_the_door_over_http(client, ticket_type, 1)

        assert refused.status_code == 409
        assert refusal_code(refused) == "unpaid_seat_limit"
        page = refused.content.decode()
        assert "limited to 50 unpaid seats" in page
        assert "pay by card" in page
        ticket_type = refreshed(ticket_type)
        # Nothing changed: the second lodge's ten seats are still only held.
        assert (ticket_type.sold, ticket_type.reserved) == (50, 10)
        assert Registration.objects.filter(status=Registration.Status.CONFIRMED).count() == 1
        assert not drift()


class TestCap:
    def test_the_cap_is_per_function_and_set_in_the_admin(self):
        ticket_type = big_ticket_type(unpaid_seat_limit=20)
        confirm(ticket_type, 20, buyer="a")
        with pytest.raises(UnpaidSeatLimit, match="limited to 20"):
            confirm(ticket_type, 1, buyer="a", email="other@example.com")
        # Another function has its own allowance.
        confirm(big_ticket_type(unpaid_seat_limit=20), 20, buyer="a")

    def test_one_email_across_browsers_shares_one_allowance_case_insensitively(self):
        ticket_type = big_ticket_type()
        confirm(ticket_type, 40, buyer="laptop", email="Sec@Example.com")
        with pytest.raises(UnpaidSeatLimit) as refused:
            confirm(ticket_type, 20, buyer="phone", email="sec@example.COM")
        assert (refused.value.limit, refused.value.unpaid) == (50, 40)
        assert refreshed(ticket_type).sold == 40

    def test_paid_seats_and_card_payments_do_not_count(self):
        ticket_type = big_ticket_type()
        first = confirm(ticket_type, 50, buyer="a")
        wizard.mark_paid(Registration.objects.filter(pk=first.pk), marked_by=None)
        confirm(ticket_type, 50, buyer="a")  # the paid 50 no longer count
        confirm(ticket_type, 50, buyer="a", payment_status=Registration.PaymentStatus.PAID)
        assert refreshed(ticket_type).sold == 150

    def test_a_pay_later_confirmation_gets_its_due_date(self):
        ticket_type = big_ticket_type(unpaid_days=10)
        registration = confirm(ticket_type, 2)
        assert registration.payment_due_at == registration.confirmed_at + datetime.timedelta(
            days=10
        )


# --- two confirmations racing past the cap (PostgreSQL) ---------------------------------


RACE_PAUSE = 0.3  # seconds each confirmation waits after counting, before it sells


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCapUnderConcurrency:
    def _race(self, monkeypatch, ticket_type) -> list[str]:
        """Two browsers with one email confirm 30 seats each at the same moment. Each
        confirmation pauses after the cap check (and before selling), so without a lock
        both count the other's seats as not there yet."""
        pending = [
            _at_payment(ticket_type, 30, buyer=f"tab-{n}", email="same@example.com")
            for n in range(2)
        ]
        counted = unpaid.check_unpaid_seat_limit

        def slow_check(registration, seats):
            counted(registration, seats)
            time.sleep(RACE_PAUSE)

        monkeypatch.setattr(unpaid, "check_unpaid_seat_limit", slow_check)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def confirm_one(registration):
            start.wait()
            try:
                wizard.confirm_registration(
                    registration.pk, payment_method="door", payment_status="pending"
                )
                outcomes.append("confirmed")
            except UnpaidSeatLimit:
                outcomes.append("refused")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=confirm_one, args=(r,)) for r in pending]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return sorted(outcomes)

    def test_only_one_of_two_racing_confirmations_fits_under_the_cap(self, monkeypatch):
        ticket_type = big_ticket_type()
        assert self._race(monkeypatch, ticket_type) == ["confirmed", "refused"]
        ticket_type = refreshed(ticket_type)
        assert (ticket_type.sold, ticket_type.reserved) == (30, 30)
        assert not drift()

    def test_control_without_the_function_lock_both_get_through(self, monkeypatch):
        # Shows the race is real: with the lock that serialises unpaid totals taken away,
        # both confirmations count before either commits and 60 unpaid seats are sold.
        monkeypatch.setattr(unpaid, "lock_function", lambda function_id: _function(function_id))
        ticket_type = big_ticket_type()
        assert self._race(monkeypatch, ticket_type) == ["confirmed", "confirmed"]
        assert refreshed(ticket_type).sold == 60


def _function(function_id):
    from tickets.models import Function

    return Function.objects.get(pk=function_id)


def _at_payment(ticket_type, seats: int, *, buyer: str, email: str) -> Registration:
    registration = holds.hold_tickets(
        holds.HoldRequest(
            buyer_key=buyer,
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=seats,
            registration_type=Registration.Type.DELEGATION,
        )
    ).registration
    wizard.continue_to_attendee_details(registration.pk)
    wizard.save_attendee_details(
        registration.pk,
        wizard.ContactDetails(
            contact_name="Sec", contact_email=email, contact_phone="1", delegation_name="D"
        ),
        [],
    )
    return wizard.continue_to_payment(registration.pk)


# --- expiry past the due date ------------------------------------------------------------


def overdue(registration: Registration) -> None:
    Registration.objects.filter(pk=registration.pk).update(
        payment_due_at=timezone.now() - datetime.timedelta(seconds=1)
    )


class TestExpiry:
    def test_the_sweeper_expires_unpaid_registrations_past_unpaid_days(self):
        ticket_type = big_ticket_type(unpaid_days=14)
        late = confirm(ticket_type, 30, buyer="late")
        # Thirteen days on nothing is due; fifteen days on, it is.
        assert holds.release_expired_holds(now=timezone.now() + datetime.timedelta(days=13)) == (
            holds.Sweep(registrations=0, holds=0, unpaid=0)
        )
        sweep = holds.release_expired_holds(now=timezone.now() + datetime.timedelta(days=15))

        assert (sweep.registrations, sweep.unpaid, sweep.holds) == (1, 1, 1)
        late.refresh_from_db()
        assert late.status == Registration.Status.EXPIRED
        # Still says it was never paid.
        assert late.payment_status == Registration.PaymentStatus.PENDING
        assert set(late.holds.values_list("status", flat=True)) == {Hold.Status.EXPIRED}
        assert refreshed(ticket_type).sold == 0
        assert not drift()

    def test_not_yet_due_paid_and_cancelled_ones_are_left_alone(self):
        ticket_type = big_ticket_type()
        due_later = confirm(ticket_type, 5, buyer="a")
        paid = confirm(ticket_type, 5, buyer="b", email="b@example.com")
        overdue(paid)
        wizard.mark_paid(Registration.objects.filter(pk=paid.pk), marked_by=None)

        assert holds.release_expired_holds().unpaid == 0
        assert refreshed(ticket_type).sold == 10
        due_later.refresh_from_db()
        assert due_later.status == Registration.Status.CONFIRMED

    def test_the_seats_come_back_on_sale(self):
        ticket_type = big_ticket_type(capacity=30)
        overdue(confirm(ticket_type, 30, buyer="squatter"))
        holds.release_expired_holds()
        assert refreshed(ticket_type).available == 30
        assert confirm(ticket_type, 30, buyer="real", email="real@example.com").pk

    def test_an_expired_unpaid_registration_cannot_confirm_again(self, client):
        ticket_type = big_ticket_type()
        registration = confirm(ticket_type, 5)
        overdue(registration)
        holds.release_expired_holds()
        with pytest.raises(RegistrationClosed):
            wizard.confirm_registration(
                registration.pk, payment_method="door", payment_status="pending"
            )
        assert refreshed(ticket_type).sold == 0


# --- staff: cancel unpaid ----------------------------------------------------------------


class TestCancelUnpaid:
    def test_the_admin_action_gives_the_seats_back_and_is_audited(self, client):
        ticket_type = big_ticket_type()
        unpaid_one = confirm(ticket_type, 40, buyer="a")
        paid = confirm(ticket_type, 5, buyer="b", email="b@example.com", payment_status="paid")
        staff = staff_user("treasurer", "view_registration", "cancel_registration")
        client.force_login(staff)
        page = client.post(
            reverse("admin:tickets_registration_changelist"),
            {
                "action": "cancel_unpaid",
                "_selected_action": [unpaid_one.pk, paid.pk],
                "confirm": "yes",
            },
            follow=True,
        ).content.decode()

        assert "Cancelled 1 unpaid registration(s); 40 seat(s) back on sale." in page
        assert "1 registration(s) skipped" in page
        unpaid_one.refresh_from_db()
        paid.refresh_from_db()
        assert unpaid_one.status == Registration.Status.CANCELLED
        assert paid.status == Registration.Status.CONFIRMED
        assert refreshed(ticket_type).sold == 5
        entry = AuditEntry.objects.get()
        assert (entry.actor, entry.action, entry.object_id) == (
            staff,
            AuditEntry.Action.CANCEL_UNPAID,
            str(unpaid_one.pk),
        )
        assert entry.details["seats"] == 40
        assert not drift()

    def test_without_the_permission_the_action_is_not_offered(self, client):
        ticket_type = big_ticket_type()
        registration = confirm(ticket_type, 10)
        client.force_login(staff_user("viewer", "view_registration"))
        client.post(
            reverse("admin:tickets_registration_changelist"),
            {"action": "cancel_unpaid", "_selected_action": [registration.pk], "confirm": "yes"},
        )
        registration.refresh_from_db()
        assert registration.status == Registration.Status.CONFIRMED
        assert refreshed(ticket_type).sold == 10
        assert not AuditEntry.objects.exists()
