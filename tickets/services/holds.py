"""Holds: capacity a pending registration keeps while its buyer fills in the wizard.

Every path that takes seats comes through `hold_tickets` - individuals, lodge tables,
delegation bulk seats - so one guarded UPDATE (services.inventory) protects them all.
Holds expire on the server: `release_expired_holds` (the sweeper, and the sold-out fallback
of `hold_tickets`) gives their seats back and the change is broadcast like any other.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import (
    SEATS_PER_LODGE_TABLE,
    Function,
    Hold,
    Package,
    PackageHold,
    Registration,
    Ticket,
    TicketType,
)
from tickets.services import eligibility, inventory, unpaid
from tickets.services.availability import is_on_sale
from tickets.services.exceptions import (
    AddressHoldLimit,
    EventCancelled,
    HoldAlreadyReleased,
    NotEnoughAvailable,
    PackageOverlap,
    QuantityOutOfRange,
    RegistrationTypeMismatch,
    SalesClosed,
    SeatsBusy,
    TicketingError,
    UnknownTicketType,
)
from tickets.services.locking import (
    is_lock_timeout,
    limit_lock_wait,
    lock_holds_of,
    lock_open_registration,
    lock_pending_registration_of_buyer,
    lock_registration,
)
from tickets.signals import RegistrationChange, registration_changed_on_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HoldRequest:
    """What a buyer asked for: `quantity` counts tables for a lodge buying a ticket type
    sold by the table, seats otherwise."""

    buyer_key: str
    function: Function
    ticket_type_id: int
    quantity: int
    registration_type: str = Registration.Type.INDIVIDUAL
    user_id: int | None = None
    # common.client.client_address of the request; empty for holds that do not come from
    # a client (tests, scripts), which the per-address cap then does not count.
    client_address: str = ""


@dataclass(frozen=True)
class SelectionRequest:
    """Several lines at once: (ticket type id, quantity in the unit the buyer typed)."""

    buyer_key: str
    function: Function
    lines: tuple[tuple[int, int], ...]
    registration_type: str = Registration.Type.INDIVIDUAL
    user_id: int | None = None
    client_address: str = ""


@dataclass(frozen=True)
class PackageRequest:
    """`quantity` of one package (services.packages.hold_package): every item held in one
    transaction, or none. `package` is the loaded package services.packages checked (its
    items prefetched); callers pass only `package_id`."""

    buyer_key: str
    function: Function
    package_id: int
    quantity: int
    registration_type: str = Registration.Type.INDIVIDUAL
    user_id: int | None = None
    client_address: str = ""
    package: Package | None = None


AnyHoldRequest = HoldRequest | SelectionRequest | PackageRequest


@dataclass(frozen=True)
class LineRefusal:
    """Why one line of a selection was refused."""

    ticket_type_id: int
    name: str
    error: TicketingError

    @property
    def message(self) -> str:
        return self.error.message


class SelectionRefused(TicketingError):
    """A selection was refused as a whole; `lines` says why, line by line. 400 when a line
    is malformed (a ticket type of another function, a quantity out of its limits), 409
    when only the state of the world refused (too few seats left, sales closed)."""

    code = "selection_refused"
    http_status = 409

    def __init__(self, lines: list[LineRefusal]) -> None:
        self.lines = lines
        self.http_status = max(line.error.http_status for line in lines) if lines else 400
        count = len(lines)
        super().__init__(
            f"Nothing was held: {count} {'line' if count == 1 else 'lines'} of your "
            "selection could not be held."
        )


def not_enough_tables(
    ticket_type_name: str, requested_tables: int, available_seats: int
) -> NotEnoughAvailable:
    """Too few seats left, said in tables to a lodge that typed tables: the same refusal
    (and code) as in seats, in the unit the buyer used."""
    error = NotEnoughAvailable(ticket_type_name, requested_tables, available_seats)
    if available_seats > 0:
        tables = available_seats // SEATS_PER_LODGE_TABLE
        if tables == 0:
            error.message = (
                f"Fewer than one table ({SEATS_PER_LODGE_TABLE} seats) is left for "
                f"{ticket_type_name}; you asked for {requested_tables}."
            )
        else:
            error.message = (
                f"Only {tables} {'table' if tables == 1 else 'tables'} left for "
                f"{ticket_type_name}; you asked for {requested_tables}."
            )
        error.args = (error.message,)
    return error


def by_table(registration_type: str, ticket_type: TicketType) -> bool:
    """Whether this buyer counts this ticket type in tables (a lodge, a ticket type staff
    sell to lodges by the table) rather than seats."""
    return registration_type == Registration.Type.LODGE and ticket_type.sold_by_table


def hold_tickets(request: HoldRequest) -> Hold:
    """Hold seats for the buyer's open registration, opening one if needed.

    Raises a TicketingError subclass (with the message to show) when the seats cannot be
    held; nothing is changed then.
    """
    ticket_type = _ticket_type_for_sale(request)
    line = _line(ticket_type, request.quantity, request.registration_type)
    _refuse_early_when_short(line)
    try:
        return _hold_with_fallback(request, [line])[0]
    except _LinesRefused as refused:
        raise refused.lines[0].error from None


def hold_selection(request: SelectionRequest) -> list[Hold]:
    """Hold every line of a selection in one transaction, or none of them.

    Raises SelectionRefused naming each refused line; nothing is changed then. A selection
    of one line is refused the same way, so the page answers it like any other.
    """
    lines, refusals = _lines_for_sale(request)
    if refusals:
        raise SelectionRefused(refusals)
    try:
        return _hold_with_fallback(request, lines)
    except _LinesRefused as refused:
        raise SelectionRefused(refused.lines) from None


def hold_package_items(request: PackageRequest) -> list[Hold]:
    """Hold every item of `request.quantity` packages in one transaction, in ticket type
    order, or none. Raises SelectionRefused naming each item refused; nothing is changed
    then. The items' own per-order limits do not apply: the package's does (checked by
    services.packages, and here against what the registration already holds of it)."""
    if request.package is None:
        raise ValueError("hold_package_items holds the package services.packages checked")
    lines = []
    for item in inventory.sorted_by_ticket_type(request.package.items.all()):
        ticket_type = item.ticket_type
        ticket_type.event.function = request.function
        try:
            _check_on_sale(ticket_type)
            # An item limited to some registration types limits the package with it.
            eligibility.check_registration_type(request.registration_type, ticket_type)
        except TicketingError as error:
            raise SelectionRefused([LineRefusal(ticket_type.pk, ticket_type.name, error)]) from None
        seats = item.quantity * request.quantity
        # A lodge's tables are seats of the item (PackageItem.quantity is in seats).
        tables = (
            seats // SEATS_PER_LODGE_TABLE
            if by_table(request.registration_type, ticket_type)
            and seats % SEATS_PER_LODGE_TABLE == 0
            else None
        )
        lines.append(_Line(ticket_type, tables or seats, seats, tables))
    try:
        return _hold_with_fallback(request, lines)
    except _LinesRefused as refused:
        raise SelectionRefused(refused.lines) from None


def release_hold(registration_id: UUID, hold_id: int) -> None:
    """The buyer gives back one line of their selection; a package's item gives back the
    whole package line with it (a package is held and released as one)."""
    with transaction.atomic():
        registration = lock_open_registration(registration_id)
        active = lock_holds_of(registration, Hold.Status.ACTIVE)
        holds = _with_package_siblings(active, [h for h in active if h.pk == hold_id])
        if not holds:
            raise HoldAlreadyReleased()
        _give_back_lines(registration, holds)


def release_lines_of(registration_id: UUID, ticket_type_ids: Iterable[int]) -> int:
    """Give back a registration's held seats of some ticket types (their event was
    cancelled); returns how many holds were released."""
    ticket_type_ids = set(ticket_type_ids)
    with transaction.atomic():
        registration = lock_registration(registration_id)
        if registration is None or not registration.is_pending:
            return 0
        active = lock_holds_of(registration, Hold.Status.ACTIVE)
        holds = _with_package_siblings(
            active, [h for h in active if h.ticket_type_id in ticket_type_ids]
        )
        _give_back_lines(registration, holds)
        return len(holds)


def cancel_registration(registration_id: UUID) -> Registration:
    """The buyer expires the registration: every held seat goes back at once."""
    with transaction.atomic():
        registration = lock_open_registration(registration_id)
        _end_holds(lock_holds_of(registration, Hold.Status.ACTIVE), Hold.Status.RELEASED)
        registration.status = Registration.Status.CANCELLED
        registration.save(update_fields=["status", "updated_at"])
        registration_changed_on_commit(registration, RegistrationChange.CANCELLED)
    return registration


def expire_registration(registration_id: UUID, now: datetime.datetime | None = None) -> int | None:
    """A pending registration whose hold time is up is expired where it stands (its step
    is kept for the funnel) and its seats go back. Returns the holds released, or None if
    it was not expired.

    A registration another transaction is working on (a confirmation in flight) is
    skipped rather than waited for: the next sweep will see it again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        registration = lock_registration(registration_id, skip_locked=True)
        if registration is None or not registration.is_pending or registration.expires_at > now:
            return None
        holds = lock_holds_of(registration, Hold.Status.ACTIVE)
        _end_holds(holds, Hold.Status.EXPIRED, now=now)
        registration.mark_expired()
        return len(holds)


