"""Check-in at the door (docs/design.md §12).

One `CheckIn` row per ticket per event, and the database makes it unique: every scan is one
`INSERT ... ON CONFLICT DO NOTHING RETURNING`, so of any number of simultaneous scans of a
ticket, on however many doors, exactly one inserts (and is answered `ok`) and the others
find its row (`already`, with its time and door). Nothing reads before it writes, so there
is no window in which two scans both see "not yet" (tests/tickets/services/test_checkin.py
races 50 scans, and its control drops the constraint to show the race is real).

A scan names a ticket (the code its QR carries) or a whole registration (the door's search);
the registration checks in every ticket it has for the event in the same one statement.
Each scan that checks someone in leaves an audit entry in its transaction; once it commits,
`checked_in` is sent, and the door and kitchen pages of the event are pushed new counts.

Pay at the door: the outcome of a registration that chose it and has not paid says how
much is owed; staff mark it paid through `registrations.mark_paid`, the admin's audited
service (`mark_paid_at_door`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import partial
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from tickets.models import CheckIn, Event, Hold, Registration, Ticket
from tickets.services import audit
from tickets.services import registrations as registration_service
from tickets.services.exceptions import InvalidScan, NothingToPayAtDoor
from tickets.signals import checked_in

# What "pay at the door" is recorded as (tickets.services.payments.PROVIDERS).
DOOR_PAYMENT_METHOD = "door"
MAX_CODE_LENGTH = 64
SEARCH_LIMIT = 20


class Result(StrEnum):
    OK = "ok"
    ALREADY = "already"
    WRONG_EVENT = "wrong_event"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Seat:
    """One ticket as the door sees it."""

    ticket_id: int
    name: str
    ticket_type: str
    result: Result
    checked_in_at: datetime.datetime | None = None
    door: str = ""

    def as_json(self) -> dict:
        return {
            "ticket": self.ticket_id,
            "name": self.name,
            "ticket_type": self.ticket_type,
            "result": str(self.result),
            "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
            "door": self.door,
        }


@dataclass(frozen=True)
class ScanOutcome:
    """What the door is told about one scan: the result, in words too, and the seats."""

    result: Result
    message: str
    seats: tuple[Seat, ...] = ()
    registration: Registration | None = None
    checked_in_at: datetime.datetime | None = None
    door: str = ""
    other_event: str = ""
    newly_checked_in: int = 0

    @property
    def to_pay(self) -> Decimal | None:
        """What the registration owes at the door, if it chose to pay there and has not."""
        return owed_at_door(self.registration) if self.registration is not None else None

    def as_json(self) -> dict:
        registration = self.registration
        first = self.seats[0] if self.seats else None
        return {
            "result": str(self.result),
            "message": self.message,
            "attendee": ({"name": first.name, "ticket_type": first.ticket_type} if first else None),
            "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
            "door": self.door,
            "seats": [seat.as_json() for seat in self.seats],
            "checked_in_now": self.newly_checked_in,
            "registration": (
                {
                    "id": str(registration.pk),
                    "confirmation_number": registration.confirmation_number or "",
                    "label": label_of(registration),
                    "payment_status": registration.payment_status,
                    "to_pay": str(self.to_pay) if self.to_pay is not None else None,
                }
                if registration is not None
                else None
            ),
            "other_event": self.other_event,
        }


def owed_at_door(registration: Registration) -> Decimal | None:
    if (
        registration.payment_method == DOOR_PAYMENT_METHOD
        and registration.payment_status == Registration.PaymentStatus.PENDING
        and registration.status == Registration.Status.CONFIRMED
    ):
        return registration.total_amount
    return None


def label_of(registration: Registration) -> str:
    """How the door names a registration: the lodge or delegation, else its contact."""
    if registration.lodge_name:
        number = f" No. {registration.lodge_number}" if registration.lodge_number else ""
        return f"{registration.lodge_name}{number}"
    return registration.delegation_name or registration.contact_name or "Registration"


def clean_door(door: str | None) -> str:
    return " ".join((door or "").split())[: CheckIn.MAX_DOOR_LENGTH]


# --- scanning -------------------------------------------------------------------------------


def check_in(
    event: Event,
    *,
    code: str | None = None,
    registration_id: str | UUID | None = None,
    door: str = "",
    by: AbstractBaseUser | None = None,
) -> ScanOutcome:
    """Check in one ticket (by its code) or every ticket of a registration for `event`.
    Bad input (neither, both, an unreadable registration id) raises InvalidScan."""
    code = (code or "").strip()
    registration_id = str(registration_id or "").strip()
    if bool(code) == bool(registration_id) or len(code) > MAX_CODE_LENGTH:
        raise InvalidScan()
    door = clean_door(door)
    if code:
        return _check_in_code(event, code, door, by)
    try:
        registration_uuid = UUID(registration_id)
    except ValueError:
        raise InvalidScan("That registration reference cannot be read.") from None
    return _check_in_registration(event, registration_uuid, door, by)


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "attendee", "hold__ticket_type", "hold__registration", "event"
    )


def _check_in_code(event: Event, code: str, door: str, by) -> ScanOutcome:
    ticket = _tickets().filter(code=code).first()
    if ticket is None:
        return ScanOutcome(Result.UNKNOWN, "Unknown ticket: not one of ours.", door=door)
    registration = ticket.hold.registration
    if ticket.event_id != event.pk:
        return ScanOutcome(
            Result.WRONG_EVENT,
            f"Wrong event: this ticket is for {ticket.event.name}.",
            seats=(_seat(ticket, Result.WRONG_EVENT),),
            registration=registration,
            door=door,
            other_event=ticket.event.name,
        )
    refusal = _invalid_because(event, registration, [ticket])
    if refusal:
        return ScanOutcome(
            Result.CANCELLED,
            refusal,
            seats=(_seat(ticket, Result.CANCELLED),),
            registration=registration,
            door=door,
        )
    return _record(event, registration, [ticket], door, by)


def _check_in_registration(event: Event, registration_id: UUID, door: str, by) -> ScanOutcome:
    registration = Registration.objects.filter(pk=registration_id).first()
    if registration is None or registration.function_id != event.function_id:
        return ScanOutcome(Result.UNKNOWN, "Unknown registration.", door=door)
    tickets = list(
        _tickets().filter(hold__registration=registration, event=event).order_by("hold", "pk")
    )
    if not tickets:
        return ScanOutcome(
            Result.WRONG_EVENT,
            f"{label_of(registration)} has no tickets for {event.name}.",
            registration=registration,
            door=door,
        )
    refusal = _invalid_because(event, registration, tickets)
    if refusal:
        return ScanOutcome(
            Result.CANCELLED,
            refusal,
            seats=tuple(_seat(t, Result.CANCELLED) for t in tickets),
            registration=registration,
            door=door,
        )
    return _record(event, registration, tickets, door, by)


def _invalid_because(event: Event, registration: Registration, tickets: Sequence[Ticket]) -> str:
    """Why these tickets do not let anyone in ("" if they do)."""
    if event.is_cancelled:
        return f"Cancelled: {event.name} has been cancelled."
    if registration.status == Registration.Status.CANCELLED:
        return "Cancelled: this registration was cancelled."
    if registration.status == Registration.Status.EXPIRED and registration.confirmed_at:
        return "Cancelled: this registration lapsed unpaid."
    if registration.status != Registration.Status.CONFIRMED:
        return "Not valid: this registration was never confirmed."
    if any(t.hold.status != Hold.Status.CONFIRMED for t in tickets):
        return "Cancelled: this seat was given back."
    return ""


def _record(
    event: Event, registration: Registration, tickets: Sequence[Ticket], door: str, by
) -> ScanOutcome:
    now = timezone.now()
    with transaction.atomic():
        inserted = insert_check_ins(event.pk, [t.pk for t in tickets], door, by, now)
        if inserted:
            audit.record(
                by,
                audit.Action.CHECK_IN,
                registration,
                event=event.pk,
                door=door,
                tickets=sorted(inserted),
            )
            transaction.on_commit(
                partial(checked_in.send_robust, sender=CheckIn, event_id=event.pk), robust=True
            )
    earlier = {}
    if len(inserted) < len(tickets):
        earlier = {
            c.ticket_id: c
            for c in CheckIn.objects.filter(
                event=event, ticket_id__in=[t.pk for t in tickets if t.pk not in inserted]
            )
        }
    seats = []
    for ticket in tickets:
        if ticket.pk in inserted:
            seats.append(_seat(ticket, Result.OK, now, door))
        else:
            before = earlier.get(ticket.pk)
            seats.append(
                _seat(ticket, Result.ALREADY, before and before.at, before.door if before else "")
            )
    if inserted:
        left = len(tickets) - len(inserted)
        message = f"Checked in: {len(inserted)} of {len(tickets)}" if len(tickets) > 1 else ""
        message = message + (f" ({left} already in)" if left else "")
        return ScanOutcome(
            Result.OK,
            message or "Checked in.",
            seats=tuple(seats),
            registration=registration,
            checked_in_at=now,
            door=door,
            newly_checked_in=len(inserted),
        )
    first = min((s for s in seats if s.checked_in_at), key=lambda s: s.checked_in_at, default=None)
    at = first.checked_in_at if first else None
    where = first.door if first else ""
    when = timezone.localtime(at).strftime("%H:%M") if at else "earlier"
    return ScanOutcome(
        Result.ALREADY,
        f"Already checked in at {when}" + (f", {where}" if where else "") + ".",
        seats=tuple(seats),
        registration=registration,
        checked_in_at=at,
        door=where,
    )


def insert_check_ins(
    event_id: int,
    ticket_ids: Sequence[int],
    door: str,
    by: AbstractBaseUser | None,
    at: datetime.datetime,
) -> set[int]:
    """Insert a check-in per ticket in one statement; the tickets that had none already.

    ON CONFLICT DO NOTHING without a target: the unique (ticket, event) constraint is the
    only one a new row can meet (the key is generated). A scan racing another waits for
    it to commit and then does nothing, so each ticket is counted once.
    """
    if not ticket_ids:
        return set()
    table = connection.ops.quote_name(CheckIn._meta.db_table)
    by_id = by.pk if by is not None and by.is_authenticated else None
    stamp = connection.ops.adapt_datetimefield_value(at)
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(ticket_ids))
    params: list = []
    for ticket_id in ticket_ids:
        params += [ticket_id, event_id, door, stamp, by_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ticket_id, event_id, door, at, by_id) VALUES {rows} "
            "ON CONFLICT DO NOTHING RETURNING ticket_id",
            params,
        )
        return {ticket_id for (ticket_id,) in cursor.fetchall()}


def _seat(
    ticket: Ticket, result: Result, at: datetime.datetime | None = None, door: str = ""
) -> Seat:
    return Seat(
        ticket_id=ticket.pk,
        name=str(ticket.attendee) if ticket.attendee_id else "Unnamed seat",
        ticket_type=ticket.hold.ticket_type.name,
        result=result,
        checked_in_at=at,
        door=door,
    )


# --- paying at the door ---------------------------------------------------------------------


def mark_paid_at_door(
    registration_id: str | UUID, *, door: str, marked_by: AbstractBaseUser
) -> Registration:
    """Record the money taken at the door, through the admin's audited mark-paid service
    (its entry says it was at the door, and which one)."""
    try:
        pk = UUID(str(registration_id))
    except ValueError:
        raise InvalidScan("That registration reference cannot be read.") from None
    registration = Registration.objects.filter(pk=pk).first()
    if registration is None or owed_at_door(registration) is None:
        raise NothingToPayAtDoor()
    marked = registration_service.mark_paid(
        Registration.objects.filter(pk=pk),
        marked_by=marked_by,
        action=audit.Action.DOOR_PAYMENT,
        door=clean_door(door),
    )
    if not marked:  # paid, cancelled or lapsed between the scan and the press
        raise NothingToPayAtDoor()
    registration.refresh_from_db()
    return registration


# --- counts and search ----------------------------------------------------------------------


@dataclass(frozen=True)
class DoorCounts:
    """Checked in / expected for an event, and per door. `version` only grows (the newest
    check-in's key), so a page keeps the newest counts whatever order pushes arrive in."""

    event_id: int
    checked_in: int
    expected: int
    by_door: tuple[tuple[str, int], ...] = field(default=())
    version: int = 0

    def as_message(self) -> dict:
        return {
            "event_id": self.event_id,
            "checked_in": self.checked_in,
            "expected": self.expected,
            "by_door": [list(pair) for pair in self.by_door],
            "version": self.version,
        }

    @classmethod
    def from_message(cls, message: dict) -> DoorCounts:
        return cls(
            event_id=message["event_id"],
            checked_in=message["checked_in"],
            expected=message["expected"],
            by_door=tuple((door, n) for door, n in message["by_door"]),
            version=message["version"],
        )


def valid_tickets(event_id: int):
    """The tickets of an event that let someone in: sold, of a confirmed registration."""
    return valid_tickets_where(event_id=event_id)


def valid_tickets_where(**lookups):
    """The tickets that let someone in, narrowed by `lookups` (the dashboard's: every
    event of a function)."""
    return Ticket.objects.filter(
        hold__status=Hold.Status.CONFIRMED,
        hold__registration__status=Registration.Status.CONFIRMED,
        **lookups,
    )


def counts_of(event_id: int) -> DoorCounts:
    """Two queries: the expected seats, and the check-ins per door."""
    expected = valid_tickets(event_id).count()
    rows = list(
        CheckIn.objects.filter(event_id=event_id)
        .values("door")
        .annotate(n=Count("pk"), newest=Max("pk"))
        .order_by("door")
    )
    return DoorCounts(
        event_id=event_id,
        checked_in=sum(r["n"] for r in rows),
        expected=expected,
        by_door=tuple((r["door"] or "(no door)", r["n"]) for r in rows),
        version=max((r["newest"] for r in rows), default=0),
    )


@dataclass(frozen=True)
class Found:
    """A registration found by the door's search, with its seats for the event."""

    registration: Registration
    seats: int
    checked_in: int
    names: tuple[str, ...]

    @property
    def to_pay(self) -> Decimal | None:
        return owed_at_door(self.registration)


def search(event: Event, text: str) -> list[Found]:
    """Registrations with seats at the event whose attendee name, confirmation number or
    lodge matches `text` (two queries, whatever the number found)."""
    text = " ".join(text.split())[:100]
    if len(text) < 2:
        return []
    words = text.split()
    match = Q(confirmation_number__iexact=text) | Q(lodge_name__icontains=text)
    match |= Q(delegation_name__icontains=text) | Q(contact_name__icontains=text)
    person = Q()
    for word in words:
        person &= (
            Q(attendees__first_name__icontains=word)
            | Q(attendees__last_name__icontains=word)
            | Q(attendees__lodge_name__icontains=word)
        )
    found = list(
        Registration.objects.filter(
            match | person,
            holds__tickets__event=event,
            status=Registration.Status.CONFIRMED,
        )
        .distinct()
        .order_by("confirmation_number")[:SEARCH_LIMIT]
    )
    if not found:
        return []
    tickets = (
        Ticket.objects.filter(event=event, hold__registration__in=found)
        .select_related("attendee", "hold")
        .annotate(seen=Count("check_ins", filter=Q(check_ins__event=event)))
        .order_by("hold", "pk")
    )
    seats: dict[UUID, list[Ticket]] = {r.pk: [] for r in found}
    for ticket in tickets:
        seats[ticket.hold.registration_id].append(ticket)
    return [
        Found(
            registration=r,
            seats=len(seats[r.pk]),
            checked_in=sum(1 for t in seats[r.pk] if t.seen),
            names=tuple(str(t.attendee) for t in seats[r.pk] if t.attendee_id),
        )
        for r in found
    ]
