"""Domain signals. Each is sent only after the transaction that caused it has committed.

Receivers (the live publisher, analytics, presence) must not be able to undo or block the
change that caused them: sends are robust, a failing receiver is logged by Django and the
rest still run.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.dispatch import Signal

if TYPE_CHECKING:
    from tickets.models import Registration

# A ticket type's counts, capacity or saleability changed.
# Arguments: function_id: int, availabilities: list[TicketAvailability].
availability_changed = Signal()

# A registration moved. Arguments: registration: Registration, change: RegistrationChange.
registration_changed = Signal()

# Staff told everyone viewing a function something. Arguments: broadcast: Broadcast.
broadcast_sent = Signal()

# A waiting-list entry moved (design §13). Arguments: entry: WaitlistEntry, change: one of
# "join", "offer", "accept", "lapse", "leave".
waitlist_changed = Signal()
# Someone named (or corrected) seats on a names page (docs/design.md §11).
# Arguments: registration_id: UUID, function_id: int, ticket_ids: list[int].
seat_named = Signal()


class RegistrationChange(StrEnum):
    CREATED = "created"
    HOLD_CREATED = "hold_created"
    STEP_REACHED = "step_reached"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # A browser opened the registration's manage link and became an owner (services.access).
    MANAGE_OPENED = "manage_opened"
    # Names later (§11): a seat named or corrected; the share link made or revoked.
    NAMED = "named"
    SHARE_LINK_CREATED = "share_link_created"
    SHARE_LINK_REVOKED = "share_link_revoked"


def registration_changed_on_commit(registration: Registration, change: RegistrationChange) -> None:
    transaction.on_commit(
        partial(
            registration_changed.send_robust,
            sender=type(registration),
            registration=registration,
            change=change,
        ),
        robust=True,
    )


# --- the door and the kitchen (issue 14) ---------------------------------------------------

# Tickets were checked in at an event's door. Arguments: event_id: int.
checked_in = Signal()

# What the kitchen and the door show of an event's attendees changed: a seat was named or
# renamed, or someone's dietary or special needs changed. Arguments: event_ids: list[int].
# Whoever saves attendee details calls `attendee_details_changed_on_commit(event_ids)`
# inside the saving transaction (the names pages do; see docs/design.md §12).
attendee_details_changed = Signal()

# Staff sent a message to an event's door and kitchen pages. Arguments: note: StaffNote.
staff_note_sent = Signal()


def attendee_details_changed_on_commit(event_ids) -> None:
    """Tell the door and kitchen pages of these events once the transaction commits."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    transaction.on_commit(
        partial(attendee_details_changed.send_robust, sender=None, event_ids=ids), robust=True
    )


def waitlist_changed_on_commit(entry, change: str) -> None:
    transaction.on_commit(
        partial(waitlist_changed.send_robust, sender=type(entry), entry=entry, change=change),
        robust=True,
    )


# --- the staff dashboard (issue 16) ----------------------------------------------------------

# Staff recorded payment for confirmed registrations (services.registrations.mark_paid):
# money moved from outstanding to confirmed. Arguments: function_ids: list[int].
payment_received = Signal()


def payment_received_on_commit(function_ids) -> None:
    ids = sorted(set(function_ids))
    if not ids:
        return
    transaction.on_commit(
        partial(payment_received.send_robust, sender=None, function_ids=ids), robust=True
    )
