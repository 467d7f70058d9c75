"""What staff tell everyone viewing a function: capacity changes, information updates,
event cancellations and messages (the staff broadcasts issue).

Every broadcast is a row first (later page loads show the recent ones) and a push second:
the push goes out after commit and only nudges pages that are open.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import Broadcast, Event, Function, Hold, Registration, TicketType
from tickets.services import audit, inventory
from tickets.services import holds as hold_service
from tickets.services.exceptions import EventAlreadyCancelled, InvalidMessage
from tickets.signals import broadcast_sent

Kind = Broadcast.Kind

# How long a broadcast stays on the function's pages after it was sent.
SHOWN_FOR = datetime.timedelta(days=2)
SHOWN_KINDS = (Kind.MESSAGE, Kind.INFO_UPDATE, Kind.CANCELLATION)


@dataclass(frozen=True)
class Cancellation:
    event: Event
    released_holds: int
    refunds_flagged: int


def message_text(text: str) -> str:
    """The message as it would be sent (runs of whitespace as one space), or InvalidMessage:
    empty, or over Broadcast.MAX_MESSAGE_LENGTH - refused whole, never cut short. The
    admin's form asks this too, so staff see the refusal before anything is sent."""
    text = " ".join(text.split())
    if not text:
        raise InvalidMessage("Write the message to send.")
    if len(text) > Broadcast.MAX_MESSAGE_LENGTH:
        raise InvalidMessage(
            f"Keep the message to {Broadcast.MAX_MESSAGE_LENGTH} characters "
            f"(this one has {len(text)})."
        )
    return text


def send_message(function: Function, text: str, *, sent_by: AbstractBaseUser) -> Broadcast:
    """A short message from the organisers to everyone viewing the function."""
    text = message_text(text)
    with transaction.atomic():
        broadcast = _record(function, None, Kind.MESSAGE, text, sent_by)
        audit.record(sent_by, audit.Action.SEND_MESSAGE, function, text=text)
        return broadcast


def announce_capacity_change(
    ticket_type: TicketType, old: int, new: int, *, sent_by: AbstractBaseUser
) -> Broadcast:
    event = ticket_type.event
    more_or_fewer = "More" if new > old else "Fewer"
    text = f"{more_or_fewer} places for {event.name} – {ticket_type.name}: {new} in all."
    with transaction.atomic():
        return _record(event.function, event, Kind.CAPACITY_CHANGE, text, sent_by)


def announce_info_update(
    function: Function,
    event: Event | None,
    changed_fields: Iterable[str],
    *,
    sent_by: AbstractBaseUser,
) -> Broadcast:
    """Staff changed what attendees see of the function or one of its events."""
    labels = {
        "name": "name",
        "description": "description",
        "venue": "venue",
        "starts_at": "time",
        "ends_at": "time",
    }
    what = sorted({labels[f] for f in changed_fields if f in labels})
    subject = event.name if event else function.name
    text = f"{subject}: the {' and '.join(what) or 'details'} changed."
    with transaction.atomic():
        return _record(function, event, Kind.INFO_UPDATE, text, sent_by)


def cancel_event(event_id: int, *, reason: str, cancelled_by: AbstractBaseUser) -> Cancellation:
    """Cancel an event: no seat of it can be taken from the moment this commits, held
    seats go back, confirmed registrations are flagged for refund, and every open page of
    the function is told."""
    reason = " ".join(reason.split())[:300]
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("function").get(pk=event_id)
        if event.is_cancelled:
            raise EventAlreadyCancelled(f"{event.name} is already cancelled.")
        event.status = Event.Status.CANCELLED
        event.cancelled_at = timezone.now()
        event.cancellation_reason = reason
        event.save(update_fields=["status", "cancelled_at", "cancellation_reason"])
        ticket_types = list(event.ticket_types.all())
        for ticket_type in ticket_types:
            ticket_type.event = event  # publish with the new status: "unavailable"
        inventory.withdraw(ticket_types)
        text = f"{event.name} has been cancelled." + (f" {reason}" if reason else "")
        broadcast = Broadcast.objects.create(
            function=event.function,
            event=event,
            kind=Kind.CANCELLATION,
            text=text,
            sent_by=cancelled_by,
        )
        audit.record(
            cancelled_by,
            audit.Action.CANCEL_EVENT,
            event,
            reason=reason,
            ticket_types=[tt.pk for tt in ticket_types],
        )
    # Committed: no new hold on the event can start. Give back the ones there are, each
    # registration in its own short transaction (the usual lock order).
    ticket_type_ids = [tt.pk for tt in ticket_types]
    holding = (
        Hold.objects.filter(ticket_type_id__in=ticket_type_ids, status=Hold.Status.ACTIVE)
        .values_list("registration_id", flat=True)
        .distinct()
    )
    released = sum(
        hold_service.release_lines_of(registration_id, ticket_type_ids)
        for registration_id in list(holding)
    )
    refunds = Registration.objects.filter(
        status=Registration.Status.CONFIRMED,
        holds__status=Hold.Status.CONFIRMED,
        holds__ticket_type_id__in=ticket_type_ids,
    ).distinct()
    refunds_flagged = Registration.objects.filter(pk__in=refunds.values("pk")).update(
        refund_due=True
    )
    _publish(broadcast)
    return Cancellation(event=event, released_holds=released, refunds_flagged=refunds_flagged)


