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