@dataclass(frozen=True)
class Sweep:
    registrations: int  # expired (pending ones and unpaid ones past their due date)
    holds: int  # released
    unpaid: int = 0  # of `registrations`, pay-later ones past their due date


def release_expired_holds(
    *,
    ticket_type_id: int | None = None,
    now: datetime.datetime | None = None,
    limit: int = 500,
) -> Sweep:
    """Expire pending registrations whose hold time is up - every one, or those holding
    seats of one ticket type - and release their seats. A full sweep (no ticket type)
    also expires pay-later registrations still unpaid past their due date
    (services.unpaid), whose sold seats go back on sale.

    Each registration is its own transaction, so a sweep never holds many row locks.
    """
    now = now or timezone.now()
    if ticket_type_id is None:
        expired = Registration.objects.filter(
            status=Registration.Status.PENDING, expires_at__lte=now
        ).order_by("expires_at")
        registration_ids = list(expired.values_list("pk", flat=True)[:limit])
    else:
        expired_holds = Hold.objects.filter(
            status=Hold.Status.ACTIVE, expires_at__lte=now, ticket_type_id=ticket_type_id
        )
        registration_ids = list(
            expired_holds.values_list("registration_id", flat=True).distinct()[:limit]
        )
    released = [expire_registration(rid, now=now) for rid in registration_ids]
    overdue = (
        unpaid.expire_overdue_unpaid(now, limit=limit)
        if ticket_type_id is None
        else unpaid.UnpaidSweep(registrations=0, holds=0)
    )
    sweep = Sweep(
        registrations=sum(1 for r in released if r is not None) + overdue.registrations,
        holds=sum(r for r in released if r is not None) + overdue.holds,
        unpaid=overdue.registrations,
    )
    if sweep.registrations:
        logger.info(
            "Expired %d registrations (%d unpaid past their due date), releasing %d holds",
            sweep.registrations,
            sweep.unpaid,
            sweep.holds,
        )
    return sweep


