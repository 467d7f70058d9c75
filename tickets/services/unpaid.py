"""Pay later without free seats (docs/design.md §3.12, §16).

Invoice and pay-at-the-door confirmations sell seats with no money taken. Three rules
keep that from being a way to take seats for nothing:

- **A cap.** A buyer (the session's buyer key) and a contact email (case-insensitive)
  each hold at most `Function.unpaid_seat_limit` confirmed-but-unpaid seats of a
  function. `check_unpaid_seat_limit` runs inside the confirming transaction, under the
  registration's lock and then the function's (`locking.lock_function`), so two
  confirmations of one buyer or email are counted one after the other and cannot both
  pass.
- **A due date.** A pay-later confirmation gets `payment_due_at` (confirmation time plus
  `Function.unpaid_days`). The sweeper (`expire_overdue_unpaid`, called by
  `holds.release_expired_holds`) expires registrations still unpaid then: status
  `expired`, sold holds `expired`, seats back on sale through services.inventory;
  `payment_status` stays `pending`, which tells it was never paid.
- **A staff action.** `cancel_unpaid_registrations` cancels confirmed registrations still
  awaiting payment and gives their seats back, with an audit entry each.

The reminder at half time (docs/design.md §16) is services.reminders, a housekeeping job
of the same sweeper.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import Hold, Registration
from tickets.services import audit, inventory
from tickets.services.exceptions import UnpaidSeatLimit
from tickets.services.locking import lock_function, lock_holds_of, lock_registration
from tickets.signals import RegistrationChange, registration_changed_on_commit

PENDING_PAYMENT = Registration.PaymentStatus.PENDING


def is_unpaid(registration: Registration) -> bool:
    """Confirmed with payment still to come (invoice or at the door)."""
    return (
        registration.status == Registration.Status.CONFIRMED
        and registration.payment_status == PENDING_PAYMENT
    )


def check_unpaid_seat_limit(registration: Registration, seats: int) -> None:
    """Refuse (UnpaidSeatLimit) confirming `seats` more unpaid seats for this buyer or its
    contact email past the function's cap.

    Call inside the confirming transaction with the registration and its holds locked:
    this takes the function's row lock (lock order: registration, holds, function,
    ticket types) and holds it to COMMIT, so the next pay-later confirmation of the
    function counts after this one has committed or rolled back.
    """
    function = lock_function(registration.function_id)
    limit = function.unpaid_seat_limit
    others = Hold.objects.filter(
        status=Hold.Status.CONFIRMED,
        registration__function_id=registration.function_id,
        registration__status=Registration.Status.CONFIRMED,
        registration__payment_status=PENDING_PAYMENT,
    ).exclude(registration_id=registration.pk)
    by_buyer = Q(registration__buyer_key=registration.buyer_key)
    totals = {"buyer": Coalesce(Sum("seats", filter=by_buyer), 0)}
    email = registration.contact_email.strip()
    if email:
        totals["email"] = Coalesce(
            Sum("seats", filter=Q(registration__contact_email__iexact=email)), 0
        )
    unpaid = max(others.aggregate(**totals).values())
    if unpaid + seats > limit:
        raise UnpaidSeatLimit(limit, unpaid, seats)


def payment_due(registration: Registration, confirmed_at: datetime.datetime) -> datetime.datetime:
    """When a pay-later registration confirmed now expires unless marked paid."""
    return confirmed_at + datetime.timedelta(days=registration.function.unpaid_days)


def give_back_sold_seats(
    registration: Registration, ended_status: str, now: datetime.datetime
) -> list[Hold]:
    """End the locked registration's confirmed holds as `ended_status`, putting their
    seats back on sale in ticket type order; returns the holds ended.

    Tickets stay on the ended holds (as an expired hold keeps its attendees): they are
    history, and the check-in of a ticket will check its hold's status.
    """
    holds = lock_holds_of(registration, Hold.Status.CONFIRMED)
    for hold in inventory.sorted_by_ticket_type(holds):
        inventory.unsell(hold.ticket_type, hold.seats)
        hold.status = ended_status
        hold.ended_at = now
    if holds:
        Hold.objects.bulk_update(holds, ["status", "ended_at"])
    return holds


def expire_unpaid_registration(
    registration_id: UUID, now: datetime.datetime | None = None
) -> int | None:
    """Expire a pay-later registration past its due date: its seats go back. Returns the
    holds released, or None if it was not expired (paid meanwhile, not due, or locked by
    a staff action in flight: the next sweep sees it again)."""
    now = now or timezone.now()
    with transaction.atomic():
        registration = lock_registration(registration_id, skip_locked=True)
        if (
            registration is None
            or not is_unpaid(registration)
            or registration.payment_due_at is None
            or registration.payment_due_at > now
        ):
            return None
        released = give_back_sold_seats(registration, Hold.Status.EXPIRED, now)
        registration.mark_expired()
        return len(released)


@dataclass(frozen=True)
class UnpaidSweep:
    registrations: int  # expired
    holds: int  # released


def expire_overdue_unpaid(now: datetime.datetime | None = None, limit: int = 500) -> UnpaidSweep:
    """Expire every pay-later registration past its due date, each in its own
    transaction (the sweeper calls this on every sweep)."""
    now = now or timezone.now()
    due = Registration.objects.filter(
        status=Registration.Status.CONFIRMED,
        payment_status=PENDING_PAYMENT,
        payment_due_at__lte=now,
    ).order_by("payment_due_at")
    due_ids = list(due.values_list("pk", flat=True)[:limit])
    released = [expire_unpaid_registration(rid, now) for rid in due_ids]
    return UnpaidSweep(
        registrations=sum(1 for r in released if r is not None),
        holds=sum(r for r in released if r is not None),
    )


@dataclass(frozen=True)
class StaffCancellation:
    cancelled: int
    skipped: int  # not in a state the action applies to
    seats: int  # given back


def cancel_unpaid_registrations(
    registration_ids: list[UUID], *, cancelled_by: AbstractBaseUser
) -> StaffCancellation:
    """Staff cancel confirmed registrations still awaiting payment: their seats go back
    on sale at once and each cancellation leaves an audit entry. Others are skipped."""
    cancelled = skipped = seats = 0
    for registration_id in registration_ids:
        with transaction.atomic():
            registration = lock_registration(registration_id)
            if registration is None or not is_unpaid(registration):
                skipped += 1
                continue
            ended = give_back_sold_seats(registration, Hold.Status.RELEASED, timezone.now())
            held = sum(h.seats for h in ended)
            registration.status = Registration.Status.CANCELLED
            registration.save(update_fields=["status", "updated_at"])
            audit.record(
                cancelled_by,
                audit.Action.CANCEL_UNPAID,
                registration,
                seats=held,
                payment_method=registration.payment_method,
            )
            registration_changed_on_commit(registration, RegistrationChange.CANCELLED)
            cancelled += 1
            seats += held
    return StaffCancellation(cancelled=cancelled, skipped=skipped, seats=seats)
