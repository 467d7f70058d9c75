"""The sender loop: delivers the outbox every OUTBOX_SEND_INTERVAL seconds, on a thread
of its own.

Its own thread, because a mail server may be slow or silent for EMAIL_TIMEOUT at every
step: the hold sweeper beside it (`release_expired_holds --loop`) and the server's event
loop (the embedded default) must keep their pace whatever the mail server does.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from outbox.delivery import Delivery, deliver

logger = logging.getLogger(__name__)


class Sender:
    """A daemon thread running `deliver()` until stopped.

    After a pass that found the server unavailable it waits until the next attempt is due
    instead of asking the dead server again every interval. A full batch is followed at
    once by the next.
    """

    def __init__(self, interval: float | None = None, batch: int = 50) -> None:
        self.interval = settings.OUTBOX_SEND_INTERVAL if interval is None else interval
        self.batch = batch
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Passes completed, for whoever watches (tests, logs).
        self.passes = 0

    def start(self) -> Sender:
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to stop and wait up to `timeout` seconds (default: the mail
        timeout and a little); returns whether it has stopped. A send in progress is left
        to finish on the daemon thread."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(settings.EMAIL_TIMEOUT + 1 if timeout is None else timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        logger.info("Sending the outbox every %ss", self.interval)
        try:
            while not self._stopping.is_set():
                self._stopping.wait(self._pause(self._pass()))
        finally:
            connections.close_all()

    def _pass(self) -> Delivery | None:
        close_old_connections()
        try:
            delivery = deliver(self.batch)
        except Exception:
            # The database restarting must not end the sender; try again next interval.
            logger.exception("Outbox delivery failed; retrying in %ss", self.interval)
            connections.close_all()
            return None
        finally:
            self.passes += 1
        if delivery.tried or delivery.deferred:
            logger.info("Outbox: %s", delivery)
        return delivery

    def _pause(self, delivery: Delivery | None) -> float:
        if delivery is None:
            return self.interval
        if delivery.server_unavailable_until is not None:
            wait = (delivery.server_unavailable_until - timezone.now()).total_seconds()
            return max(wait, self.interval)
        if delivery.tried >= self.batch:
            return 0
        return self.interval


async def send_outbox_forever() -> None:
    """The sender as a task of the server process (embedded default, common/server_tasks):
    the work is on the sender's thread, never on the event loop."""
    sender = Sender().start()
    try:
        await asyncio.Event().wait()  # until the server cancels its tasks
    finally:
        sender.stop(timeout=0)
