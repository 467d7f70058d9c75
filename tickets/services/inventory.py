"""The one authority over seat counters (docs/design.md §3).

Every change to `TicketType.reserved`, `.sold` or `.capacity` is a single guarded
`UPDATE ... RETURNING` issued here, inside the caller's transaction:

* the WHERE clause carries the guard (`capacity - reserved - sold >= n`), so the check and
  the write are one statement. PostgreSQL re-evaluates it against the committed row after
  waiting on a concurrent writer, so two buyers can never both take the last seat; SQLite
  runs one writer at a time (IMMEDIATE transactions);
* the row lock this takes lasts until the caller commits, so callers touching several
  ticket types do so in primary-key order (`sorted_by_ticket_type`) and never hold a
  transaction open across anything slow (payment runs outside, see services.payments);
* RETURNING hands back the new counts, which are published after commit without another
  read;
* the CHECK constraints on the table stay the last word: a bug here raises
  IntegrityError instead of overselling.

Nothing here reads a counter and writes it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TypeVar

from django.db import connection, transaction

from tickets.models import TicketType
from tickets.services.availability import TicketAvailability, availability_of
from tickets.services.exceptions import CapacityBelowCommitted
from tickets.signals import availability_changed

_TABLE = TicketType._meta.db_table
_RETURNING = "RETURNING capacity, reserved, sold, version, waiting, waitlist_closed"

T = TypeVar("T")


def reserve(ticket_type: TicketType, seats: int) -> TicketAvailability | None:
    """Hold `seats` for a pending registration; None if fewer are available or the ticket
    type was withdrawn (its event cancelled) meanwhile."""
    return _guarded_update(
        ticket_type,
        f"UPDATE {_TABLE} SET reserved = reserved + %s, version = version + 1 "
        f"WHERE id = %s AND NOT withdrawn AND capacity - reserved - sold >= %s {_RETURNING}",
        [seats, ticket_type.pk, seats],
    )


def release(ticket_type: TicketType, seats: int) -> TicketAvailability:
    """Give held seats back (a cancelled or expired hold); the waiting list first."""
    return _queue_first(
        ticket_type,
        _required_update(
            ticket_type,
            f"UPDATE {_TABLE} SET reserved = reserved - %s, version = version + 1 "
            f"WHERE id = %s {_RETURNING}",
            [seats, ticket_type.pk],
        ),
    )


def sell_reserved(ticket_type: TicketType, seats: int) -> TicketAvailability:
    """Turn held seats into sold ones; capacity is untouched, so no guard is needed."""
    return _required_update(
        ticket_type,
        f"UPDATE {_TABLE} SET reserved = reserved - %s, sold = sold + %s, "
        f"version = version + 1 WHERE id = %s {_RETURNING}",
        [seats, seats, ticket_type.pk],
    )


def unsell(ticket_type: TicketType, seats: int) -> TicketAvailability:
    """Put sold seats back on sale (an unpaid registration expired or was cancelled); the
    waiting list first."""
    return _queue_first(
        ticket_type,
        _required_update(
            ticket_type,
            f"UPDATE {_TABLE} SET sold = sold - %s, version = version + 1 "
            f"WHERE id = %s {_RETURNING}",
            [seats, ticket_type.pk],
        ),
    )


def sell_available(ticket_type: TicketType, seats: int) -> TicketAvailability | None:
    """Sell seats that are not held (a confirmation after its hold expired); None if gone."""
    return _guarded_update(
        ticket_type,
        f"UPDATE {_TABLE} SET sold = sold + %s, version = version + 1 "
        f"WHERE id = %s AND NOT withdrawn AND capacity - reserved - sold >= %s {_RETURNING}",
        [seats, ticket_type.pk, seats],
    )


def check_capacity(ticket_type_id: int, capacity: int) -> None:
    """Refuse (CapacityBelowCommitted) a capacity below what is held or sold right now.

    An early, friendly answer for a form; `change_capacity`'s guarded UPDATE is what holds
    the line if a sale lands in between.
    """
    current = TicketType.objects.get(pk=ticket_type_id)
    committed = current.reserved + current.sold
    if capacity < committed:
        raise CapacityBelowCommitted(current.name, committed)


def change_capacity(ticket_type: TicketType, capacity: int) -> TicketAvailability:
    """Set a new capacity, refused below what is already held or sold."""
    with transaction.atomic():
        result = _guarded_update(
            ticket_type,
            f"UPDATE {_TABLE} SET capacity = %s, version = version + 1 "
            f"WHERE id = %s AND reserved + sold <= %s {_RETURNING}",
            [capacity, ticket_type.pk, capacity],
        )
        if result is None:
            current = TicketType.objects.get(pk=ticket_type.pk)
            raise CapacityBelowCommitted(str(ticket_type), current.reserved + current.sold)
        return _queue_first(ticket_type, result)


def withdraw(ticket_types: Iterable[TicketType]) -> list[TicketAvailability]:
    """Take ticket types off sale for good (their event is cancelled).

    Each UPDATE waits for holds in flight on the row to commit, and every later guarded
    UPDATE sees `withdrawn`: once this commits no seat of them can be taken. Callers pass
    ticket types loaded with their event's new status, so what is published says
    "unavailable".
    """
    return [
        _required_update(
            tt,
            f"UPDATE {_TABLE} SET withdrawn = TRUE, version = version + 1 "
            f"WHERE id = %s {_RETURNING}",
            [tt.pk],
        )
        for tt in sorted_by_ticket_type(ticket_types, key=lambda tt: tt.pk)
    ]


def republish(ticket_types: Iterable[TicketType]) -> list[TicketAvailability]:
    """Bump versions so viewers get fresh fragments after a change that moved no counts
    (a sales window or price edited by staff)."""
    return [
        _required_update(
            tt, f"UPDATE {_TABLE} SET version = version + 1 WHERE id = %s {_RETURNING}", [tt.pk]
        )
        for tt in sorted_by_ticket_type(ticket_types, key=lambda tt: tt.pk)
    ]


def sorted_by_ticket_type(items: Iterable[T], key=lambda item: item.ticket_type_id) -> list[T]:
    """Order work by ticket type primary key: the lock order every writer follows."""
    return sorted(items, key=key)


def _guarded_update(ticket_type: TicketType, sql: str, params: list) -> TicketAvailability | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    capacity, reserved, sold, version, waiting, waitlist_closed = row
    # Keep the caller's instance truthful for whatever it renders next.
    (
        ticket_type.capacity,
        ticket_type.reserved,
        ticket_type.sold,
        ticket_type.version,
        ticket_type.waiting,
        ticket_type.waitlist_closed,
    ) = row
    availability = availability_of(
        ticket_type,
        capacity=capacity,
        reserved=reserved,
        sold=sold,
        version=version,
        waiting=waiting,
        waitlist_open=not waitlist_closed,
    )
    _publish_on_commit(ticket_type.event.function_id, availability)
    return availability


def _required_update(ticket_type: TicketType, sql: str, params: list) -> TicketAvailability:
    result = _guarded_update(ticket_type, sql, params)
    if result is None:
        raise TicketType.DoesNotExist(f"Ticket type {ticket_type.pk} has gone")
    return result


def _publish_on_commit(function_id: int, availability: TicketAvailability) -> None:
    # After commit only: a rolled-back sale must never be shown. robust=True: a failing
    # receiver (Redis down) is logged by Django and never undoes or blocks the sale.
    transaction.on_commit(
        partial(
            availability_changed.send_robust,
            sender=TicketType,
            function_id=function_id,
            availabilities=[availability],
        ),
        robust=True,
    )


def reset_counters(
    ticket_type: TicketType, *, reserved: int, sold: int, waiting: int
) -> TicketAvailability:
    """Overwrite counters with values recomputed from holds and waiting entries
    (reconcile_inventory --fix).

    The caller must hold the ticket type's row lock (lock_ticket_type) from before it
    summed the holds: every hold is written after its guarded UPDATE took that lock, so
    once we hold it no sale is in flight that the sums could miss.
    """
    return _queue_first(
        ticket_type,
        _required_update(
            ticket_type,
            f"UPDATE {_TABLE} SET reserved = %s, sold = %s, waiting = %s, "
            f"version = version + 1 WHERE id = %s {_RETURNING}",
            [reserved, sold, waiting, ticket_type.pk],
        ),
    )


# --- waiting list (design §13) -------------------------------------------------------------
#
# Queue first: every statement above that frees seats (release, unsell, a capacity
# increase, a reconciliation repair) returns the row's `waiting` count with its new
# counters. When people wait, the freed seats are offered to them in the same transaction,
# under the row lock this statement took, so no public buyer can see them in between and
# the hold path needs no check of its own. With nobody waiting it costs nothing: the count
# comes back in the RETURNING the statement had anyway.

# Off only for the control test that shows the race harness catching seats going public.
QUEUE_FIRST = True


def _queue_first(ticket_type: TicketType, availability: TicketAvailability) -> TicketAvailability:
    if not (QUEUE_FIRST and availability.waiting and availability.available):
        return availability
    # waitlist builds on this module (offers take seats through reserve), hence the late
    # import: the dependency is one way, this call is the hook.
    from tickets.services import waitlist

    return waitlist.offer_freed_seats(ticket_type, availability) or availability


def join_queue(ticket_type: TicketType, seats: int) -> TicketAvailability | None:
    """Count one more person waiting for `seats`; None unless fewer than that are
    available, the list is open and the ticket type is on sale (not withdrawn). One
    statement under the row lock, so a join and a release never miss each other."""
    return _guarded_update(
        ticket_type,
        f"UPDATE {_TABLE} SET waiting = waiting + 1, version = version + 1 "
        f"WHERE id = %s AND NOT withdrawn AND NOT waitlist_closed "
        f"AND capacity - reserved - sold < %s {_RETURNING}",
        [ticket_type.pk, seats],
    )


def leave_queue(ticket_type: TicketType, people: int = 1) -> TicketAvailability:
    """Count `people` fewer waiting (they left, were removed or were offered seats)."""
    return _required_update(
        ticket_type,
        f"UPDATE {_TABLE} SET waiting = waiting - %s, version = version + 1 "
        f"WHERE id = %s {_RETURNING}",
        [people, ticket_type.pk],
    )


def set_waitlist_closed(ticket_type: TicketType, closed: bool) -> TicketAvailability:
    """Close (or reopen) a ticket type's waiting list to new entries."""
    result = _required_update(
        ticket_type,
        f"UPDATE {_TABLE} SET waitlist_closed = %s, version = version + 1 "
        f"WHERE id = %s {_RETURNING}",
        [closed, ticket_type.pk],
    )
    return result
