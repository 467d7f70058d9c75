"""The wizard's services: the one expiry rule of every step, the one extension of a hold,
the attendee draft and the seats a blank attendee step starts with."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.support.factories import (
    attendee,
    hold,
    make_event,
    make_function,
    make_ticket_type,
    reach_payment,
    refreshed,
)
from tickets.models import Attendee, Hold, Registration
from tickets.services import holds, retention
from tickets.services import registrations as wizard
from tickets.services.exceptions import (
    AnotherRegistrationOpen,
    HoldAlreadyExtended,
    HoldExpired,
)

pytestmark = pytest.mark.django_db


def expire_and_sweep(registration: Registration) -> None:
    """The hold time runs out and the sweeper gives the seats back."""
    past = timezone.now() - datetime.timedelta(seconds=1)
    Registration.objects.filter(pk=registration.pk).update(expires_at=past)
    registration.holds.update(expires_at=past)
    holds.release_expired_holds()
    registration.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED


def at_attendee_step(tt, quantity: int = 1) -> Registration:
    registration = hold(tt, quantity).registration
    wizard.continue_to_attendee_details(registration.pk)
    return registration


def at_review_step(tt) -> Registration:
    registration = at_attendee_step(tt)
    wizard.save_attendee_details(registration.pk, wizard.ContactDetails(), [attendee("A", tt)])
    return registration


def assert_retaken(registration: Registration, tt, seats: int) -> None:
    registration.refresh_from_db()
    assert registration.status == Registration.Status.PENDING
    assert registration.expires_at > timezone.now()
    line = registration.holds.get()
    assert (line.status, line.expires_at) == (Hold.Status.ACTIVE, registration.expires_at)
    assert refreshed(tt).reserved == seats


class TestOneExpiryRule:
    """Every step after the tickets: re-take the seats if still free, else HoldExpired."""

    def test_attendee_step_retakes_free_seats(self):
        tt = make_ticket_type(capacity=5)
        registration = at_attendee_step(tt, 2)
        expire_and_sweep(registration)
        assert refreshed(tt).reserved == 0
        wizard.save_attendee_details(
            registration.pk, wizard.ContactDetails(), [attendee("A", tt), attendee("B", tt)]
        )
        assert_retaken(registration, tt, 2)
        assert registration.step == Registration.Step.REVIEW

    def test_attendee_step_refuses_when_the_seats_are_gone(self):
        tt = make_ticket_type(capacity=2)
        registration = at_attendee_step(tt, 2)
        expire_and_sweep(registration)
        hold(tt, 1, buyer="someone-else")
        with pytest.raises(HoldExpired):
            wizard.save_attendee_details(
                registration.pk, wizard.ContactDetails(), [attendee("A", tt), attendee("B", tt)]
            )
        registration.refresh_from_db()
        assert registration.status == Registration.Status.EXPIRED
        assert registration.attendees.count() == 0
        assert refreshed(tt).reserved == 1

    def test_review_step_retakes_free_seats(self):
        tt = make_ticket_type(capacity=5)
        registration = at_review_step(tt)
        expire_and_sweep(registration)
        wizard.continue_to_payment(registration.pk)
        assert_retaken(registration, tt, 1)
        assert registration.step == Registration.Step.PAYMENT

    def test_review_step_refuses_when_the_seats_are_gone(self):
        tt = make_ticket_type(capacity=1)
        registration = at_review_step(tt)
        expire_and_sweep(registration)
        hold(tt, 1, buyer="someone-else")
        with pytest.raises(HoldExpired):
            wizard.continue_to_payment(registration.pk)
        registration.refresh_from_db()
        assert (registration.status, registration.step) == (
            Registration.Status.EXPIRED,
            Registration.Step.REVIEW,
        )

    def test_payment_step_refuses_when_the_seats_are_gone(self):
        tt = make_ticket_type(capacity=1)
        registration = hold(tt).registration
        reach_payment(registration, [attendee("A", tt)])
        expire_and_sweep(registration)
        hold(tt, 1, buyer="someone-else")
        with pytest.raises(HoldExpired):
            wizard.confirm_registration(
                registration.pk, payment_method="invoice", payment_status="pending"
            )
        assert (refreshed(tt).reserved, refreshed(tt).sold) == (1, 0)

    def test_one_line_gone_retakes_no_line(self):
        event = make_event()
        free = make_ticket_type(event, capacity=5)
        scarce = make_ticket_type(make_event(event.function), capacity=1)
        registration = hold(free).registration
        hold(scarce)
        wizard.continue_to_attendee_details(registration.pk)
        expire_and_sweep(registration)
        hold(scarce, 1, buyer="someone-else")
        with pytest.raises(HoldExpired):
            wizard.save_attendee_details(
                registration.pk, wizard.ContactDetails(), [attendee("A", free, scarce)]
            )
        # All or nothing: the free line was not re-taken on its own.
        assert refreshed(free).reserved == 0
        assert not registration.holds.filter(status=Hold.Status.ACTIVE).exists()

    def test_past_its_time_but_not_swept_gets_a_fresh_hold_time(self):
        tt = make_ticket_type(capacity=5)
        registration = at_attendee_step(tt)
        past = timezone.now() - datetime.timedelta(seconds=1)
        Registration.objects.filter(pk=registration.pk).update(expires_at=past)
        registration.holds.update(expires_at=past)
        wizard.save_attendee_details(registration.pk, wizard.ContactDetails(), [attendee("A", tt)])
        assert_retaken(registration, tt, 1)

    def test_not_while_the_buyer_has_another_registration_open(self):
        tt = make_ticket_type(capacity=5)
        registration = at_attendee_step(tt)
        expire_and_sweep(registration)
        hold(tt, 1)  # the same buyer starts again
        with pytest.raises(AnotherRegistrationOpen):
            wizard.save_attendee_details(
                registration.pk, wizard.ContactDetails(), [attendee("A", tt)]
            )
        assert refreshed(tt).reserved == 1

    def test_expired_registrations_show_the_later_steps_only(self):
        tt = make_ticket_type()
        registration = at_review_step(tt)
        expire_and_sweep(registration)
        access = {step: wizard.step_access(registration, step) for step in Registration.Step}
        assert access == {
            Registration.Step.TICKET_SELECTION: wizard.StepAccess.CLOSED,
            Registration.Step.ATTENDEE_DETAILS: wizard.StepAccess.SHOW,
            Registration.Step.REVIEW: wizard.StepAccess.SHOW,
            Registration.Step.PAYMENT: wizard.StepAccess.CURRENT_STEP,
            Registration.Step.CONFIRMATION: wizard.StepAccess.CLOSED,
        }


class TestExtension:
    def test_once_by_the_functions_hold_minutes(self):
        tt = make_ticket_type(event=make_event(make_function(hold_minutes=15)))
        registration = at_attendee_step(tt)
        before = registration.expires_at
        extended = wizard.extend_hold(registration.pk)
        assert extended.expires_at == before + datetime.timedelta(minutes=15)
        assert registration.holds.get().expires_at == extended.expires_at
        assert extended.hold_extended_at is not None

        with pytest.raises(HoldAlreadyExtended) as refused:
            wizard.extend_hold(registration.pk)
        assert refused.value.http_status == 409
        registration.refresh_from_db()
        assert registration.expires_at == extended.expires_at

    def test_an_expired_hold_is_not_extended(self):
        tt = make_ticket_type()
        registration = at_attendee_step(tt)
        past = timezone.now() - datetime.timedelta(seconds=1)
        Registration.objects.filter(pk=registration.pk).update(expires_at=past)
        with pytest.raises(HoldExpired):
            wizard.extend_hold(registration.pk)


class TestDraft:
    def test_typed_details_survive_an_expiry(self):
        tt = make_ticket_type()
        registration = at_attendee_step(tt, 2)
        typed = [
            {"values": {"first_name": "Alan", "email": "alan@example.com"}, "seats": {}},
            {"values": {"first_name": "Mary", "attendee_type": "lady_partner"}, "partner_of": 0},
        ]
        wizard.save_attendee_draft(registration.pk, {"attendees": typed, "contact": {}})
        expire_and_sweep(registration)
        events = wizard.holds_by_event(wizard.current_holds(registration))
        rows = wizard.attendee_drafts(registration, events)
        assert [r.values.get("first_name") for r in rows] == ["Alan", "Mary"]
        assert rows[1].values["attendee_type"] == "lady_partner"
        assert rows[1].partner_of == 0
        # Typed nothing about seats: the default seats stay.
        assert [r.seats for r in rows] == [{tt.event_id: tt.pk}] * 2

    def test_a_typed_seat_not_held_is_ignored(self):
        tt = make_ticket_type()
        other = make_ticket_type()
        registration = at_attendee_step(tt)
        typed = [{"values": {}, "seats": {str(tt.event_id): other.pk}, "partner_of": 5}]
        wizard.save_attendee_draft(registration.pk, {"attendees": typed})
        registration.refresh_from_db()
        events = wizard.holds_by_event(wizard.current_holds(registration))
        (row,) = wizard.attendee_drafts(registration, events)
        assert (row.seats, row.partner_of) == ({tt.event_id: tt.pk}, None)

    def test_emptied_at_confirmation(self):
        tt = make_ticket_type()
        registration = hold(tt).registration
        reach_payment(registration, [attendee("A", tt)])
        wizard.save_attendee_draft(registration.pk, {"attendees": [{"values": {}}]})
        confirmed = wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        assert Registration.objects.get(pk=confirmed.pk).attendee_draft == {}


class TestDefaults:
    def test_the_ladies_brunch_goes_to_the_lady_partner(self):
        function = make_function()
        banquet = make_ticket_type(make_event(function, name="Grand Banquet"), name="Banquet")
        brunch = make_ticket_type(make_event(function, name="Ladies' Brunch"), name="Brunch")
        registration = hold(banquet, 2).registration
        hold(brunch, 1)
        events = wizard.holds_by_event(wizard.current_holds(registration))
        mason, partner = wizard.attendee_drafts(registration, events)
        assert mason.seats == {banquet.event_id: banquet.pk}
        assert mason.values == {}
        assert partner.seats == {banquet.event_id: banquet.pk, brunch.event_id: brunch.pk}
        assert partner.values == {"attendee_type": Attendee.Type.LADY_PARTNER}
        assert partner.partner_of == 0

    def test_a_partners_ticket_type_in_an_event_for_everyone(self):
        event = make_event()
        dinner = make_ticket_type(event, name="Dinner")
        tour = make_ticket_type(make_event(event.function), name="Partners' Tour")
        registration = hold(dinner, 2).registration
        hold(tour, 1)
        events = wizard.holds_by_event(wizard.current_holds(registration))
        rows = wizard.attendee_drafts(registration, events)
        assert [tour.event_id in r.seats for r in rows] == [False, True]

    def test_without_suited_tickets_the_first_attendees_get_the_seats(self):
        function = make_function()
        banquet = make_ticket_type(make_event(function), name="Banquet")
        ceremony = make_ticket_type(make_event(function), name="Ceremony")
        registration = hold(banquet, 2).registration
        hold(ceremony, 1)
        events = wizard.holds_by_event(wizard.current_holds(registration))
        rows = wizard.attendee_drafts(registration, events)
        assert [ceremony.event_id in r.seats for r in rows] == [True, False]
        assert all(r.values == {} for r in rows)

    def test_lodge_fields_are_not_kept_for_partners(self):
        tt = make_ticket_type()
        registration = at_attendee_step(tt, 2)
        wizard.save_attendee_details(
            registration.pk,
            wizard.ContactDetails(),
            [attendee("A", tt), attendee("M", tt, attendee_type="lady_partner", partner_of=0)],
        )
        partner = registration.attendees.get(first_name="M")
        assert (partner.lodge_name, partner.lodge_number) == ("", "")
        assert registration.attendees.get(first_name="A").lodge_name == "Lodge Antiquity"


def test_the_draft_of_an_unsold_registration_is_forgotten_with_its_people():
    tt = make_ticket_type()
    registration = at_attendee_step(tt)
    wizard.save_attendee_draft(
        registration.pk, {"attendees": [{"values": {"first_name": "Alan"}}], "contact": {}}
    )
    expire_and_sweep(registration)
    later = timezone.now() + datetime.timedelta(days=1)
    assert retention.forget_unsold(later).registrations == 1
    registration.refresh_from_db()
    assert registration.attendee_draft == {}
    assert retention.forget_unsold(later).registrations == 0  # nothing left to forget
