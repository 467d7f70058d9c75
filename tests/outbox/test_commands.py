"""`send_outbox` (docs/design.md §8.9) and the sweeper's --without-mail."""

from __future__ import annotations

import os
import signal
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from outbox.models import OutboxMessage
from tests.outbox.conftest import queue_messages

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_once_it_sends_everything_due_batch_by_batch_and_says_so(smtp_server) -> None:
    queue_messages(5)
    output = run("send_outbox", "--batch", "2")
    assert "... 2 message(s) tried so far" in output
    assert "Sent 5, printed 0, to retry 0, gave up 0, waiting for the server 0." in output
    assert len(smtp_server.wait_for(5)) == 5
    assert "Sent 0" in run("send_outbox")


def test_with_the_server_down_it_says_when_it_will_try_again(smtp_server) -> None:
    smtp_server.stop()
    queue_messages(3)
    output = run("send_outbox")
    assert "to retry 1" in output
    assert "waiting for the server 2" in output
    assert "Mail server unavailable; next try at" in output
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 3


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--interval", "0"], "--interval must be a positive"),
        (["--loop", "--interval", "-1"], "--interval must be a positive"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--batch", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_sent(smtp_server, args, says) -> None:
    queue_messages(1)
    with pytest.raises(CommandError, match=says):
        run("send_outbox", *args)
    assert OutboxMessage.objects.get().attempts == 0


def test_with_loop_it_keeps_sending_until_stopped(smtp_server, own_signal_handlers) -> None:
    def queue_then_stop() -> None:
        try:
            queue_messages(2)
            smtp_server.wait_for(2)
        finally:
            connections.close_all()
            os.kill(os.getpid(), signal.SIGTERM)

    feeder = threading.Thread(target=queue_then_stop)
    feeder.start()
    output = run("send_outbox", "--loop", "--interval", "0.05")
    feeder.join()
    assert "Sending the outbox every 0.05s" in output
    assert "Sender stopped." in output
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 2


def test_the_sweeper_can_leave_mail_to_another_process(own_signal_handlers) -> None:
    queue_messages(1)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
    run("release_expired_holds", "--loop", "--interval", "0.05", "--without-mail")
    assert OutboxMessage.objects.get().attempts == 0
