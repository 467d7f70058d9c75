"""A registration's tickets as owners see them: on the confirmation page, in the mail and
in the tickets PDF. One query whatever the seat count.

Who gets which ticket by mail (docs/design.md §10), the same rule for every attendee type
(Mason, guest, lady partner, guest partner): a ticket goes to its attendee when they gave
an email of their own (one that is not the contact's); every other ticket - the contact's
own, those of attendees without an email, unnamed lodge and delegation seats - goes to the
contact. The page shows every ticket to every owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from django.utils.safestring import SafeString, mark_safe

from tickets.documents.qr import qr_svg
from tickets.models import SEATS_PER_LODGE_TABLE, Event, Registration, Ticket


@dataclass(frozen=True)
class IssuedTicket:
    id: int
    code: str
    event: Event
    ticket_type: str
    # The attendee's name, or "Unnamed seat" (with its lodge table when it has one).
    holder: str
    named: bool
    # Normalised; empty when the attendee gave none (or the seat is unnamed).
    attendee_email: str

    @property
    def qr_svg(self) -> SafeString:
        # segno writes the SVG from the code alone: no user text goes into it.
        return mark_safe(qr_svg(self.code, title=f"QR code of ticket {self.code}"))


def normalised(address: str) -> str:
    return address.strip().lower()


def issued_tickets(registration: Registration) -> list[IssuedTicket]:
    """Every ticket of the registration, by event then ticket type, named before unnamed."""
    tickets = (
        Ticket.objects.filter(hold__registration=registration)
        .select_related("attendee", "event", "hold__ticket_type")
        .order_by("event__position", "event__starts_at", "event_id", "hold_id", "pk")
    )
    issued, seat_in_hold = [], {}
    for ticket in tickets:
        hold = ticket.hold
        # Seats of a lodge's table hold are numbered into tables in issue order.
        seat = seat_in_hold[hold.pk] = seat_in_hold.get(hold.pk, -1) + 1
        attendee = ticket.attendee
        if attendee is not None:
            holder = str(attendee)
        elif hold.tables:
            holder = f"Unnamed seat (lodge table {seat // SEATS_PER_LODGE_TABLE + 1})"
        else:
            holder = "Unnamed seat"
        issued.append(
            IssuedTicket(
                id=ticket.pk,
                code=ticket.code,
                event=ticket.event,
                ticket_type=hold.ticket_type.name,
                holder=holder,
                named=attendee is not None,
                attendee_email=normalised(attendee.email) if attendee else "",
            )
        )
    return issued


def has_own_address(attendee_email: str, contact_email: str) -> bool:
    """Whether an attendee's tickets go to them rather than to the contact."""
    return bool(attendee_email) and normalised(attendee_email) != normalised(contact_email)


def recipient_of(ticket: IssuedTicket, contact_email: str) -> str:
    """The (normalised) address a ticket is mailed to."""
    if has_own_address(ticket.attendee_email, contact_email):
        return ticket.attendee_email
    return normalised(contact_email)


def tickets_mailed_to(
    tickets: Iterable[IssuedTicket], address: str, contact_email: str
) -> list[IssuedTicket]:
    address = normalised(address)
    return [t for t in tickets if recipient_of(t, contact_email) == address]


def by_event(tickets: Iterable[IssuedTicket]) -> list[tuple[Event, list[IssuedTicket]]]:
    """Tickets grouped by event, in the order given (issued_tickets orders by event)."""
    return [(event, list(group)) for event, group in groupby(tickets, key=lambda t: t.event)]


def events_of(tickets: Iterable[IssuedTicket]) -> list[Event]:
    """The events these tickets are for, once each, in ticket order."""
    return list({t.event.pk: t.event for t in tickets}.values())
