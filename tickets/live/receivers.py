"""Domain signals -> live pushes. Connected in TicketsConfig.ready()."""

from __future__ import annotations

from tickets.live.publisher import publisher
from tickets.models import Broadcast
from tickets.services.availability import TicketAvailability


def push_availability(
    sender, *, function_id: int, availabilities: list[TicketAvailability], **kwargs
) -> None:
    publisher.publish_availability(function_id, availabilities)


def push_broadcast(sender, *, broadcast: Broadcast, **kwargs) -> None:
    publisher.publish_broadcast(
        broadcast.function_id,
        {
            "type": "staff.broadcast",
            "id": broadcast.pk,
            "kind": broadcast.kind,
            "event_id": broadcast.event_id,
        },
    )