# --- internals ---------------------------------------------------------------------------


def _ticket_type_for_sale(request: HoldRequest) -> TicketType:
    # get(), not first(): first() orders by Meta.ordering, which follows the event and the
    # function into their orderings - a costly query to build, on every hold of a rush.
    # The caller loaded the function for this request; only the event is joined.
    try:
        ticket_type = TicketType.objects.select_related("event").get(
            pk=request.ticket_type_id, event__function_id=request.function.pk
        )
    except TicketType.DoesNotExist:
        raise UnknownTicketType() from None
    ticket_type.event.function = request.function
    _check_on_sale(ticket_type)
    return ticket_type


def _refuse_early_when_short(line: _Line) -> None:
    """Past a sell-out almost every hold is refused: refuse from the counters just read,
    without a transaction, when they show too few seats and no expired hold is waiting for
    the sweeper (the fallback below would free those). Only a refusal is decided here - a
    committed state a moment old, as if the buyer had clicked a moment earlier; every
    grant is still the guarded UPDATE's."""
    ticket_type = line.ticket_type
    if ticket_type.available >= line.seats:
        return
    if Hold.objects.filter(
        ticket_type_id=ticket_type.pk, status=Hold.Status.ACTIVE, expires_at__lte=timezone.now()
    ).exists():
        return
    if line.tables is not None:
        raise not_enough_tables(ticket_type.name, line.quantity, ticket_type.available)
    raise NotEnoughAvailable(ticket_type.name, line.seats, ticket_type.available)


