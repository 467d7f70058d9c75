"""Domain events land in user_interactions through the same storage as the browser's."""

from __future__ import annotations

import datetime
import logging
import time

import pytest
from django.utils import timezone

from analytics.models import Interaction
from analytics.services import server_events, storage
from tests.support.factories import attendee, hold, make_ticket_type, reach_payment
from tickets.models import Registration
from tickets.services import holds, payments
from tickets.signals import RegistrationChange, registration_changed

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    server_events.queue.flush()
    return list(Interaction.objects.order_by("pk").values_list("action", flat=True))


def test_a_registration_journey_is_captured_step_by_step(django_capture_on_commit_callbacks):
    tt = make_ticket_type(capacity=10, price=0)
    with django_capture_on_commit_callbacks(execute=True):
        registration = hold(tt, 1).registration
        reach_payment(registration, [attendee("Alan", tt)])
        payments.checkout(registration, "invoice")

    assert actions() == [
        "registration.created",
        "registration.hold_created",
        "registration.step_reached",  # attendee details
        "registration.step_reached",  # review
        "registration.step_reached",  # payment
        "registration.step_reached",  # confirmation
        "registration.confirmed",
    ]
    confirmed = Interaction.objects.get(action="registration.confirmed")
    assert confirmed.source == Interaction.Source.SERVER
    assert confirmed.registration_id == registration.pk
    assert confirmed.function_id == tt.event.function_id
    assert confirmed.data == {
        "registration_type": "individual",
        "status": "confirmed",
        "step": "confirmation",
    }
    assert confirmed.occurred_at == confirmed.received_at == confirmed.client_timestamp


def test_cancelled_and_expired_registrations_are_captured(django_capture_on_commit_callbacks):
    tt = make_ticket_type(capacity=10)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = hold(tt, 1, buyer="a").registration
        holds.cancel_registration(cancelled.pk)
        expired = hold(tt, 1, buyer="b").registration
        Registration.objects.filter(pk=expired.pk).update(
            expires_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        holds.expire_registration(expired.pk)

    server_events.queue.flush()
    assert Interaction.objects.get(action="registration.cancelled").registration_id == cancelled.pk
    assert Interaction.objects.get(action="registration.expired").registration_id == expired.pk


def test_a_change_added_later_is_captured_by_its_name():
    registration = hold(make_ticket_type()).registration
    registration_changed.send(Registration, registration=registration, change="waitlisted")
    server_events.queue.flush()
    assert Interaction.objects.get(action="registration.waitlisted").registration_id == (
        registration.pk
    )


def test_a_failure_to_record_never_reaches_the_sale(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken_store(rows):
        raise RuntimeError("analytics database is down")

    monkeypatch.setattr(storage, "store", broken_store)
    tt = make_ticket_type(capacity=10)

    with django_capture_on_commit_callbacks(execute=True):
        registration = hold(tt, 2).registration

    assert registration.holds.get().seats == 2  # the sale does not wait for analytics
    with pytest.raises(RuntimeError):
        server_events.queue.flush()
    assert Interaction.objects.count() == 0
    monkeypatch.undo()  # the analytics database is back: nothing was lost meanwhile
    assert server_events.queue.flush() == 2
    assert actions() == ["registration.created", "registration.hold_created"]

    # A receiver called plainly (not robustly) must not raise either.
    monkeypatch.setattr(server_events, "registration_change_row", broken_store)
    with caplog.at_level(logging.ERROR):
        server_events.record_registration_change(
            Registration, registration=registration, change=RegistrationChange.CONFIRMED
        )
    assert "Could not record confirmed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_queued_events(server_events_flushed_by_hand):
    queue = server_events.ServerEventQueue(interval=0.05)
    registration = hold(make_ticket_type()).registration
    queue.put(server_events.registration_change_row(registration, "created"))
    try:
        deadline = time.monotonic() + 10
        while not Interaction.objects.filter(registration_id=registration.pk).exists():
            assert time.monotonic() < deadline, "the background thread never wrote the event"
            time.sleep(0.05)
    finally:
        queue.stop()
