"""Delivery over a real SMTP server (tests/support/smtp.py): it arrives; a server that is
stopped, refusing or slow never blocks or undoes a sale, and what it missed arrives once
it is back, exactly once."""

from __future__ import annotations

import datetime
import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from analytics.models import Interaction
from outbox import delivery
from outbox.delivery import backoff, deliver, deliver_due
from outbox.models import OutboxMessage
from tests.outbox.conftest import queue_messages, wait_until
from tests.support import factories
from tickets.models import Registration

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxMessage.Status


def later(**delta) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(**delta)


def message_ids(messages) -> Counter:
    return Counter(message["Message-ID"] for message in messages)


def test_a_confirmation_reaches_the_contact_over_smtp(smtp_server) -> None:
    ticket_type = factories.make_ticket_type()
    registration = factories.confirm(ticket_type, 2, email="sec@example.com")

    assert deliver_due() == 1

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "sec@example.com"
    assert registration.confirmation_number in message["Subject"]
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
    assert row.sent_at is not None
    assert message["Message-ID"] == f"<{row.pk}@127.0.0.1>"


def test_a_sent_message_is_recorded_as_mail_sent_without_the_address(
    smtp_server, server_events_flushed_by_hand
) -> None:
    ticket_type = factories.make_ticket_type()
    registration = factories.confirm(ticket_type, 1, email="sec@example.com")
    server_events_flushed_by_hand.discard()  # the registration's own events

    deliver()
    server_events_flushed_by_hand.flush()

    event = Interaction.objects.get(action="mail.sent")
    assert event.source == Interaction.Source.SERVER
    assert event.data == {
        "kind": "confirmation",
        "about": f"registration:{registration.pk}",
        "attempts": 1,
    }
    assert event.registration_id == registration.pk
    assert event.function_id == registration.function_id
    assert "sec@example.com" not in str(event.data)


class TestServerStopped:
    def test_the_confirmation_commits_and_its_message_waits_with_the_error(
        self, smtp_server
    ) -> None:
        smtp_server.stop()
        ticket_type = factories.make_ticket_type()
        registration = factories.confirm(ticket_type, 2)

        result = deliver()

        registration.refresh_from_db()
        assert registration.status == Registration.Status.CONFIRMED
        assert (result.sent, result.retrying) == (0, 1)
        row = OutboxMessage.objects.get()
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at > later(seconds=25)
        assert result.server_unavailable_until == row.next_attempt_at

    def test_one_failed_connection_stops_the_batch_and_the_rest_wait_as_long(
        self, smtp_server
    ) -> None:
        smtp_server.stop()
        queue_messages(5)

        result = deliver()

        assert (result.retrying, result.deferred) == (1, 4)
        rows = OutboxMessage.objects.order_by("attempts")
        assert [row.attempts for row in rows] == [0, 0, 0, 0, 1]
        assert len({row.next_attempt_at for row in rows}) == 1  # all wait for the retry
        assert all(row.last_error for row in rows)
        assert deliver().tried == 0  # and nothing is due until then

    def test_once_back_the_message_is_delivered_once(self, smtp_server) -> None:
        smtp_server.stop()
        factories.confirm(factories.make_ticket_type(), 1)
        deliver()
        smtp_server.start()

        assert deliver(now=later(minutes=1)).sent == 1
        assert deliver(now=later(hours=2)).tried == 0

        [message] = smtp_server.wait_for(1)
        row = OutboxMessage.objects.get()
        assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")
        assert message["Message-ID"] == delivery.message_id(row)