def _check_on_sale(ticket_type: TicketType) -> None:
    if ticket_type.event.is_cancelled:
        raise EventCancelled()
    if not is_on_sale(ticket_type):
        raise SalesClosed()


@dataclass(frozen=True)
class _Line:
    ticket_type: TicketType
    quantity: int  # in the unit the buyer typed
    seats: int
    tables: int | None  # None: counted in seats


def _line(ticket_type: TicketType, quantity: int, registration_type: str) -> _Line:
    """One line, its quantity checked against the ticket type's real limits."""
    # Eligibility (design §15): who may hold it is the eligibility service's rule.
    eligibility.check_registration_type(registration_type, ticket_type)
    if by_table(registration_type, ticket_type):
        if not 1 <= quantity <= ticket_type.max_tables_per_order:
            raise QuantityOutOfRange(
                f"A lodge can hold between 1 and {ticket_type.max_tables_per_order} tables "
                f"of {ticket_type.name}; you asked for {quantity}."
            )
        return _Line(ticket_type, quantity, quantity * SEATS_PER_LODGE_TABLE, quantity)
    if not ticket_type.min_per_order <= quantity <= ticket_type.max_per_order:
        raise QuantityOutOfRange(
            f"Choose between {ticket_type.min_per_order} and {ticket_type.max_per_order} "
            f"tickets of {ticket_type.name}; you asked for {quantity}."
        )
    return _Line(ticket_type, quantity, quantity, None)


def _lines_for_sale(request: SelectionRequest) -> tuple[list[_Line], list[LineRefusal]]:
    """The selection's lines in lock order (ticket type primary key), and the refusals of
    those that cannot be sold whatever the seats left."""
    wanted = dict(request.lines)
    ticket_types = {
        tt.pk: tt
        for tt in TicketType.objects.select_related("event").filter(
            pk__in=wanted, event__function_id=request.function.pk
        )
    }
    lines, refusals = [], []
    for ticket_type_id in sorted(wanted):
        ticket_type = ticket_types.get(ticket_type_id)
        if ticket_type is None:
            refusals.append(
                LineRefusal(ticket_type_id, f"ticket type {ticket_type_id}", UnknownTicketType())
            )
            continue
        ticket_type.event.function = request.function
        try:
            _check_on_sale(ticket_type)
            lines.append(_line(ticket_type, wanted[ticket_type_id], request.registration_type))
        except TicketingError as error:
            refusals.append(LineRefusal(ticket_type_id, ticket_type.name, error))
    return lines, refusals


class _LinesRefused(Exception):
    """Lines the transaction could not hold; it rolled back, nothing was held."""

    def __init__(self, lines: list[LineRefusal]) -> None:
        self.lines = lines


