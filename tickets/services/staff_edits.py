"""Staff edits of functions, events and ticket types, and what they set in motion.

The admin collects the form; this decides what an edit means for people buying: a
capacity change goes through the inventory guard and is announced; a change of what
attendees see (name, time, venue, description) is announced as an information update;
a change of saleability republishes availability so open pages show it.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from tickets.models import Event, Function, TicketType
from tickets.services import broadcasts, inventory
from tickets.services.exceptions import CancelThroughAction

# Ticket type fields whose change alters what the availability fragment says.
SALEABILITY_FIELDS = frozenset({"sales_start", "sales_end"})


def save_ticket_type(
    ticket_type: TicketType,
    changed: Collection[str],
    *,
    new_capacity: int | None = None,
    edited_by: AbstractBaseUser,
) -> None:
    """Save a ticket type; a new capacity goes through inventory.change_capacity (and may
    be refused with CapacityBelowCommitted, the rest of the edit kept)."""
    is_new = ticket_type._state.adding
    with transaction.atomic():
        ticket_type.save()  # an existing row keeps its counters: see TicketType.save
        if not is_new and SALEABILITY_FIELDS & set(changed):
            inventory.republish([ticket_type])
    if is_new or "capacity" not in changed or new_capacity is None:
        return
    with transaction.atomic():
        old = TicketType.objects.values_list("capacity", flat=True).get(pk=ticket_type.pk)
        inventory.change_capacity(ticket_type, new_capacity)
        if new_capacity != old:
            broadcasts.announce_capacity_change(ticket_type, old, new_capacity, sent_by=edited_by)


def save_event(event: Event, changed: Collection[str], *, edited_by: AbstractBaseUser) -> None:
    """Save an event. Cancelling is not an edit: it goes through broadcasts.cancel_event,
    which releases holds and tells attendees."""
    if "status" in changed:
        previous = Event.objects.filter(pk=event.pk).values_list("status", flat=True).first()
        check_status_change(previous, event.status)
    is_new = event._state.adding
    with transaction.atomic():
        event.save()
        if is_new:
            return
        if "status" in changed:
            inventory.republish(event.ticket_types.select_related("event__function"))
        if set(Event.INFO_FIELDS) & set(changed) and event.status != Event.Status.DRAFT:
            broadcasts.announce_info_update(event.function, event, changed, sent_by=edited_by)


def check_status_change(previous: str | None, status: str) -> None:
    """Refuse an edit of an event's status to or from cancelled (CancelThroughAction).

    Cancelling is not an edit: broadcasts.cancel_event releases holds and tells attendees,
    and nothing reopens a cancelled event (its ticket types are withdrawn for good). The
    admin form asks this too, to say so beside the field before anything is saved.
    """
    if status != previous and Event.Status.CANCELLED in (status, previous):
        raise CancelThroughAction()


def save_function(
    function: Function, changed: Collection[str], *, edited_by: AbstractBaseUser
) -> None:
    is_new = function._state.adding
    with transaction.atomic():
        function.save()
        if is_new:
            return
        if {"published", "low_stock_threshold"} & set(changed):
            inventory.republish(
                TicketType.objects.filter(event__function=function).select_related(
                    "event__function"
                )
            )
        if set(Function.INFO_FIELDS) & set(changed) and function.published:
            broadcasts.announce_info_update(function, None, changed, sent_by=edited_by)
