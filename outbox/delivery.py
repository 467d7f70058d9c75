"""Delivering the outbox: render each due message and hand it to Django's mail backend.

Guarantees (docs/design.md §10):

* Any number of senders may run at once (the sweeper on every host, a `send_outbox`):
  each takes a message with a guarded UPDATE before sending it (`claim`), so no two send
  the same one. The claim is a lease: a sender that dies mid-send leaves the message to be
  tried again after `CLAIM_LEASE`.
* A failed attempt (the server refused, timed out, or the message would not render) is
  counted, its error kept, and the message tried again after a backoff that doubles from
  `BACKOFF_BASE` up to `BACKOFF_CAP`; after settings.OUTBOX_MAX_ATTEMPTS it is given up
  ("failed") and waits for staff to resend it.
* A server that cannot be reached stops the batch: the messages not tried yet wait as long
  as the one that failed, so a dead server is asked once, not once per message.
* Delivery is at least once: a server that accepts a message but whose answer is lost
  (a timeout after DATA) gets it again. Every attempt of one row carries the same
  Message-ID, so a receiving system can tell a repeat.

Nothing here runs inside a request or a transaction: the sale committed long before.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.renderers import render
from outbox.signals import message_sent

logger = logging.getLogger(__name__)

# How long a claimed message is left to its sender before another may take it. Longer
# than any one send can take: a handful of steps of at most EMAIL_TIMEOUT each.
CLAIM_LEASE = datetime.timedelta(minutes=10)
BACKOFF_BASE = datetime.timedelta(seconds=30)
BACKOFF_CAP = datetime.timedelta(hours=1)
# The claim's guard. Only the control test turns it off, to show that its harness catches
# two senders sending one message.
CLAIM_GUARD = True

# SMTP answers about one message (its recipient, its content); anything else that goes
# wrong while talking to the server (a refused or dropped connection, a timeout, a failed
# login, "421 closing") means the server is unavailable for every message.
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)


@dataclass
class Delivery:
    """What one pass over the outbox did."""

    sent: int = 0
    printed: int = 0
    retrying: int = 0  # attempts that failed and will be tried again
    failed: int = 0  # given up after the last attempt
    deferred: int = 0  # not tried: the server could not be reached
    # Set when the server could not be reached: the sender loop waits until then.
    server_unavailable_until: datetime.datetime | None = None

    @property
    def handed_over(self) -> int:
        return self.sent + self.printed

    @property
    def tried(self) -> int:
        return self.handed_over + self.retrying + self.failed

    def __str__(self) -> str:
        line = (
            f"Sent {self.sent}, printed {self.printed}, to retry {self.retrying}, "
            f"gave up {self.failed}, waiting for the server {self.deferred}."
        )
        if self.server_unavailable_until:
            until = self.server_unavailable_until
            line += f" Mail server unavailable; next try at {until:%H:%M:%S}."
        return line


def backoff(attempts: int) -> datetime.timedelta:
    """How long to wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, ...
    at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def message_id(message: OutboxMessage) -> str:
    """The same for every attempt of one row, so a repeat can be recognised."""
    host = urllib.parse.urlsplit(settings.SITE_URL).hostname or "lodgetix"
    return f"<{message.pk}@{host}>"


def build_email(message: OutboxMessage) -> EmailMultiAlternatives:
    rendered = render(message)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message_id(message)},
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    for attachment in rendered.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    return email


def deliver_due(limit: int = 50, *, now: datetime.datetime | None = None) -> int:
    """Send up to `limit` due messages; returns how many went out (sent or printed)."""
    return deliver(limit, now=now).handed_over


