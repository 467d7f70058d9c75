"""Reading and checking a batch of browser interactions (docs/design.md §§6 and 8).

A batch is refused whole only when it cannot be read (MalformedBatch: 400) or is too big
(BatchTooLarge: 413), and its size is checked before a byte of it is parsed. Otherwise
each event is checked on its own: a bad one is reported by its index and the reason, the
rest are stored. What PostgreSQL would refuse (NUL characters, lone surrogates, infinite
numbers) is cleaned or refused here, so one odd event cannot fail its batch's insert.

Who sent a batch never comes from its body: the session, visitor, user and user agent are
the request's (`Sender`). A client's clock may be wrong; each event's time is corrected by the
difference between the batch's `sent_at` and the moment the server received it.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from django.utils import timezone
from django.utils.crypto import salted_hmac

from analytics.models import Interaction
from analytics.services import context, storage
from analytics.services.exceptions import BatchTooLarge, MalformedBatch
from analytics.services.storage import InteractionRow

MAX_BODY_BYTES = 256 * 1024
MAX_EVENTS = 100
MAX_DATA_BYTES = 8 * 1024
MAX_DATA_DEPTH = 16
MAX_ACTION_LENGTH = 64
MAX_URL_LENGTH = 2048
MAX_TIMESTAMP_LENGTH = 64
MAX_USER_AGENT_LENGTH = 512
# A page keeps unsent events in memory only, so nothing honest arrives much older than a
# long-lived tab. "Ahead" allows for the network latency the skew correction folds in.
MAX_EVENT_AGE = datetime.timedelta(days=7)
MAX_EVENT_AHEAD = datetime.timedelta(minutes=5)

# "page.view", "field.change", "registration.hold_created": lower-case words and dots.
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
# PostgreSQL refuses NUL in text and jsonb; UTF-8 cannot encode a lone surrogate (which
# JSON's "\ud800" escape decodes to).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InvalidEvent(ValueError):
    """One event of a batch is refused; the message goes back with its index."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON (Python accepts them by default) and no database column
# stores them.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Sender:
    """Who sent a batch, as the request tells it (never the body)."""

    session_id: str
    visitor_id: str
    user_id: int | None
    user_agent: str
    # The anonymous buyer identity of the session: registrations named by a page URL are
    # attached only when they are this buyer's own.
    buyer_key: str | None = None


@dataclass(frozen=True)
class Batch:
    sent_at: datetime.datetime
    events: list[Any]
    csrf_token: str = ""


@dataclass(frozen=True)
class Rejection:
    index: int
    error: str


@dataclass(frozen=True)
class CheckedBatch:
    rows: list[InteractionRow]
    rejected: list[Rejection]
    # Events that repeat an earlier uuid of the same batch: duplicates found without the
    # database.
    repeats: int


@dataclass(frozen=True)
class CaptureResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection]

    def as_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": r.index, "error": r.error} for r in self.rejected],
        }


def sender(
    *,
    session_key: str | None,
    csrf_cookie: str | None,
    user_id: int | None,
    user_agent: str,
    buyer_key: str | None,
) -> Sender:
    """A Sender from what the request carries; session and CSRF cookie only hashed."""
    return Sender(
        session_id=session_id_of(session_key),
        visitor_id=visitor_id_of(csrf_cookie),
        user_id=user_id,
        user_agent=storable_text(user_agent)[:MAX_USER_AGENT_LENGTH],
        buyer_key=buyer_key,
    )


def session_id_of(session_key: str | None) -> str:
    """A keyed hash of a session key: stable per session, useless as a credential."""
    return _keyed_hash("session", session_key)


def visitor_id_of(csrf_cookie: str | None) -> str:
    """A keyed hash of a browser's CSRF cookie: stable per browser until it logs in."""
    return _keyed_hash("visitor", csrf_cookie)


def _keyed_hash(kind: str, secret: str | None) -> str:
    if not secret:
        return ""
    return salted_hmac(f"lodgetix.analytics.{kind}", secret).hexdigest()[:32]


def read_body(stream: Readable, declared_length: str | None) -> bytes:
    """Read a request body without ever holding more than the limit: a declared or
    actual size past MAX_BODY_BYTES raises BatchTooLarge before anything is parsed."""
    try:
        declared = int(declared_length) if declared_length else None
    except ValueError:
        declared = None  # the server decides how much there is; the read below is capped
    if declared is not None and declared > MAX_BODY_BYTES:
        raise BatchTooLarge(_too_many_bytes(declared))
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BatchTooLarge(_too_many_bytes(len(body)))
    return body


def _too_many_bytes(size: int) -> str:
    return f"A batch is at most {MAX_BODY_BYTES // 1024} KB; this one is {size:,} bytes or more."