class TestServerRefusing:
    def test_a_refused_message_is_retried_later_and_then_arrives_once(self, smtp_server) -> None:
        smtp_server.refuse()
        queue_messages(3)

        result = deliver()

        # A 451 is about one message: each is tried, each waits for its own retry.
        assert (result.sent, result.retrying, result.deferred) == (0, 3, 0)
        assert result.server_unavailable_until is None
        for row in OutboxMessage.objects.all():
            assert (row.status, row.attempts) == (Status.PENDING, 1)
            assert "451" in row.last_error
        assert smtp_server.messages == []

        smtp_server.refuse(False)
        assert deliver().tried == 0  # not before the backoff
        assert deliver(now=later(seconds=31)).sent == 3
        assert deliver(now=later(hours=2)).tried == 0
        assert sorted(message_ids(smtp_server.wait_for(3)).values()) == [1, 1, 1]

    def test_after_the_last_attempt_it_gives_up(self, smtp_server, settings) -> None:
        settings.OUTBOX_MAX_ATTEMPTS = 3
        smtp_server.refuse()
        [message] = queue_messages(1)

        outcomes = [deliver(now=later(hours=hour)) for hour in range(4)]

        assert [(o.retrying, o.failed) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
        message.refresh_from_db()
        assert (message.status, message.attempts) == (Status.FAILED, 3)
        assert "451" in message.last_error


def test_a_slow_server_costs_the_sender_the_timeout_not_longer(smtp_server, settings) -> None:
    settings.EMAIL_TIMEOUT = 0.5
    smtp_server.slow_down(5)
    queue_messages(3)

    started = time.monotonic()
    result = deliver()
    elapsed = time.monotonic() - started

    assert elapsed < 2.5  # one message's DATA waited out, the batch stopped
    assert (result.retrying, result.deferred) == (1, 2)
    timed_out = OutboxMessage.objects.get(attempts=1)
    assert "timed out" in timed_out.last_error.lower()


def test_a_message_that_cannot_be_rendered_is_an_attempt_and_others_go_on(
    smtp_server,
) -> None:
    [broken] = queue_messages(1, kind="no-such-kind")
    queue_messages(2)

    result = deliver()

    assert (result.sent, result.retrying) == (2, 1)
    broken.refresh_from_db()
    assert (broken.status, broken.attempts) == (Status.PENDING, 1)
    assert "No renderer" in broken.last_error
    assert len(smtp_server.wait_for(2)) == 2


def test_the_backoff_doubles_from_thirty_seconds_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


def test_without_a_mail_server_messages_are_printed_and_marked_so(settings, capsys) -> None:
    settings.EMAIL_BACKEND = "outbox.backends.ConsoleBackend"
    registration = factories.confirm(factories.make_ticket_type(), 1, email="sec@example.com")

    result = deliver()

    assert (result.sent, result.printed) == (0, 1)
    printed = capsys.readouterr().out
    assert "printed, not sent" in printed
    assert "To: sec@example.com" in printed
    assert registration.confirmation_number in printed
    assert OutboxMessage.objects.get().status == Status.PRINTED
    assert deliver().tried == 0


class TestOutage:
    """The acceptance test (issue 13): the mail server is down during 20 confirmations,
    with a sender running as in production. All 20 registrations commit; once the server
    is back all 20 messages arrive, none twice."""

    def test_twenty_confirmations_during_an_outage_all_commit_and_all_arrive_once(
        self, smtp_server
    ) -> None:
        from outbox.loop import Sender

        ticket_type = factories.make_ticket_type(capacity=100)
        smtp_server.stop()
        sender = Sender(interval=0.05).start()
        try:
            registrations = [
                factories.confirm(ticket_type, 1, buyer=f"buyer-{n}", email=f"sec{n}@example.com")
                for n in range(20)
            ]
            # The sender met the dead server while the sales went on.
            wait_until(lambda: OutboxMessage.objects.filter(attempts__gte=1).exists())
        finally:
            assert sender.stop()

        confirmed = Registration.objects.filter(
            pk__in=[r.pk for r in registrations], status=Registration.Status.CONFIRMED
        )
        assert confirmed.count() == 20
        assert OutboxMessage.objects.filter(status=Status.PENDING).count() == 20
        assert smtp_server.messages == []

        smtp_server.start()
        # Time passes: everything is due again.
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        call_command("send_outbox")
        call_command("send_outbox")  # a second run finds nothing left to send

        arrived = smtp_server.wait_for(20)
        assert len(arrived) == 20
        assert set(message_ids(arrived).values()) == {1}
        assert {m["To"] for m in arrived} == {f"sec{n}@example.com" for n in range(20)}
        assert OutboxMessage.objects.filter(status=Status.SENT).count() == 20


def send_at_once(senders: int) -> None:
    """`senders` threads pass over the outbox at the same moment."""
    start = threading.Barrier(senders)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait()
            deliver(limit=100)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


@pytest.mark.postgres
class TestSendersAtOnce:
    MESSAGES = 30

    def test_several_senders_at_once_send_every_message_exactly_once(self, smtp_server) -> None:
        queue_messages(self.MESSAGES)

        send_at_once(3)

        arrived = smtp_server.wait_for(self.MESSAGES)
        assert OutboxMessage.objects.filter(status=Status.SENT, attempts=1).count() == (
            self.MESSAGES
        )
        deliver(now=later(hours=1))  # nothing left for anyone
        counts = message_ids(smtp_server.messages)
        assert len(counts) == self.MESSAGES
        assert set(counts.values()) == {1}, counts
        assert len(arrived) == self.MESSAGES

    def test_control_without_the_claim_guard_two_senders_send_one_message_twice(
        self, smtp_server, monkeypatch
    ) -> None:
        # Shows the harness can see a double send: unguarded, both senders take the
        # same due messages.
        monkeypatch.setattr(delivery, "CLAIM_GUARD", False)
        queue_messages(self.MESSAGES)

        send_at_once(3)

        arrived = smtp_server.wait_for(self.MESSAGES + 1)
        assert max(message_ids(arrived).values()) > 1
