"""Domain events captured on the server, through the same storage as the browser's.

`tickets.signals.registration_changed` is sent after the change committed; each change
becomes one interaction `registration.<change>` (created, hold_created, step_reached,
confirmed, cancelled, expired, and whatever changes are added later).
`outbox.signals.message_sent` becomes `mail.sent`: the kind of message and what it is
about, never the address.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import uuid
from typing import TYPE_CHECKING

from django.db import close_old_connections, connections
from django.utils import timezone

from analytics.models import Interaction
from analytics.services import storage
from analytics.services.storage import InteractionRow
from tickets.models import Registration

if TYPE_CHECKING:
    from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)


class ServerEventQueue:
    """Server-side events wait in the process and are written in bulk by a background
    thread, every `interval` seconds or as soon as `batch` are waiting: one COPY for many
    events, and a sale never waits for its analytics.

    The trade-off: a process that dies loses what it had not written yet (at most about
    `interval` seconds of events). A failed write puts the rows back, up to `limit`, and is
    retried on the next tick.
    """

    def __init__(self, interval: float = 1.0, batch: int = 500, limit: int = 50_000) -> None:
        self.interval = interval
        self.batch = batch
        self.limit = limit
        # Tests turn the thread off and flush by hand, so rows never outlive their test.
        self.background = True
        self._rows: list[InteractionRow] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def put(self, row: InteractionRow) -> None:
        with self._lock:
            self._rows.append(row)
            if len(self._rows) > self.limit:
                del self._rows[: len(self._rows) - self.limit]
                logger.warning("Server events queue full: dropped the oldest")
            start = self.background and self._thread is None
            wake = len(self._rows) >= self.batch
        if start:
            self._start()
        if wake:
            self._wake.set()

    def flush(self) -> int:
        """Write everything waiting, in this thread; returns how many rows."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            storage.store(rows)
        except Exception:
            with self._lock:
                self._rows[:0] = rows[-self.limit :]
            raise
        return len(rows)

    def discard(self) -> None:
        with self._lock:
            self._rows.clear()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._write_forever, name="server-events", daemon=True
            )
        self._thread.start()
        atexit.register(self._flush_at_exit)

    def stop(self) -> None:
        """Write what is waiting and end the background thread."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _write_forever(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("Could not write server events; retrying")
            finally:
                close_old_connections()
        connections.close_all()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:
            logger.exception("Could not write server events at exit")


queue = ServerEventQueue()


def record_registration_change(
    sender: type, *, registration: Registration, change: str, **kwargs
) -> None:
    """Receiver of registration_changed: queue the change as an interaction.

    It runs in the request that made the sale, after its commit, and costs it only
    building one row; any failure is logged and swallowed so it can never reach the
    buyer. (The signal is sent robustly, but a receiver should not rely on every sender
    doing so.)
    """
    try:
        queue.put(registration_change_row(registration, change))
    except Exception:
        logger.exception(
            "Could not record %s of registration %s", change, getattr(registration, "pk", None)
        )


def server_row(
    action: str,
    data: dict,
    *,
    user_id: int | None = None,
    function_id: int | None = None,
    event_id: int | None = None,
    registration_id: uuid.UUID | None = None,
) -> InteractionRow:
    """An interaction the server saw happen now (no session, page or client clock of its
    own); `action` is cut to the column's length."""
    now = timezone.now()
    return InteractionRow(
        uuid=uuid.uuid4(),
        action=action[: Interaction._meta.get_field("action").max_length],
        data=data,
        data_json=json.dumps(data),
        source=Interaction.Source.SERVER,
        client_timestamp=now,
        occurred_at=now,
        received_at=now,
        user_id=user_id,
        function_id=function_id,
        event_id=event_id,
        registration_id=registration_id,
    )


def registration_change_row(registration: Registration, change: str) -> InteractionRow:
    data = {
        "registration_type": registration.registration_type,
        "status": registration.status,
        "step": registration.step,
    }
    return server_row(
        f"registration.{change}",
        data,
        user_id=registration.user_id,
        function_id=registration.function_id,
        registration_id=registration.pk,
    )


def record_mail_sent(sender: type, *, message: OutboxMessage, **kwargs) -> None:
    """Receiver of outbox's message_sent: queue `mail.sent`. Runs on the sender's thread;
    a failure is logged and swallowed, as for registration changes."""
    try:
        queue.put(mail_sent_row(message))
    except Exception:
        logger.exception("Could not record mail.sent of outbox message %s", message.pk)


def mail_sent_row(message: OutboxMessage) -> InteractionRow:
    data = {"kind": message.kind, "about": message.about, "attempts": message.attempts}
    registration_id = function_id = None
    kind, _, key = message.about.partition(":")
    if kind == "registration":
        # Resolved, not trusted: references in this table are real when written.
        found = Registration.objects.filter(pk=_uuid_or_none(key)).values_list("pk", "function_id")
        registration_id, function_id = found.first() or (None, None)
    return server_row("mail.sent", data, function_id=function_id, registration_id=registration_id)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- waiting list (design §13) -------------------------------------------------------------


def record_waitlist_change(sender: type, *, entry, change: str, **kwargs) -> None:
    """Receiver of waitlist_changed: join, offer, accept, lapse and leave as interactions
    (`waitlist.<change>`), queued like registration changes and as harmless to the change."""
    try:
        data = {
            "ticket_type": entry.ticket_type_id,
            "quantity": entry.quantity,
            "status": entry.status,
        }
        queue.put(
            server_row(
                f"waitlist.{change}",
                data,
                function_id=entry.ticket_type.event.function_id,
                event_id=entry.ticket_type.event_id,
                registration_id=entry.offered_registration_id,
            )
        )
    except Exception:
        logger.exception("Could not record %s of waiting-list entry %s", change, entry.pk)