def recent_broadcasts(function: Function, limit: int = 3) -> list[Broadcast]:
    """What later page loads of the function still show."""
    return list(
        function.broadcasts.filter(kind__in=SHOWN_KINDS, sent_at__gte=timezone.now() - SHOWN_FOR)
        .select_related("event")
        .order_by("-sent_at", "-pk")[:limit]
    )


def _record(
    function: Function, event: Event | None, kind: str, text: str, sent_by: AbstractBaseUser
) -> Broadcast:
    broadcast = Broadcast.objects.create(
        function=function, event=event, kind=kind, text=text, sent_by=sent_by
    )
    transaction.on_commit(partial(_publish, broadcast), robust=True)
    return broadcast


def _publish(broadcast: Broadcast) -> None:
    broadcast_sent.send_robust(sender=Broadcast, broadcast=broadcast)


def _hit_by_cancellation(event: Event) -> Q:
    """The lines a cancellation of `event` took away: sold ones (to refund), and held
    ones it released (not those the buyer had given back before)."""
    return Q(ticket_type__event=event) & (
        Q(status__in=[Hold.Status.CONFIRMED, Hold.Status.ACTIVE])
        | Q(status=Hold.Status.RELEASED, ended_at__gte=event.cancelled_at)
    )


def cancelled_lines_of(registration: Registration) -> list[tuple[Event, bool]]:
    """Events of this registration that were cancelled, each with whether seats of it had
    been bought (a refund) rather than only held."""
    cancelled = Event.objects.filter(
        function_id=registration.function_id, status=Event.Status.CANCELLED
    )
    hits: dict[int, tuple[Event, bool]] = {}
    for event in cancelled:
        for hold in registration.holds.filter(_hit_by_cancellation(event)):
            bought = hold.status == Hold.Status.CONFIRMED or hits.get(event.pk, (None, False))[1]
            hits[event.pk] = (event, bought)
    return list(hits.values())


@dataclass(frozen=True)
class BroadcastNews:
    """A sent broadcast with everything its live fragments show, read in one go so that
    rendering them (tickets.live.fragments.broadcast) needs no database: a hub renders a
    broadcast once for all of its sockets, on its event loop."""

    broadcast: Broadcast  # its function, event and the event's function loaded with it
    hit: dict[str, bool]  # cancellations: person -> bought seats (True) or only held them


def news_of(broadcast_id: int, people: Iterable[str]) -> BroadcastNews | None:
    """What a broadcast tells the people viewing its function; `people` are those the
    caller holds sockets for (the ones a cancellation may have hit). None if it is gone."""
    sent = (
        Broadcast.objects.select_related("function", "event__function")
        .filter(pk=broadcast_id)
        .first()
    )
    if sent is None:
        return None
    hit = {}
    if sent.kind == Kind.CANCELLATION and sent.event is not None:
        hit = people_hit_by_cancellation(sent.event_id, people)
    return BroadcastNews(broadcast=sent, hit=hit)


def people_hit_by_cancellation(event_id: int, people: Iterable[str]) -> dict[str, bool]:
    """Of these buyers, those whose registration lost lines to the cancellation of the
    event, each with whether they had bought seats of it (True) or only held them."""
    event = Event.objects.get(pk=event_id)
    hit: dict[str, bool] = {}
    rows = Hold.objects.filter(
        _hit_by_cancellation(event), registration__buyer_key__in=list(people)
    )
    for person, status in rows.values_list("registration__buyer_key", "status"):
        hit[person] = hit.get(person, False) or status == Hold.Status.CONFIRMED
    return hit


@dataclass(frozen=True)
class SeatsAtStake:
    held: int
    sold: int


def seats_at_stake(event: Event) -> SeatsAtStake:
    """What cancelling the event would undo, for the confirmation page."""
    counts = TicketType.objects.filter(event=event).aggregate(
        held=Coalesce(Sum("reserved"), 0), sold=Coalesce(Sum("sold"), 0)
    )
    return SeatsAtStake(held=counts["held"], sold=counts["sold"])


# --- waiting list (design §13) -------------------------------------------------------------


def announce_waitlist_change(
    ticket_type: TicketType, *, closed: bool, sent_by: AbstractBaseUser
) -> Broadcast:
    """Staff closed or reopened a ticket type's waiting list; called in their transaction."""
    event = ticket_type.event
    text = (
        f"The waiting list for {event.name} – {ticket_type.name} is closed: nobody new can join."
        if closed
        else f"The waiting list for {event.name} – {ticket_type.name} is open again."
    )
    return _record(event.function, event, Kind.WAITLIST, text, sent_by)
