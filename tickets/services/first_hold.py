"""The lean first hold: a buyer's first hold of a function in one round trip (issue 18).

Under a rush almost every hold is a first hold: one line, one ticket type, a buyer with
no registration yet. `hold_tickets` spends most of its CPU building ORM queries and eight
round trips on it; this path sends one statement, `SELECT * FROM lodgetix_first_hold(...)`
(tickets/migrations/0009_hold_function.py), in autocommit. The database function does,
in the general path's order and under the same rules:

1. bound every lock wait (HOLD_LOCK_TIMEOUT_MS, SET LOCAL);
2. read the function, ticket type and event, and decline (`lodgetix_first_hold_declines`)
   anything it cannot answer exactly - see `FAST_PATH_RULES`;
3. the address cap (HOLD_SEATS_PER_IP), over what has committed;
4. insert the registration (ON CONFLICT on the one-pending-per-buyer index: a buyer who
   already has one is declined, adding to it is the general path's) and the hold;
5. the guarded UPDATE last, so the hot row's lock is held only until COMMIT, which
   follows at once inside the server.

A refusal by the guard rolls the inserts back (a savepoint inside the function). Every
answer the function does not give itself - a decline - goes to `hold_tickets`, which is
the authority for messages and rare cases: so declining is always safe, and the fast
path needs to know only what it answers. Publishing (availability, registration) happens
after the commit, as on the general path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import OperationalError, connection

from tickets.models import Registration, TicketType
from tickets.services.availability import TicketAvailability
from tickets.services.exceptions import AddressHoldLimit, NotEnoughAvailable, SeatsBusy
from tickets.services.holds import not_enough_tables
from tickets.services.locking import is_lock_timeout
from tickets.signals import RegistrationChange, availability_changed, registration_changed

# What `lodgetix_first_hold_declines` checks, for whoever adds a rule to ticket types:
# a rule missing here must make the database predicate decline (a new migration with
# CREATE OR REPLACE FUNCTION), or the fast path would sell past it.
FAST_PATH_RULES = (
    "the function is published",
    "the ticket type belongs to the function, its event is published (not draft, not cancelled)",
    "the ticket type is not withdrawn and inside its sales window",
    "the registration type is individual, lodge or delegation",
    "the quantity is within min/max per order (max tables per order for a lodge by the table)",
    "the ticket type is open to the registration type (eligibility, docs/design.md §15)",
)

_STATEMENT = "SELECT * FROM lodgetix_first_hold(%s, %s, %s, %s::jsonb, %s, %s)"


@dataclass(frozen=True)
class FirstHold:
    """What a granted first hold returns: enough for the 303, nothing loaded."""

    registration: Registration


def available() -> bool:
    """Whether the fast path is on and this database has it (PostgreSQL; SQLite keeps
    the general path)."""
    return settings.HOLD_FAST_PATH and connection.vendor == "postgresql"


def try_first_hold(
    *,
    function_slug: str,
    ticket_type_id: int,
    quantity: int,
    registration_type: str,
    buyer_key: str,
    user_id: int | None,
    client_address: str,
) -> FirstHold | None:
    """Hold seats for a buyer's first registration of a function, or None: declined,
    ask `holds.hold_tickets` (which answers every case, the rare ones included).

    Raises NotEnoughAvailable, AddressHoldLimit or SeatsBusy as the general path would.
    """
    registration = Registration(
        registration_type=registration_type,
        buyer_key=buyer_key,
        user_id=user_id,
        client_address=client_address,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                _STATEMENT,
                [
                    function_slug,
                    ticket_type_id,
                    quantity,
                    _registration_row(registration),
                    settings.HOLD_SEATS_PER_IP,
                    f"{settings.HOLD_LOCK_TIMEOUT_MS}ms",
                ],
            )
            row = cursor.fetchone()
    except OperationalError as error:
        if is_lock_timeout(error):
            raise SeatsBusy() from error
        raise
    return _answer(registration, ticket_type_id, quantity, *row)


def _answer(
    registration: Registration,
    ticket_type_id: int,
    quantity: int,
    outcome: str,
    registration_id,
    expires_at,
    seats: int | None,
    tables: int | None,
    held: int | None,
    name: str | None,
    event_id: int | None,
    function_id: int | None,
    low_stock_threshold: int | None,
    capacity: int | None,
    reserved: int | None,
    sold: int | None,
    version: int | None,
    waiting: int | None,
    waitlist_closed: bool | None,
) -> FirstHold | None:
    if outcome == "decline":
        return None
    if outcome == "address_cap":
        raise AddressHoldLimit(settings.HOLD_SEATS_PER_IP, held, seats)
    available_seats = max(capacity - reserved - sold, 0)
    if outcome == "not_enough":
        if tables is not None:
            raise not_enough_tables(name, quantity, available_seats)
        raise NotEnoughAvailable(name, seats, available_seats)
    registration.pk = registration_id
    registration.function_id = function_id
    registration.expires_at = expires_at
    registration._state.adding = False
    availability = TicketAvailability(
        ticket_type_id=ticket_type_id,
        event_id=event_id,
        capacity=capacity,
        reserved=reserved,
        sold=sold,
        version=version,
        on_sale=True,  # the predicate declined anything off sale; the UPDATE saw it sellable
        low_stock_threshold=low_stock_threshold,
        waiting=waiting,
        waitlist_open=not waitlist_closed,
    )
    _publish(registration, availability)
    return FirstHold(registration)


def _publish(registration: Registration, availability: TicketAvailability) -> None:
    """What the general path sends on commit (autocommit: it has committed already), in
    its order: the registration opened, its hold, then the new counts."""
    for change in (RegistrationChange.CREATED, RegistrationChange.HOLD_CREATED):
        registration_changed.send_robust(
            sender=Registration, registration=registration, change=change
        )
    availability_changed.send_robust(
        sender=TicketType,
        function_id=registration.function_id,
        availabilities=[availability],
    )


@cache
def _registration_fields() -> tuple:
    return tuple(Registration._meta.concrete_fields)


def _registration_row(registration: Registration) -> str:
    """The registration's columns as the model would insert them (its Python defaults,
    auto_now stamps), as JSON for jsonb_populate_record: no query is built for it."""
    values = {
        field.column: field.pre_save(registration, add=True) for field in _registration_fields()
    }
    return json.dumps(values, default=str)
