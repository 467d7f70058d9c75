"""The pay-later reminder at half time (tickets/services/reminders.py), over real SMTP."""

from __future__ import annotations

import datetime

import pytest

from outbox.delivery import deliver_due
from outbox.models import OutboxMessage
from tests.support import factories
from tickets.models import Registration
from tickets.services import reminders

pytestmark = pytest.mark.django_db


def unpaid_registration(unpaid_days: int = 14) -> Registration:
    function = factories.make_function(unpaid_days=unpaid_days)
    ticket_type = factories.make_ticket_type(factories.make_event(function), price=100)
    return factories.confirm(ticket_type, 2, email="sec@example.com")


def test_nothing_before_half_time_then_one_reminder_however_often_it_looks() -> None:
    registration = unpaid_registration(unpaid_days=14)
    half = reminders.half_time(registration)
    assert half == registration.confirmed_at + datetime.timedelta(days=7)

    assert reminders.remind_unpaid_at_half_time(now=half - datetime.timedelta(minutes=1)) == 0
    assert reminders.remind_unpaid_at_half_time(now=half) == 1
    assert reminders.remind_unpaid_at_half_time(now=half + datetime.timedelta(hours=1)) == 0

    [reminder] = OutboxMessage.objects.filter(kind=reminders.PAYMENT_REMINDER)
    assert reminder.to == "sec@example.com"
    assert registration.confirmation_number in reminder.subject


def test_paid_or_cancelled_registrations_are_not_reminded() -> None:
    paid = unpaid_registration()
    Registration.objects.filter(pk=paid.pk).update(payment_status=Registration.PaymentStatus.PAID)
    assert reminders.remind_unpaid_at_half_time(now=reminders.half_time(paid)) == 0


def test_the_reminder_arrives_with_what_to_pay_by_when_and_the_manage_link(smtp_server) -> None:
    registration = unpaid_registration()
    reminders.remind_unpaid_at_half_time(now=reminders.half_time(registration))
    OutboxMessage.objects.filter(kind=reminders.PAYMENT_REMINDER).update(
        next_attempt_at=registration.confirmed_at
    )

    deliver_due()

    [message] = [
        m for m in smtp_server.wait_for(2) if "still to be paid" in m["Subject"]
    ]  # the confirmation went too
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "$200.00" in text
    assert "lapses" in text
    assert f"/registrations/{registration.pk}/manage/" in text