def _hold_with_fallback(request: AnyHoldRequest, lines: list[_Line]) -> list[Hold]:
    try:
        return _hold_with_retries(request, lines)
    except _LinesRefused as refused:
        # Expired holds the sweeper has not reached yet still count as reserved. Before
        # telling a buyer "sold out", release those of the ticket types short (each in its
        # own transaction) and try once more.
        short = [r.ticket_type_id for r in refused.lines if isinstance(r.error, NotEnoughAvailable)]
        released = sum(release_expired_holds(ticket_type_id=tt).holds for tt in short)
        if not released:
            raise
        return _hold_with_retries(request, lines)


class _RegistrationExpired(Exception):
    """The buyer's open registration ran out of time; expire it before holding anew."""

    def __init__(self, registration_id: UUID) -> None:
        self.registration_id = registration_id


def _hold_with_retries(request: AnyHoldRequest, lines: list[_Line]) -> list[Hold]:
    """Hold, retrying (twice at most) on causes that clear by themselves."""
    for _ in range(2):
        try:
            return _hold_once_in_time(request, lines)
        except IntegrityError:
            # Two first holds of one buyer raced to open a registration; the unique
            # constraint let one win. The retry joins the winner's registration.
            continue
        except _RegistrationExpired as expired:
            # Rare (a buyer back after their hold time), so it costs the common path
            # nothing: the expiry is found on the row the hold locks anyway.
            expire_registration(expired.registration_id)
    try:
        return _hold_once_in_time(request, lines)
    except _RegistrationExpired:
        # Still expired: another transaction (a late confirmation) is working on it.
        raise SeatsBusy() from None


def _hold_once_in_time(request: AnyHoldRequest, lines: list[_Line]) -> list[Hold]:
    try:
        return _hold_once(request, lines)
    except OperationalError as error:
        if is_lock_timeout(error):
            raise SeatsBusy() from error
        raise


def _hold_once(request: AnyHoldRequest, lines: list[_Line]) -> list[Hold]:
    """One transaction for every line, ordered so the hot locks are held briefly.

    Lock order (docs/design.md §3): the registration first, then the ticket types in
    primary-key order (`lines` come sorted), so two selections overlapping in ticket types
    wait on each other but never deadlock. Every buyer of a ticket type queues for its row
    lock, taken by the guarded UPDATE and kept until COMMIT; so the buyer's own rows
    (registration, holds) are written first and the guarded UPDATEs are the last
    statements. When any guard refuses, the whole transaction rolls back: all or nothing.
    """
    with transaction.atomic():
        limit_lock_wait(settings.HOLD_LOCK_TIMEOUT_MS)
        registration, opened = _open_registration_for(request)
        existing: dict[int, Hold] = {}
        if not opened:
            for found in registration.holds.filter(
                ticket_type_id__in=[line.ticket_type.pk for line in lines],
                status=Hold.Status.ACTIVE,
            ).order_by("-pk"):
                existing[found.ticket_type_id] = found  # the oldest wins, as before
        _check_address_cap(registration, sum(line.seats for line in lines))
        package_hold = None
        if isinstance(request, PackageRequest):
            package_hold = _write_package_hold(registration, request, lines, existing)
        else:
            too_many = []
            for line in lines:
                if line.ticket_type.pk in existing:
                    try:
                        _check_combined_quantity(line, existing[line.ticket_type.pk])
                    except (QuantityOutOfRange, PackageOverlap) as error:
                        too_many.append(
                            LineRefusal(line.ticket_type.pk, line.ticket_type.name, error)
                        )
            if too_many:
                raise _LinesRefused(too_many)
        holds = [
            _write_hold(registration, line, existing.get(line.ticket_type.pk), package_hold)
            for line in lines
        ]
        if not opened:
            _back_to_ticket_selection(registration)
        registration_changed_on_commit(registration, RegistrationChange.HOLD_CREATED)
        # Every line is tried, so the refusal names each line short, not just the first.
        refused = [
            LineRefusal(line.ticket_type.pk, line.ticket_type.name, _refusal(line))
            for line in lines
            if inventory.reserve(line.ticket_type, line.seats) is None
        ]
        if refused:
            raise _LinesRefused(refused)
    for hold in holds:
        hold.registration = registration
    return holds


