"""The read side of inventory: what a viewer is told about a ticket type.

One value object, `TicketAvailability`, feeds the function page, the JSON API and every
live push, so the three can never disagree about what "low" or "sold out" means.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Literal

from django.utils import timezone

from tickets.models import Event, Function, TicketType

AvailabilityState = Literal["in_stock", "low", "sold_out", "unavailable"]


@dataclass(frozen=True, slots=True)
class TicketAvailability:
    """A ticket type's counts and saleability at one version. Hashable: it keys caches."""

    ticket_type_id: int
    event_id: int
    capacity: int
    reserved: int
    sold: int
    version: int
    on_sale: bool
    low_stock_threshold: int
    # People on the waiting list (design §13). Seats the queue is owed never show as
    # available: freed seats are offered to it in the transaction that frees them.
    waiting: int = 0
    waitlist_open: bool = True

    @property
    def can_join_waitlist(self) -> bool:
        """Sold out, on sale and the list open: the badge offers to join."""
        return self.on_sale and self.waitlist_open and self.state == "sold_out"

    @property
    def available(self) -> int:
        return max(self.capacity - self.reserved - self.sold, 0)

    @property
    def state(self) -> AvailabilityState:
        if not self.on_sale:
            return "unavailable"
        if self.available == 0:
            return "sold_out"
        if self.available < self.low_stock_threshold:
            return "low"
        return "in_stock"

    @property
    def can_buy(self) -> bool:
        return self.state in ("in_stock", "low")

    def as_message(self) -> dict:
        """A plain dict that survives the channel layer's msgpack."""
        return asdict(self)

    @classmethod
    def from_message(cls, data: dict) -> TicketAvailability:
        return cls(**data)


def is_on_sale(ticket_type: TicketType, now: datetime.datetime | None = None) -> bool:
    """Whether the ticket type can be bought right now (expects event and function loaded)."""
    now = now or timezone.now()
    event = ticket_type.event
    if ticket_type.withdrawn or not event.function.published:
        return False
    if event.status != Event.Status.PUBLISHED:
        return False
    if ticket_type.sales_start and now < ticket_type.sales_start:
        return False
    return not (ticket_type.sales_end and now >= ticket_type.sales_end)


def availability_of(
    ticket_type: TicketType,
    *,
    capacity: int | None = None,
    reserved: int | None = None,
    sold: int | None = None,
    version: int | None = None,
    now: datetime.datetime | None = None,
    waiting: int | None = None,
    waitlist_open: bool | None = None,
) -> TicketAvailability:
    """The availability of a loaded ticket type, optionally with fresher counters."""
    return TicketAvailability(
        ticket_type_id=ticket_type.pk,
        event_id=ticket_type.event_id,
        capacity=ticket_type.capacity if capacity is None else capacity,
        reserved=ticket_type.reserved if reserved is None else reserved,
        sold=ticket_type.sold if sold is None else sold,
        version=ticket_type.version if version is None else version,
        on_sale=is_on_sale(ticket_type, now),
        low_stock_threshold=ticket_type.event.function.low_stock_threshold,
        waiting=ticket_type.waiting if waiting is None else waiting,
        waitlist_open=not ticket_type.waitlist_closed if waitlist_open is None else waitlist_open,
    )


def ticket_types_of(function: Function) -> list[TicketType]:
    """All ticket types a function page shows, events in date order, with events loaded."""
    return list(
        TicketType.objects.filter(event__function=function)
        .exclude(event__status=Event.Status.DRAFT)
        .select_related("event", "event__function")
        # Events in date order: the order people plan their days in (and jump to them).
        .order_by("event__starts_at", "event__position", "event_id", "position", "pk")
    )


def availability_by_ticket_type(
    ticket_types: Iterable[TicketType],
) -> dict[int, TicketAvailability]:
    now = timezone.now()
    return {tt.pk: availability_of(tt, now=now) for tt in ticket_types}


Catalogue = list[tuple[Event, list[tuple[TicketType, TicketAvailability]]]]


def catalogue_of(function: Function) -> Catalogue:
    """What the function page lists: each event with its ticket types and their
    availability, from one query."""
    ticket_types = ticket_types_of(function)
    availability = availability_by_ticket_type(ticket_types)
    return [
        (event, [(tt, availability[tt.pk]) for tt in group])
        for event, group in groupby(ticket_types, key=lambda tt: tt.event)
    ]
