"""The confirmation message (docs/design.md §10): written to the outbox in the transaction
that confirms, rendered when it is delivered."""

from __future__ import annotations

from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.renderers import RenderedMessage
from tickets.models import Registration

CONFIRMATION = "confirmation"
# A partner's or guest's tickets go to the primary contact unless they gave their own
# email; those who did get their own tickets in a message of this kind.
ATTENDEE_TICKETS = "attendee_tickets"


def about(registration: Registration) -> str:
    return f"registration:{registration.pk}"


def enqueue_confirmation(registration: Registration) -> list[OutboxMessage]:
    """One message to the contact, and one to each attendee who gave an email of their
    own. Called inside the confirming transaction."""
    messages = []
    subject = f"{registration.function.name}: registration {registration.confirmation_number}"
    contact = registration.contact_email.strip().lower()
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
    for attendee in registration.attendees.exclude(email="").order_by("position"):
        address = attendee.email.strip().lower()
        if address in seen:
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


def render_confirmation(message: OutboxMessage) -> RenderedMessage:
    registration = Registration.objects.select_related("function").get(
        pk=message.context["registration"]
    )
    return RenderedMessage(
        text=(
            f"Thank you for registering for {registration.function.name}.\n"
            f"Your confirmation number is {registration.confirmation_number}.\n"
        )
    )
