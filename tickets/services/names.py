"""Names later, and the lodge table filled together (docs/design.md §11).

A confirmed lodge or delegation registration has unnamed tickets (seats). Its owners, and
anyone holding its share link, name them one seat at a time on the names page; owners of
an individual registration correct their attendees there the same way. Until the
function's `names_due_at` (or, when it is empty, the function's start); after it the page
is read-only and every save is refused with NamesClosed (403).

Two people naming one seat at once: each save carries the seat's `version` as the page
showed it, and the save is one guarded UPDATE `... WHERE version = <that version>` that
bumps it. The second save finds the version moved on and is refused with
SeatNamedMeanwhile (409), carrying what the first saved; nothing is overwritten.
`VERSION_CHECK` exists for the control test only (tests/tickets/services/test_names.py),
which turns it off and shows the same harness catching the overwrite.

Naming changes no seat counts: it touches tickets and attendees, never a ticket type.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from typing import ClassVar
from uuid import UUID

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from common import tokens
from tickets.models import (
    SEATS_PER_LODGE_TABLE,
    Attendee,
    Event,
    Function,
    Hold,
    Lodge,
    Registration,
    Ticket,
    new_secret_key,
)
from tickets.services import eligibility
from tickets.services.dietary import clean_dietary, dietary_errors
from tickets.services.exceptions import (
    InvalidSeatDetails,
    NamesClosed,
    RegistrationClosed,
    SeatNamedMeanwhile,
    ShareLinkNotOffered,
    UnknownSeat,
)
from tickets.services.locking import lock_registration
from tickets.services.registrations import (
    MASON_WITHOUT_LODGE,
    AttendeeDetails,
    attendee_lodge,
    lodge_missing,
)
from tickets.signals import (
    RegistrationChange,
    attendee_details_changed_on_commit,
    registration_changed_on_commit,
    seat_named,
)

# Off only in the control test: without it a stale save silently overwrites.
VERSION_CHECK = True

_SHARE_SALT = "lodgetix.share-link"
_UUID_HEX = 32


@dataclass(frozen=True, kw_only=True)
class SeatDetails:
    """Who sits in a seat, as typed on the names page."""

    first_name: str
    last_name: str
    attendee_type: str = Attendee.Type.MASON
    title: str = ""
    email: str = ""
    # Codes of DietaryNeed; `dietary_requirements` is the text that goes with "other".
    dietary_needs: tuple[str, ...] = field(default_factory=tuple)
    dietary_requirements: str = ""
    special_needs: str = ""
    lodge_name: str = ""
    lodge_number: str = ""

    # Copied as they are onto the Attendee row (dietary_needs as a list): what the
    # wizard saves, less the phone, which the names page does not ask for.
    FIELDS: ClassVar[tuple[str, ...]] = tuple(
        name for name in AttendeeDetails.SAVED_FIELDS if name != "phone"
    )


def seat_errors(details: SeatDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if details.attendee_type not in Attendee.Type.values:
        errors["attendee_type"] = "Choose how this person attends."
    if not details.first_name.strip():
        errors["first_name"] = "This field is required."
    if not details.last_name.strip():
        errors["last_name"] = "This field is required."
    if lodge_missing(details.attendee_type, details.lodge_name):
        errors["lodge_name"] = MASON_WITHOUT_LODGE
    return errors | dietary_errors(details.dietary_needs, details.dietary_requirements)


# --- when ----------------------------------------------------------------------------------


def names_due(function: Function) -> datetime.datetime:
    return function.names_due_at or function.starts_at


def names_open(function: Function, now: datetime.datetime | None = None) -> bool:
    return (now or timezone.now()) < names_due(function)


# --- what the page lists -------------------------------------------------------------------


@dataclass(frozen=True)
class SeatTable:
    """Seats shown together: one lodge table of SEATS_PER_LODGE_TABLE, or all of a line."""

    label: str
    seats: list[Ticket]


@dataclass(frozen=True)
class EventSeats:
    event: Event
    tables: list[SeatTable]


def seats_of(registration: Registration) -> list[EventSeats]:
    """The registration's sold seats, by event, then by table for a lodge (its holds of
    tables cut into tables of SEATS_PER_LODGE_TABLE). One query."""
    tickets = list(
        Ticket.objects.filter(hold__registration=registration, hold__status=Hold.Status.CONFIRMED)
        .select_related("hold__ticket_type__event", "attendee")
        .order_by("event__starts_at", "event_id", "hold_id", "pk")
    )
    by_event = []
    for event, event_tickets in groupby(tickets, key=lambda t: t.hold.ticket_type.event):
        tables: list[SeatTable] = []
        for hold, seats in groupby(event_tickets, key=lambda t: t.hold):
            seats = list(seats)
            if registration.counts_tables and hold.tables:
                for start in range(0, len(seats), SEATS_PER_LODGE_TABLE):
                    label = f"Table {len(tables) + 1} · {hold.ticket_type.name}"
                    tables.append(SeatTable(label, seats[start : start + SEATS_PER_LODGE_TABLE]))
            else:
                tables.append(SeatTable(hold.ticket_type.name, seats))
        by_event.append(EventSeats(event, tables))
    return by_event


def seat(registration: Registration, ticket_id: int) -> Ticket | None:
    """One sold seat of the registration, with what the page shows of it."""
    return (
        Ticket.objects.filter(
            pk=ticket_id, hold__registration=registration, hold__status=Hold.Status.CONFIRMED
        )
        .select_related("hold__ticket_type__event", "attendee")
        .first()
    )


def unnamed_count(registration: Registration) -> int:
    return Ticket.objects.filter(
        hold__registration=registration, hold__status=Hold.Status.CONFIRMED, attendee=None
    ).count()


# --- naming --------------------------------------------------------------------------------


def name_seat(
    registration_id: UUID, ticket_id: int, expected_version: int, details: SeatDetails
) -> Ticket:
    """Name (or correct) the person in one seat, if the seat is still at the version the
    page showed. Raises InvalidSeatDetails (400), UnknownSeat (404), NamesClosed (403),
    SeatNamedMeanwhile (409, nothing written)."""
    errors = seat_errors(details)
    if errors:
        raise InvalidSeatDetails(errors)
    needs, other_text = clean_dietary(details.dietary_needs, details.dietary_requirements)
    values = {name: getattr(details, name).strip() for name in SeatDetails.FIELDS}
    values |= {"dietary_needs": needs, "dietary_requirements": other_text}
    if details.attendee_type != Attendee.Type.MASON:
        values["lodge_name"] = values["lodge_number"] = ""  # only Masons attend under a lodge

    with transaction.atomic():
        # The registration first, as every writer does (services.locking): it also keeps
        # two namings of different seats from drawing the same attendee position.
        registration = lock_registration(registration_id)
        if registration is None:
            raise UnknownSeat()
        if registration.status != Registration.Status.CONFIRMED:
            raise RegistrationClosed()
        if not names_open(registration.function):
            raise NamesClosed()
        ticket = seat(registration, ticket_id)
        if ticket is None:
            raise UnknownSeat()
        lodge = attendee_lodge(details.attendee_type, values["lodge_name"], values["lodge_number"])
        _check_seat_eligibility(ticket, details.attendee_type, lodge)
        values["lodge"] = lodge
        guard = {"version": expected_version} if VERSION_CHECK else {}
        if not Ticket.objects.filter(pk=ticket.pk, **guard).update(version=F("version") + 1):
            raise SeatNamedMeanwhile(ticket)
        attendee = ticket.attendee
        if attendee is None:
            last = registration.attendees.aggregate(last=Max("position"))["last"] or 0
            attendee = Attendee.objects.create(
                registration=registration, position=last + 1, **values
            )
            Ticket.objects.filter(pk=ticket.pk).update(attendee=attendee)
            others: list[int] = []
        else:
            for name, value in values.items():
                setattr(attendee, name, value)
            attendee.save(update_fields=list(values))
            # The attendee's seats at the other events show the same person: they change too.
            others = list(
                attendee.tickets.exclude(pk=ticket.pk).values_list("pk", flat=True).order_by("pk")
            )
            Ticket.objects.filter(pk__in=others).update(version=F("version") + 1)
        transaction.on_commit(
            partial(
                seat_named.send_robust,
                sender=Ticket,
                registration_id=registration.pk,
                function_id=registration.function_id,
                ticket_ids=[ticket.pk, *others],
            ),
            robust=True,
        )
        registration_changed_on_commit(registration, RegistrationChange.NAMED)
        # The door and kitchen pages of those seats' events count names and needs.
        attendee_details_changed_on_commit(
            Ticket.objects.filter(pk__in=[ticket.pk, *others]).values_list("event_id", flat=True)
        )
    return seat(registration, ticket.pk)


def _check_seat_eligibility(ticket: Ticket, attendee_type: str, lodge: Lodge | None) -> None:
    """The person may take this seat, and every other seat the same attendee has (they
    change with it); NotEligible (409) before anything is written otherwise."""
    ticket_types = [ticket.hold.ticket_type]
    if ticket.attendee_id is not None:
        ticket_types += [
            other.hold.ticket_type
            for other in ticket.attendee.tickets.exclude(pk=ticket.pk).select_related(
                "hold__ticket_type"
            )
        ]
    for rules in eligibility.rules_for(ticket_types).values():
        eligibility.check_attendee(rules, attendee_type, lodge.grand_lodge_id if lodge else None)


# --- the share link ------------------------------------------------------------------------


def share_token(registration: Registration) -> str:
    """The registration's id and a signature over it and its current share key: a new key
    revokes every earlier link, an empty one makes none valid."""
    signature = tokens.sign(_SHARE_SALT, _share_value(registration))
    return f"{registration.pk.hex}{signature}"


def registration_of_share_token(token: str) -> Registration | None:
    try:
        registration_id = uuid.UUID(hex=token[:_UUID_HEX])
    except ValueError:
        return None
    registration = (
        Registration.objects.select_related("function")
        .filter(pk=registration_id, status=Registration.Status.CONFIRMED)
        .exclude(share_key="")
        .first()
    )
    if registration is None or not _is_share_token_of(registration, token):
        return None
    return registration


def _share_value(registration: Registration) -> str:
    return f"{registration.pk}:{registration.share_key}"


def _is_share_token_of(registration: Registration, token: str) -> bool:
    # The id part as share_token writes it (lower-case hex), then the signature.
    return token[:_UUID_HEX] == registration.pk.hex and tokens.matches(
        _SHARE_SALT, _share_value(registration), token[_UUID_HEX:]
    )


def offers_share_link(registration: Registration) -> bool:
    return registration.registration_type != Registration.Type.INDIVIDUAL


def create_share_link(registration_id: UUID) -> Registration:
    """A new share link (any earlier one stops working)."""
    return _set_share_key(registration_id, new_secret_key(), RegistrationChange.SHARE_LINK_CREATED)


def revoke_share_link(registration_id: UUID) -> Registration:
    return _set_share_key(registration_id, "", RegistrationChange.SHARE_LINK_REVOKED)


def _set_share_key(registration_id: UUID, key: str, change: RegistrationChange) -> Registration:
    with transaction.atomic():
        registration = lock_registration(registration_id)
        if registration is None or registration.status != Registration.Status.CONFIRMED:
            raise RegistrationClosed()
        if not offers_share_link(registration):
            raise ShareLinkNotOffered()
        registration.share_key = key
        registration.save(update_fields=["share_key", "updated_at"])
        registration_changed_on_commit(registration, change)
    return registration