def deliver(limit: int = 50, *, now: datetime.datetime | None = None) -> Delivery:
    """One pass: try each message due at `now` (default: the present), oldest due first.

    `now` lets a caller (a test) stand later in time; schedules are reckoned from it.
    """
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        # Fewer attempts first among equals: while a server is down, the one message
        # that finds out is a different one each time, not always the oldest.
        .order_by("next_attempt_at", "attempts", "created_at")
        .values_list("pk", flat=True)[:limit]
    )
    candidates = list(due)
    result = Delivery()
    if not candidates:
        return result
    connection = get_connection()
    prints_only = getattr(connection, "prints_only", False)
    try:
        for position, pk in enumerate(candidates):
            message = claim(pk, now)
            if message is None:
                continue  # another sender took it
            try:
                email = build_email(message)
            except Exception as error:
                logger.exception("Could not render outbox message %s (%s)", pk, message.kind)
                _record_failure(message, error, now, result)
                continue
            try:
                # One session for the batch: open() does nothing once it is open.
                connection.open()
                connection.send_messages([email])
            except Exception as error:
                retry_at = _record_failure(message, error, now, result)
                if isinstance(error, _MESSAGE_ERRORS) and not _closing(error):
                    logger.warning("Mail server refused outbox message %s: %s", pk, error)
                    continue
                logger.warning("Mail server unavailable (%s); waiting until %s", error, retry_at)
                result.deferred = _defer(candidates[position + 1 :], now, retry_at, error)
                result.server_unavailable_until = retry_at
                break
            _record_handed_over(message, printed=prints_only, result=result)
    finally:
        _close_quietly(connection)
    return result


def claim(pk, now: datetime.datetime) -> OutboxMessage | None:
    """Take one due message for this sender, or None when another sender has it."""
    if CLAIM_GUARD:
        taken = OutboxMessage.objects.filter(
            pk=pk, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=_later_of(now) + CLAIM_LEASE)
        if not taken:
            return None
    return OutboxMessage.objects.filter(pk=pk).first()


def _later_of(now: datetime.datetime) -> datetime.datetime:
    # A test standing in the future stays there; a long batch does not lose its lease.
    return max(now, timezone.now())


def _closing(error: Exception) -> bool:
    # "421 Service not available, closing transmission channel" can answer any command.
    return getattr(error, "smtp_code", None) == 421


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _record_failure(
    message: OutboxMessage, error: Exception, now: datetime.datetime, result: Delivery
) -> datetime.datetime:
    """Count the attempt and schedule the next one (or give up); returns when the next
    attempt is due."""
    attempts = message.attempts + 1
    retry_at = _later_of(now) + backoff(attempts)
    gave_up = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=attempts,
        last_error=_describe(error),
        next_attempt_at=retry_at,
        status=OutboxMessage.Status.FAILED if gave_up else OutboxMessage.Status.PENDING,
    )
    if gave_up:
        logger.error("Gave up outbox message %s after %d attempts", message.pk, attempts)
        result.failed += 1
    else:
        result.retrying += 1
    return retry_at


def _defer(pks: list, now: datetime.datetime, until: datetime.datetime, error: Exception) -> int:
    """Messages not tried because the server is unavailable wait as long as the one that
    found out; no attempt is counted against them."""
    if not pks:
        return 0
    return OutboxMessage.objects.filter(
        pk__in=pks, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=until, last_error=f"Not tried: {_describe(error)}"[:2000])


def _record_handed_over(message: OutboxMessage, *, printed: bool, result: Delivery) -> None:
    status = OutboxMessage.Status.PRINTED if printed else OutboxMessage.Status.SENT
    sent_at = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=status, attempts=F("attempts") + 1, sent_at=sent_at, last_error=""
    )
    message.status, message.sent_at, message.last_error = status, sent_at, ""
    message.attempts += 1
    if printed:
        result.printed += 1
        return
    result.sent += 1
    for receiver, failure in message_sent.send_robust(sender=OutboxMessage, message=message):
        if isinstance(failure, Exception):
            logger.error(
                "Receiver %r of message_sent failed for %s", receiver, message.pk, exc_info=failure
            )


def _close_quietly(connection) -> None:
    # Closing says QUIT to the server; one that just timed out or vanished may not answer.
    try:
        connection.close()
    except Exception:
        logger.debug("Closing the mail connection failed", exc_info=True)
