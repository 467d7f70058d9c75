"""The sender loop (outbox/loop.py) where it runs: beside the hold sweeper in production,
inside the server process on the embedded default. A slow mail server delays neither."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from outbox.loop import Sender, send_outbox_forever
from outbox.models import OutboxMessage
from tests.outbox.conftest import queue_messages, wait_until
from tests.support import factories
from tickets.models import Hold, Registration

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_queued_message_goes_out_within_a_couple_of_seconds(smtp_server) -> None:
    sender = Sender().start()  # the production interval
    try:
        started = time.monotonic()
        queue_messages(1)
        smtp_server.wait_for(1, timeout=3)
        assert time.monotonic() - started < 2.5
    finally:
        assert sender.stop()
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_after_finding_the_server_down_the_sender_waits_for_the_retry(smtp_server) -> None:
    smtp_server.stop()
    queue_messages(3)
    sender = Sender(interval=0.02).start()
    try:
        wait_until(lambda: sender.passes >= 1)
        first = OutboxMessage.objects.filter(attempts=1).count()
        # 25 intervals pass (what is tested is that nothing happens, so time must pass);
        # the dead server is not asked again before the 30 s backoff.
        time.sleep(0.5)
        assert sender.passes == 1
    finally:
        assert sender.stop()
    assert first == 1
    assert OutboxMessage.objects.filter(attempts=0).count() == 2


def test_holds_expire_on_time_while_the_sweepers_mail_is_stuck_on_a_slow_server(
    smtp_server, settings, own_signal_handlers
) -> None:
    settings.EMAIL_TIMEOUT = 5
    settings.HOUSEKEEPING_INTERVAL = 0
    smtp_server.slow_down(2.5)  # every send waits this long for the server's answer
    factories.confirm(factories.make_ticket_type(), 1)  # a message to send
    registration = factories.hold(factories.make_ticket_type(), 1, buyer="late").registration
    expires_at = timezone.now() + datetime.timedelta(seconds=0.5)
    Registration.objects.filter(pk=registration.pk).update(expires_at=expires_at)
    Hold.objects.filter(registration=registration).update(expires_at=expires_at)
    seen: dict[str, object] = {}

    def watch() -> None:
        try:
            wait_until(
                lambda: Registration.objects.filter(
                    pk=registration.pk, status=Registration.Status.EXPIRED
                ).exists(),
                timeout=10,
            )
            seen["expired_at"] = timezone.now()
            seen["mail_arrived"] = bool(smtp_server.messages)
        finally:
            connections.close_all()
            os.kill(os.getpid(), signal.SIGTERM)  # stops the sweeper's loop

    watcher = threading.Thread(target=watch)
    watcher.start()
    call_command("release_expired_holds", "--loop", "--interval", "0.1")
    watcher.join()

    assert "expired_at" in seen, "the hold never expired"
    assert (seen["expired_at"] - expires_at).total_seconds() < 1.0
    assert seen["mail_arrived"] is False  # the send was still waiting on the server
    # And the mail went out all the same, once.
    assert len(smtp_server.wait_for(1)) == 1


async def test_in_the_server_process_the_sender_stays_off_the_event_loop(smtp_server) -> None:
    smtp_server.slow_down(1.0)
    await database_sync_to_async(queue_messages)(1)
    task = asyncio.create_task(send_outbox_forever())
    arrived = asyncio.create_task(asyncio.to_thread(smtp_server.wait_for, 1))
    longest_gap = 0.0
    try:
        last = time.monotonic()
        while not arrived.done():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            longest_gap, last = max(longest_gap, now - last), now
        await arrived
    finally:
        task.cancel()
        await database_sync_to_async(connections.close_all)()
    assert longest_gap < 0.5  # the loop kept ticking through a one-second send
