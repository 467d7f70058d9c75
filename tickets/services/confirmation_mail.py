"""The confirmation message (docs/design.md §10): written to the outbox in the transaction
that confirms, rendered when it is delivered (so a resend carries the registration as it is
now).

Two kinds. CONFIRMATION goes to the contact: the itemised lines, the total and the GST it
includes, the organiser, how to pay, the manage link; attached the tax invoice, the tickets
mailed to the contact and an .ics per event. ATTENDEE_TICKETS goes to each attendee who gave
an email of their own: their tickets and the .ics of their events, no invoice. Who gets
which ticket is services.issued_tickets' rule, the same for every attendee type.

Rendering reads three queries whatever the seat count: the registration with its
function, its lines, its tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from common.links import absolute_url
from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.renderers import Attachment, RenderedMessage
from tickets.documents.calendar import event_ics
from tickets.documents.invoice import tax_invoice_pdf
from tickets.documents.tickets_pdf import tickets_pdf
from tickets.documents.values import (
    CalendarEntry,
    InvoiceLine,
    Organiser,
    TaxInvoice,
    TicketCard,
)
from tickets.models import Event, Hold, Registration

# A module, not its names: services.registrations imports this module to enqueue.
from tickets.services import access, registrations
from tickets.services.issued_tickets import (
    IssuedTicket,
    events_of,
    has_own_address,
    issued_tickets,
    normalised,
    tickets_mailed_to,
)
from tickets.services.tax import gst_included
from tickets.templatetags.money import money

CONFIRMATION = "confirmation"
# A partner's or guest's tickets go to the primary contact unless they gave their own
# email; those who did get their own tickets in a message of this kind.
ATTENDEE_TICKETS = "attendee_tickets"

PDF = "application/pdf"
ICS = "text/calendar"
_WHEN = "l j F Y, g:i A"


def about(registration: Registration) -> str:
    return f"registration:{registration.pk}"


def enqueue_confirmation(registration: Registration) -> list[OutboxMessage]:
    """One message to the contact, and one to each address of attendees who gave an email
    of their own and hold a ticket. Called inside the confirming transaction."""
    messages = []
    subject = f"{registration.function.name}: registration {registration.confirmation_number}"
    contact = normalised(registration.contact_email)
    if contact:
        messages.append(
            outbox.enqueue(
                CONFIRMATION,
                to=registration.contact_email,
                subject=f"{subject} confirmed",
                context={"registration": str(registration.pk)},
                about=about(registration),
            )
        )
    seen = {contact}
    attendees = (
        registration.attendees.exclude(email="")
        .filter(tickets__isnull=False)
        .distinct()
        .order_by("position")
    )
    for attendee in attendees:
        address = normalised(attendee.email)
        if address in seen or not has_own_address(address, contact):
            continue
        seen.add(address)
        messages.append(
            outbox.enqueue(
                ATTENDEE_TICKETS,
                to=attendee.email,
                subject=f"{subject}: your tickets",
                context={"registration": str(registration.pk), "attendee": attendee.pk},
                about=about(registration),
            )
        )
    return messages


@dataclass(frozen=True)
class Line:
    """One itemised line: a ticket type of an event, its seats (and tables); or a package
    line (no event, `ticket_type` the package's name, `seats` how many packages), whose
    items follow it at no price of their own."""

    event: Event | None
    ticket_type: str
    seats: int
    tables: int | None
    unit_price: Decimal
    line_total: Decimal

    @property
    def description(self) -> str:
        return self.ticket_type if self.event is None else f"{self.event.name}: {self.ticket_type}"

    @property
    def quantity_label(self) -> str:
        if self.event is None:
            return f"{self.seats} package{'s' if self.seats != 1 else ''}"
        seats = f"{self.seats} seat{'s' if self.seats != 1 else ''}"
        if self.tables:
            return f"{self.tables} table{'s' if self.tables != 1 else ''} ({seats})"
        return seats


def lines_of(holds: list[Hold]) -> list[Line]:
    """Each package line first, then every hold (a package's items say which package)."""
    package_lines = registrations.package_lines_of(holds)
    return [
        Line(
            event=None,
            ticket_type=line.package.name,
            seats=line.quantity,
            tables=None,
            unit_price=line.unit_price,
            line_total=line.line_total,
        )
        for line in package_lines.values()
    ] + [
        Line(
            event=hold.ticket_type.event,
            ticket_type=hold.ticket_type.name
            if hold.package_hold_id is None
            else f"{hold.ticket_type.name} (in {package_lines[hold.package_hold_id].package.name})",
            seats=hold.seats,
            tables=hold.tables,
            unit_price=hold.unit_price,
            line_total=hold.line_total,
        )
        for hold in holds
    ]


def organiser_of(registration: Registration) -> Organiser:
    function = registration.function
    return Organiser(name=function.organiser_name or function.name, abn=function.organiser_abn)


def payment_instructions(registration: Registration, total: Decimal) -> str:
    """What the buyer is to do about paying, by payment status and method: the one
    wording of the mail, the invoice and the confirmation page."""
    status = Registration.PaymentStatus
    number = registration.confirmation_number
    if registration.payment_status == status.PAID:
        paid = registration.paid_at or registration.confirmed_at
        return f"Paid in full ({money(total)}) on {_date(paid)}. This message is your receipt."
    if registration.payment_status == status.NOT_REQUIRED:
        return "There is nothing to pay for this registration."
    if registration.payment_status in (status.REFUND_DUE, status.REFUNDED):
        return f"{registration.get_payment_status_display()}: the organisers will be in touch."
    if registration.payment_method == "door":
        return (
            f"Please bring {money(total)} to pay by card or cash at the door when you arrive, "
            f"and quote registration {number}."
        )
    due = lapses = ""
    if registration.payment_due_at:
        due = f" no later than {_date(registration.payment_due_at)}"
        lapses = (
            " A registration still unpaid after that date lapses and its seats go back on sale."
        )
    organiser = organiser_of(registration).name
    return (
        f"Please pay {money(total)} by bank transfer{due}, quoting {number} as the reference; "
        f"for the account to pay into, ask {organiser}.{lapses}"
    )


def render_confirmation(message: OutboxMessage) -> RenderedMessage:
    """The renderer of both kinds (registered in TicketsConfig.ready)."""
    registration = Registration.objects.select_related("function").get(
        pk=message.context["registration"]
    )
    holds = registrations.current_holds(registration)
    to_contact = message.kind == CONFIRMATION
    every_ticket = issued_tickets(registration)
    # The contact's share of the tickets (whatever its address now), or the tickets of the
    # attendees whose email is still the one this message was written to: a corrected
    # address gets a message of its own, never a resend to the old one.
    address = registration.contact_email if to_contact else message.to
    tickets = [
        ticket
        for ticket in tickets_mailed_to(every_ticket, address, registration.contact_email)
        # A cancelled event's tickets admit no one; its line stays on the invoice.
        if not ticket.event.is_cancelled
    ]
    total = registrations.total_of(holds)
    lines = lines_of(holds)
    context = {
        "registration": registration,
        "function": registration.function,
        "organiser": organiser_of(registration),
        "lines": lines,
        "total": total,
        "gst": gst_included(total),
        "payment_instructions": payment_instructions(registration, total),
        "manage_url": access.manage_url(registration),
        "tickets": tickets,
        # Whose tickets went to their own email, so the contact knows where they are.
        "sent_to_attendees": sorted(
            {
                t.holder
                for t in every_ticket
                if has_own_address(t.attendee_email, registration.contact_email)
            }
        ),
    }
    number = registration.confirmation_number
    attachments = []
    if to_contact:
        attachments.append(
            Attachment(f"tax-invoice-{number}.pdf", tax_invoice_pdf(_invoice(context)), PDF)
        )
        # Every event the registration has tickets for, whoever its tickets went to.
        bought = {line.event.pk: line.event for line in lines}
        events = [event for event in bought.values() if not event.is_cancelled]
        template = "tickets/mail/confirmation"
    else:
        events = events_of(tickets)
        context["attendee_name"] = next((t.holder for t in tickets if t.named), "")
        template = "tickets/mail/attendee_tickets"
    if tickets:
        cards = [_card(registration, ticket) for ticket in tickets]
        attachments.append(Attachment(f"tickets-{number}.pdf", tickets_pdf(cards), PDF))
    stamped_at = timezone.now()
    attachments += [
        Attachment(
            f"{event.slug}.ics",
            event_ics(_calendar_entry(registration, event), stamped_at=stamped_at),
            ICS,
        )
        for event in events
    ]
    context["events"] = events
    return RenderedMessage(
        text=render_to_string(f"{template}.txt", context),
        html=render_to_string(f"{template}.html", context),
        attachments=attachments,
    )


def _invoice(context: dict[str, Any]) -> TaxInvoice:
    """The tax invoice from the message's context (render_confirmation)."""
    registration: Registration = context["registration"]
    return TaxInvoice(
        number=registration.confirmation_number or "",
        issued_on=timezone.localtime(registration.confirmed_at or timezone.now()).date(),
        organiser=context["organiser"],
        function_name=registration.function.name,
        buyer_name=registration.contact_name,
        buyer_email=registration.contact_email,
        buyer_organisation=_organisation(registration),
        lines=tuple(
            InvoiceLine(
                description=line.description,
                quantity_label=line.quantity_label,
                quantity=line.seats,
                unit_price=line.unit_price,
                line_total=line.line_total,
            )
            for line in context["lines"]
        ),
        total=context["total"],
        gst=context["gst"],
        payment_note=context["payment_instructions"],
    )


def _organisation(registration: Registration) -> str:
    if registration.lodge_name:
        number = f" No. {registration.lodge_number}" if registration.lodge_number else ""
        return f"{registration.lodge_name}{number}"
    return registration.delegation_name


def _card(registration: Registration, ticket: IssuedTicket) -> TicketCard:
    event = ticket.event
    return TicketCard(
        code=ticket.code,
        function_name=registration.function.name,
        event_name=event.name,
        when=_when(event),
        where=event.venue or registration.function.venue,
        holder=ticket.holder,
        ticket_type=ticket.ticket_type,
        confirmation_number=registration.confirmation_number or "",
    )


def _calendar_entry(registration: Registration, event: Event) -> CalendarEntry:
    function = registration.function
    # The function's page, not the manage link: a calendar is often shared, and the manage
    # link makes whoever opens it an owner of the registration.
    page = absolute_url(function.get_absolute_url())
    return CalendarEntry(
        # One UID per event: a second registration's entry updates the first, not doubles it.
        uid=f"event-{event.pk}@{_site_host()}",
        summary=f"{function.name}: {event.name}",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        location=event.venue or function.venue,
        description=(
            f"Registration {registration.confirmation_number}; your tickets are in its "
            f"confirmation email. {page}"
        ),
        url=page,
    )


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "lodgetix"


def _when(event: Event) -> str:
    return dateformat.format(timezone.localtime(event.starts_at), _WHEN)


def _date(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "j F Y") if moment else ""
