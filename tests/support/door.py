"""Test data for the door and the kitchen: confirmed registrations with tickets."""

from __future__ import annotations

from tests.support import factories
from tickets.models import Attendee, Registration, Ticket, TicketType
from tickets.services import registrations as wizard


def confirmed_individuals(
    ticket_type: TicketType,
    *names: str,
    buyer: str = "door-buyer",
    payment_method: str = "invoice",
    payment_status: str = Registration.PaymentStatus.PENDING,
    **attendee_fields,
) -> Registration:
    """An individual registration with one named seat per first name, confirmed."""
    registration = factories.hold(ticket_type, len(names), buyer=buyer).registration
    wizard.continue_to_attendee_details(registration.pk)
    wizard.save_attendee_details(
        registration.pk,
        wizard.ContactDetails(),
        [factories.attendee(name, ticket_type, **attendee_fields) for name in names],
    )
    wizard.continue_to_payment(registration.pk)
    return wizard.confirm_registration(
        registration.pk, payment_method=payment_method, payment_status=payment_status
    )


def tickets_of(registration: Registration) -> list[Ticket]:
    return list(Ticket.objects.filter(hold__registration=registration).order_by("pk"))


def set_needs(registration: Registration, position: int, needs: list[str], special: str = ""):
    """What the names pages will do: change an attendee's needs (then announce it)."""
    Attendee.objects.filter(registration=registration, position=position).update(
        dietary_needs=needs, special_needs=special
    )