def _write_hold(
    registration: Registration,
    line: _Line,
    existing: Hold | None,
    package_hold: PackageHold | None = None,
) -> Hold:
    if existing is None:
        return Hold.objects.create(
            registration=registration,
            ticket_type=line.ticket_type,
            seats=line.seats,
            tables=line.tables,
            # A package's items are priced by the package line, not one by one.
            unit_price=line.ticket_type.price if package_hold is None else 0,
            package_hold=package_hold,
            expires_at=registration.expires_at,
        )
    grown = {"seats": F("seats") + line.seats}
    if line.tables is not None:
        grown["tables"] = Coalesce(F("tables"), 0) + line.tables
    # The registration's row lock (taken first) serialises every change to its holds, so
    # the values computed here are what the UPDATE writes.
    Hold.objects.filter(pk=existing.pk).update(**grown)
    existing.seats += line.seats
    if line.tables is not None:
        existing.tables = (existing.tables or 0) + line.tables
    return existing


def _refusal(line: _Line) -> TicketingError:
    """Why the guarded UPDATE took nothing: the event was cancelled meanwhile (its ticket
    types withdrawn), or too few seats are left - said in the unit the buyer typed."""
    ticket_type = line.ticket_type
    # Read after the refused UPDATE, which took no lock: only what the message shows.
    ticket_type.refresh_from_db(fields=["capacity", "reserved", "sold", "withdrawn"])
    if ticket_type.withdrawn:
        return EventCancelled()
    if line.tables is not None:
        return not_enough_tables(ticket_type.name, line.quantity, ticket_type.available)
    return NotEnoughAvailable(ticket_type.name, line.seats, ticket_type.available)


def _open_registration_for(request: AnyHoldRequest) -> tuple[Registration, bool]:
    """The buyer's open registration, locked, and whether it was opened just now."""
    registration = lock_pending_registration_of_buyer(request.buyer_key, request.function.pk)
    if registration is not None:
        registration.function = request.function
        if registration.hold_has_expired:
            raise _RegistrationExpired(registration.pk)
        if registration.registration_type != request.registration_type:
            raise RegistrationTypeMismatch(
                "You already have a registration in progress as "
                f"{registration.get_registration_type_display().lower()}. Finish or cancel "
                "it before starting another kind."
            )
        return registration, False
    registration = Registration(
        function=request.function,
        registration_type=request.registration_type,
        buyer_key=request.buyer_key,
        user_id=request.user_id,
        client_address=request.client_address,
        expires_at=timezone.now() + datetime.timedelta(minutes=request.function.hold_minutes),
    )
    registration.save(force_insert=True)
    registration_changed_on_commit(registration, RegistrationChange.CREATED)
    return registration, True


def _check_address_cap(registration: Registration, seats: int) -> None:
    """Refuse (AddressHoldLimit) a hold that takes the registration's address past
    HOLD_SEATS_PER_IP seats of the function held at once.

    One aggregate, and only for holds from a client with the cap on; it runs before the
    guarded UPDATE so the hot lock stays last. It counts what has committed, so a burst
    of simultaneous holds from one address can overshoot by what is in flight: making it
    exact would serialise every buyer behind one NAT, and the cap is there to stop one
    source taking a function, not to count seats (the guarded UPDATE does that).
    """
    cap = settings.HOLD_SEATS_PER_IP
    if cap is None or not registration.client_address:
        return
    held = 0
    if seats <= cap:
        held = (
            Hold.objects.filter(
                status=Hold.Status.ACTIVE,
                registration__function_id=registration.function_id,
                registration__status=Registration.Status.PENDING,
                registration__client_address=registration.client_address,
            ).aggregate(seats=Sum("seats"))["seats"]
            or 0
        )
    if held + seats > cap:
        raise AddressHoldLimit(cap, held, seats)