def parse_batch(body: bytes) -> Batch:
    """The batch in a body, or MalformedBatch / BatchTooLarge saying what is wrong."""
    try:
        document = _DECODER.decode(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise MalformedBatch("The body is not UTF-8 text.") from error
    except json.JSONDecodeError as error:
        raise MalformedBatch(f"The body is not JSON: {error.msg} at {error.pos}.") from error
    except (ValueError, RecursionError) as error:  # NaN, 4,300-digit numbers, deep nesting
        raise MalformedBatch(f"The body is not JSON that can be stored: {error}.") from error
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedBatch()
    events = document["events"]
    if len(events) > MAX_EVENTS:
        raise BatchTooLarge(
            f"A batch holds at most {MAX_EVENTS} events; this one has {len(events)}."
        )
    sent_at = parse_timestamp(document.get("sent_at"))
    if sent_at is None:
        raise MalformedBatch(
            "sent_at must be an ISO-8601 date-time with a time zone, e.g. 2025-05-01T09:30:00.000Z."
        )
    csrf_token = document.get("csrf_token", "")
    if not isinstance(csrf_token, str):
        raise MalformedBatch("csrf_token must be a string.")
    return Batch(sent_at=sent_at, events=events, csrf_token=csrf_token)


def parse_timestamp(value: object) -> datetime.datetime | None:
    """An aware datetime from ISO-8601 text; None for anything else (or a naive time,
    which would be read in an unknown zone)."""
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP_LENGTH:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_batch(batch: Batch, sender: Sender, received_at: datetime.datetime) -> CheckedBatch:
    """Turn each good event into a row; name each bad one with its index and reason."""
    skew = received_at - batch.sent_at
    rows: list[InteractionRow] = []
    rejected: list[Rejection] = []
    seen: set[uuid.UUID] = set()
    repeats = 0
    for index, event in enumerate(batch.events):
        try:
            row = _row_of(event, sender, received_at, skew)
        except InvalidEvent as refusal:
            rejected.append(Rejection(index=index, error=refusal.message))
            continue
        if row.uuid in seen:
            repeats += 1
            continue
        seen.add(row.uuid)
        rows.append(row)
    return CheckedBatch(rows=rows, rejected=rejected, repeats=repeats)


def capture_batch(
    batch: Batch, sender: Sender, received_at: datetime.datetime | None = None
) -> CaptureResult:
    """Check a batch, attach what it refers to, store it; say what became of each event."""
    checked = check_batch(batch, sender, received_at or timezone.now())
    context.attach_references(checked.rows, buyer_key=sender.buyer_key)
    stored = storage.store(checked.rows)
    return CaptureResult(
        accepted=stored.accepted,
        duplicates=stored.duplicates + checked.repeats,
        rejected=checked.rejected,
    )


def storable_text(text: str) -> str:
    """`text` without NUL characters, lone surrogates replaced by U+FFFD."""
    # Most text is ASCII without NUL: two C-speed checks instead of a regex search.
    if (text.isascii() and "\x00" not in text) or _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def _row_of(
    event: object,
    sender: Sender,
    received_at: datetime.datetime,
    skew: datetime.timedelta,
) -> InteractionRow:
    if not isinstance(event, dict):
        raise InvalidEvent("An event must be a JSON object.")
    event_uuid = _uuid_of(event.get("id"))
    action = event.get("action")
    if (
        not isinstance(action, str)
        or len(action) > MAX_ACTION_LENGTH
        or ACTION_PATTERN.fullmatch(action) is None
    ):
        raise InvalidEvent(
            f"action must be at most {MAX_ACTION_LENGTH} characters of lower-case words "
            "joined by dots, e.g. page.view."
        )
    data, data_json = _data_of(event.get("data", {}))
    client_timestamp = parse_timestamp(event.get("timestamp"))
    if client_timestamp is None:
        raise InvalidEvent(
            "timestamp must be an ISO-8601 date-time with a time zone, "
            "e.g. 2025-05-01T09:30:00.000Z."
        )
    occurred_at = _corrected(client_timestamp, skew, received_at)
    page_url = event.get("page_url", "")
    if not isinstance(page_url, str) or len(page_url) > MAX_URL_LENGTH:
        raise InvalidEvent(f"page_url must be text of at most {MAX_URL_LENGTH} characters.")
    return InteractionRow(
        uuid=event_uuid,
        action=action,
        data=data,
        data_json=data_json,
        source=Interaction.Source.CLIENT,
        client_timestamp=client_timestamp,
        occurred_at=occurred_at,
        received_at=received_at,
        session_id=sender.session_id,
        visitor_id=sender.visitor_id,
        user_id=sender.user_id,
        page_url=storable_text(page_url),
        user_agent=sender.user_agent,
    )


def _uuid_of(value: object) -> uuid.UUID:
    if isinstance(value, str) and len(value) <= 45:  # urn:uuid: + 36
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidEvent("id must be a UUID, e.g. 5f0c4bde-3c1e-4d53-9d8e-0b8a4b9c6c2e.")


def _data_of(value: object) -> tuple[dict, str]:
    if not isinstance(value, dict):
        raise InvalidEvent("data must be a JSON object.")
    data = _storable(value, depth=1)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > MAX_DATA_BYTES:
        raise InvalidEvent(f"data must be at most {MAX_DATA_BYTES // 1024} KB as JSON.")
    return data, text


def _storable(value: Any, depth: int) -> Any:
    """`value` with every string made storable; refuses what no column can hold."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict | list):
        if depth > MAX_DATA_DEPTH:
            raise InvalidEvent(f"data may be nested at most {MAX_DATA_DEPTH} levels deep.")
        if isinstance(value, list):
            return [_storable(item, depth + 1) for item in value]
        return {storable_text(key): _storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent("data holds a number too large to store.")
    return value


def _corrected(
    client_timestamp: datetime.datetime,
    skew: datetime.timedelta,
    received_at: datetime.datetime,
) -> datetime.datetime:
    try:
        occurred_at = client_timestamp + skew
    except OverflowError:
        raise InvalidEvent("timestamp is out of range.") from None
    if occurred_at < received_at - MAX_EVENT_AGE:
        raise InvalidEvent(
            f"timestamp is more than {MAX_EVENT_AGE.days} days old "
            "(after correcting for the sender's clock)."
        )
    if occurred_at > received_at + MAX_EVENT_AHEAD:
        raise InvalidEvent("timestamp is in the future (after correcting for the sender's clock).")
    return occurred_at
