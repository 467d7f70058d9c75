"""Abandoned registrations forget their people after the retention; the funnel keeps its
counts, steps and amounts, and confirmed registrations are kept whole."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.support.factories import make_function
from tickets.models import Attendee, Registration
from tickets.services import retention

pytestmark = pytest.mark.django_db

PEOPLE = {
    "contact_name": "W.Bro. Alan Reid",
    "contact_email": "alan@example.com",
    "contact_phone": "0400 000 000",
}


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def registration(status: str, *, expired_days_ago: float, confirmed: bool = False, **fields):
    function = fields.pop("function", None) or make_function()
    made = Registration.objects.create(
        function=function,
        buyer_key=f"buyer-{Registration.objects.count()}",
        status=status,
        step=Registration.Step.PAYMENT,
        furthest_step=Registration.Step.PAYMENT,
        expires_at=days_ago(expired_days_ago),
        total_amount=Decimal("165.00"),
        lodge_name="Lodge Antiquity",
        confirmed_at=days_ago(expired_days_ago) if confirmed else None,
        **PEOPLE,
        **fields,
    )
    Attendee.objects.create(
        registration=made,
        position=1,
        title="W.Bro.",
        first_name="Alan",
        last_name="Reid",
        email="alan@example.com",
        phone="0400 000 000",
        dietary_requirements="coeliac",
        lodge_name="Lodge Antiquity",
    )
    return made


def people_of(made: Registration) -> tuple[dict, dict]:
    made.refresh_from_db()
    contact = {field: getattr(made, field) for field in retention.CONTACT_FIELDS}
    person = Attendee.objects.filter(registration=made).values(*retention.ATTENDEE_FIELDS)[0]
    return contact, person


def test_registrations_expired_past_the_retention_forget_their_people():
    old = registration(Registration.Status.EXPIRED, expired_days_ago=31)

    forgotten = retention.forget_unsold(days_ago(30))

    assert forgotten == retention.Forgotten(registrations=1, attendees=1)
    contact, person = people_of(old)
    assert set(contact.values()) == {""}
    assert set(person.values()) == {""}
    # The funnel's view of it is untouched.
    assert (old.status, old.step, old.furthest_step) == ("expired", "payment", "payment")
    assert old.total_amount == Decimal("165.00")
    assert old.lodge_name == "Lodge Antiquity"
    assert Attendee.objects.filter(registration=old).count() == 1


def test_recent_pending_and_confirmed_registrations_keep_their_people():
    function = make_function()
    kept = [
        registration("expired", expired_days_ago=29, function=function),
        registration("pending", expired_days_ago=60, function=function),
        registration("confirmed", expired_days_ago=60, confirmed=True, function=function),
        # Confirmed, then cancelled with a refund due: the refund needs the contact.
        registration("cancelled", expired_days_ago=60, confirmed=True, function=function),
    ]

    assert retention.forget_unsold(days_ago(30)) == retention.Forgotten(0, 0)

    for made in kept:
        contact, person = people_of(made)
        assert contact == PEOPLE
        assert person["dietary_requirements"] == "coeliac"


def test_cancelled_before_confirmation_counts_from_the_cancellation():
    cancelled = registration(Registration.Status.CANCELLED, expired_days_ago=60)
    Registration.objects.filter(pk=cancelled.pk).update(updated_at=days_ago(10))
    assert retention.forget_unsold(days_ago(30)) == retention.Forgotten(0, 0)

    Registration.objects.filter(pk=cancelled.pk).update(updated_at=days_ago(31))
    assert retention.forget_unsold(days_ago(30)) == retention.Forgotten(1, 1)


def test_forgetting_again_touches_nothing():
    registration(Registration.Status.EXPIRED, expired_days_ago=40)
    assert retention.forget_unsold(days_ago(30)) == retention.Forgotten(1, 1)
    assert retention.forget_unsold(days_ago(30)) == retention.Forgotten(0, 0)


def test_the_scheduled_job_uses_the_retention_setting(settings):
    old = registration(Registration.Status.EXPIRED, expired_days_ago=8)
    settings.PERSONAL_DATA_RETENTION_DAYS = 0  # kept for good
    assert retention.forget_unsold_on_schedule() is None
    assert people_of(old)[0] == PEOPLE

    settings.PERSONAL_DATA_RETENTION_DAYS = 7
    line = retention.forget_unsold_on_schedule()
    assert line == (
        "blanked the people of 1 registration(s), 1 attendee(s) and 0 waiting-list entries "
        "that ended unsold over 7 days ago"
    )
    assert set(people_of(old)[0].values()) == {""}


def test_structured_dietary_and_special_needs_are_forgotten_too():
    old = registration(Registration.Status.EXPIRED, expired_days_ago=31)
    Attendee.objects.filter(registration=old).update(
        dietary_needs=["nut_allergy"], special_needs="Wheelchair access"
    )

    assert retention.forget_unsold(days_ago(30)).attendees == 1

    attendee = Attendee.objects.get(registration=old)
    assert (attendee.dietary_needs, attendee.special_needs) == ([], "")
    # Repeating touches nothing: the row is already blank.
    assert retention.forget_unsold(days_ago(30)).attendees == 0


def test_ended_waiting_list_entries_lose_name_and_email_and_waiting_ones_keep_them() -> None:
    from tests.support.factories import make_event, make_ticket_type
    from tickets.models import WaitlistEntry

    ticket_type = make_ticket_type(make_event(make_function()))
    ended = WaitlistEntry.objects.create(
        ticket_type=ticket_type,
        quantity=2,
        name="Wor. Bro. Gone",
        email="gone@example.com",
        status=WaitlistEntry.Status.EXPIRED,
        ended_at=days_ago(31),
    )
    waiting = WaitlistEntry.objects.create(
        ticket_type=ticket_type,
        quantity=1,
        name="Bro. Still",
        email="still@example.com",
        created_at=days_ago(40),
    )

    assert retention.forget_unsold(days_ago(30)).waitlist_entries == 1

    ended.refresh_from_db()
    waiting.refresh_from_db()
    assert (ended.name, ended.email, ended.quantity) == ("", "", 2)
    assert (waiting.name, waiting.email) == ("Bro. Still", "still@example.com")
    assert retention.forget_unsold(days_ago(30)).waitlist_entries == 0  # nothing left