def _write_package_hold(
    registration: Registration,
    request: PackageRequest,
    lines: list[_Line],
    existing: dict[int, Hold],
) -> PackageHold:
    """The package line the items' holds belong to: a new one, or the registration's line
    of the same package grown by `request.quantity`. Refused (_LinesRefused) when an item's
    ticket type is already held on its own or in another package line, or when the
    package's per-order limit would be passed."""
    package = request.package
    held = {hold.package_hold_id for hold in existing.values()}
    if not existing:
        return PackageHold.objects.create(
            registration=registration,
            package=package,
            quantity=request.quantity,
            unit_price=package.price,
        )
    line_of_package = (
        PackageHold.objects.filter(pk__in=held - {None}, package=package).first()
        if len(held) == 1 and len(existing) == len(lines)
        else None
    )
    if line_of_package is None:
        error = PackageOverlap(
            f"Your selection already has some of the tickets of {package.name}. Remove them "
            "first: a ticket type is held either on its own or in one package."
        )
        raise _LinesRefused(
            [
                LineRefusal(line.ticket_type.pk, line.ticket_type.name, error)
                for line in lines
                if line.ticket_type.pk in existing
            ]
        )
    if line_of_package.quantity + request.quantity > package.max_per_order:
        error = QuantityOutOfRange(
            f"One registration can hold at most {package.max_per_order} of {package.name}; "
            f"you hold {line_of_package.quantity} and asked for {request.quantity} more."
        )
        raise _LinesRefused([LineRefusal(lines[0].ticket_type.pk, package.name, error)])
    # Under the registration's row lock (taken first), like its holds.
    PackageHold.objects.filter(pk=line_of_package.pk).update(
        quantity=F("quantity") + request.quantity
    )
    line_of_package.quantity += request.quantity
    return line_of_package


def _with_package_siblings(active: list[Hold], chosen: list[Hold]) -> list[Hold]:
    """`chosen` and every other active hold of the package lines among them."""
    lines = {hold.package_hold_id for hold in chosen} - {None}
    chosen_ids = {hold.pk for hold in chosen}
    return [h for h in active if h.pk in chosen_ids or h.package_hold_id in lines]


def _check_combined_quantity(line: _Line, existing: Hold) -> None:
    ticket_type = line.ticket_type
    if existing.package_hold_id is not None:
        raise PackageOverlap(
            f"{ticket_type.name} is already in a package of your selection; remove the "
            "package first to hold it on its own."
        )
    if line.tables is not None:
        most, held, unit = ticket_type.max_tables_per_order, existing.tables or 0, "tables"
        asked = line.tables
    else:
        most, held, unit = ticket_type.max_per_order, existing.seats, "tickets"
        asked = line.seats
    if held + asked > most:
        raise QuantityOutOfRange(
            f"One registration can hold at most {most} {unit} of {ticket_type.name}; "
            f"you hold {held} and asked for {asked} more."
        )


def _end_holds(holds: Iterable[Hold], status: str, now: datetime.datetime | None = None) -> None:
    """Give the seats of locked ACTIVE holds back, in ticket type order."""
    now = now or timezone.now()
    ended = []
    for hold in inventory.sorted_by_ticket_type(holds):
        inventory.release(hold.ticket_type, hold.seats)
        hold.status = status
        hold.ended_at = now
        ended.append(hold)
    if ended:
        Hold.objects.bulk_update(ended, ["status", "ended_at"])


def _give_back_lines(registration: Registration, holds: list[Hold]) -> None:
    if not holds:
        return
    _end_holds(holds, Hold.Status.RELEASED)
    # Seats assigned to attendees go with the line; an expired hold keeps them, so a late
    # confirmation still knows who sits where.
    Ticket.objects.filter(hold__in=holds).delete()
    _back_to_ticket_selection(registration)


def _back_to_ticket_selection(registration: Registration) -> None:
    """Changed tickets mean attendee assignments must be looked at again."""
    if registration.step != Registration.Step.TICKET_SELECTION:
        registration.step = Registration.Step.TICKET_SELECTION
        registration.save(update_fields=["step", "updated_at"])
        registration_changed_on_commit(registration, RegistrationChange.STEP_REACHED)
