"""Row locks, named for what they lock.

Every writer takes them in the same order - registration, then its holds, then (pay-later
confirmations only) the function, then ticket types in primary-key order (the guarded
UPDATEs in services.inventory) - so two writers can wait on each other but never deadlock.

`of=("self",)` matters on PostgreSQL: a plain FOR UPDATE over a join would also lock the
joined ticket type, event and function rows, and every buyer of the function would queue
behind them. SQLite ignores these locks; its IMMEDIATE transactions already run one
writer at a time.

A wait for a lock is bounded where a crowd can form (the hold path, `limit_lock_wait`):
past the bound PostgreSQL gives up with SQLSTATE 55P03 and the buyer is told to try again,
instead of every web worker piling up behind one slow transaction.
"""

from __future__ import annotations

from uuid import UUID

from django.db import DatabaseError, connection

from tickets.models import Function, Hold, Registration, TicketType
from tickets.services.exceptions import RegistrationClosed


def lock_registration(registration_id: UUID, *, skip_locked: bool = False) -> Registration | None:
    """Lock one registration row; None if it is gone (or busy, with skip_locked)."""
    return (
        Registration.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("function")
        .filter(pk=registration_id)
        .first()
    )


def lock_open_registration(registration_id: UUID) -> Registration:
    """Lock a registration the buyer may still change (pending), or refuse with
    RegistrationClosed: gone, confirmed, cancelled or expired ones take no more edits."""
    registration = lock_registration(registration_id)
    if registration is None or not registration.is_pending:
        raise RegistrationClosed()
    return registration


def lock_pending_registration_of_buyer(buyer_key: str, function_id: int) -> Registration | None:
    """Lock the buyer's open registration for a function, if there is one.

    At most one exists (a unique constraint). This runs on every hold of a rush, and the
    ORM spent more CPU building this query than PostgreSQL spent answering it, so it is
    written out (BENCHMARKS.md, "rush").
    """
    # SQLite has no FOR UPDATE (and needs none: one writer at a time).
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found = list(
        Registration.objects.raw(
            f"SELECT * FROM {Registration._meta.db_table} "
            f"WHERE buyer_key = %s AND function_id = %s AND status = %s{lock}",
            [buyer_key, function_id, Registration.Status.PENDING],
        )
    )
    return found[0] if found else None


def lock_holds_of(registration: Registration, *statuses: str) -> list[Hold]:
    """Lock a registration's holds in the given statuses, in ticket type order."""
    return list(
        Hold.objects.select_for_update(of=("self",))
        .select_related("ticket_type__event__function")
        .filter(registration=registration, status__in=statuses)
        .order_by("ticket_type_id", "pk")
    )


def lock_function(function_id: int) -> Function:
    """Lock one function row, to serialise the pay-later confirmations of the function:
    the unpaid-seat cap counts other registrations' seats, and two confirmations counting
    at once would both see room (services.registrations.confirm_registration).

    FOR NO KEY UPDATE, not FOR UPDATE: every first hold inserts a registration whose
    foreign key takes FOR KEY SHARE on this row, and those must not queue behind a
    confirmation. Taken after the registration and its holds, before any ticket type.
    """
    return (
        Function.objects.select_for_update(of=("self",), no_key=True).filter(pk=function_id).get()
    )


def lock_ticket_type(ticket_type_id: int) -> TicketType:
    """Lock one ticket type row (reconciliation only: sales lock it by their UPDATE)."""
    return (
        TicketType.objects.select_for_update(of=("self",))
        .select_related("event__function")
        .get(pk=ticket_type_id)
    )


# SQLSTATE lock_not_available: lock_timeout (or NOWAIT) gave up on a lock.
LOCK_NOT_AVAILABLE = "55P03"


def limit_lock_wait(milliseconds: int) -> None:
    """Bound every lock wait of the current transaction (PostgreSQL; SQLite has no waits
    to bound beyond its busy timeout). Must run inside transaction.atomic()."""
    if connection.vendor == "postgresql" and milliseconds > 0:
        with connection.cursor() as cursor:
            # set_config(..., true) is SET LOCAL: it ends with the transaction.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])


def is_lock_timeout(error: DatabaseError) -> bool:
    """Whether a database error is a lock wait that ran past `limit_lock_wait`."""
    return getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE
