"""The registration wizard: steps, attendee details and confirmation.

Steps run ticket_selection -> attendee_details -> review -> payment -> confirmation. The
step a registration is at is what this module last recorded, never what a browser
claims; presence and the funnel read it from here.
"""

from __future__ import annotations

import datetime
import enum
import re
import secrets
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import ClassVar
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import (
    Attendee,
    Event,
    Function,
    Hold,
    Lodge,
    PackageHold,
    Registration,
    Ticket,
    TicketType,
)
from tickets.services import audit, confirmation_mail, eligibility, inventory, unpaid, waitlist
from tickets.services.dietary import clean_dietary, dietary_errors
from tickets.services.exceptions import (
    AnotherRegistrationOpen,
    ConfirmationNumberUnavailable,
    EventCancelled,
    HoldAlreadyExtended,
    HoldExpired,
    InvalidAttendees,
    NothingSelected,
    RegistrationClosed,
    RegistrationHasSeats,
    StepNotReached,
)
from tickets.services.locking import lock_holds_of, lock_open_registration, lock_registration
from tickets.services.lodges import match_lodge
from tickets.signals import (
    RegistrationChange,
    payment_received_on_commit,
    registration_changed_on_commit,
)

Step = Registration.Step


@dataclass(frozen=True)
class ContactDetails:
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    lodge_name: str = ""
    lodge_number: str = ""
    delegation_name: str = ""


@dataclass(frozen=True, kw_only=True)
class AttendeeDetails:
    first_name: str
    last_name: str
    attendee_type: str = Attendee.Type.MASON
    title: str = ""
    # Index, in the submitted list, of the attendee this one is the partner of.
    partner_of: int | None = None
    email: str = ""
    phone: str = ""
    # Codes of DietaryNeed (services.dietary); `dietary_requirements` is the "other" text.
    dietary_needs: tuple[str, ...] = ()
    dietary_requirements: str = ""
    special_needs: str = ""
    lodge_name: str = ""
    lodge_number: str = ""
    # The ticket types (at most one per event) this attendee holds a seat of.
    ticket_type_ids: tuple[int, ...] = field(default_factory=tuple)

    # Text fields copied as they are onto the Attendee row (dietary_needs, a list, is
    # kept beside them: DIETARY_NEEDS in drafts).
    # In the order the form shows them.
    SAVED_FIELDS: ClassVar[tuple[str, ...]] = (
        "attendee_type",
        *Attendee.PERSONAL_FIELDS,
        "lodge_name",
        "lodge_number",
    )


# The key of the structured dietary needs (a list of codes) in a draft row's values.
DIETARY_NEEDS = "dietary_needs"


def open_registration_of(buyer_key: str | None, function: Function) -> Registration | None:
    """The buyer's pending registration for the function, if any (at most one exists)."""
    if buyer_key is None:
        return None
    return Registration.objects.filter(
        buyer_key=buyer_key, function=function, status=Registration.Status.PENDING
    ).first()


def registration_type_offered(open_registration: Registration | None, requested: str | None) -> str:
    """The kind of registration the function page sells as: an open registration fixes
    it (one kind at a time); otherwise what was asked for, individual by default."""
    if open_registration is not None:
        return open_registration.registration_type
    if requested in Registration.Type.values:
        return requested
    return Registration.Type.INDIVIDUAL


class StepAccess(enum.Enum):
    """What a buyer asking for a wizard step is given."""

    SHOW = "show"
    CONFIRMATION = "confirmation"  # confirmed: only the confirmation is left to see
    CLOSED = "closed"  # over: the "this registration is closed" page
    CURRENT_STEP = "current_step"  # not reached yet: back to where it stands


# The steps an expired registration still shows: continuing from any of them re-takes the
# seats if they are still free (the one expiry rule, `_lock_resumable`).
RESUMABLE_STEPS = (Step.ATTENDEE_DETAILS, Step.REVIEW, Step.PAYMENT)


def step_access(registration: Registration, step: str) -> StepAccess:
    """Which step pages a registration may show, by its status and how far it got."""
    if registration.status == Registration.Status.CONFIRMED:
        return StepAccess.SHOW if step == Step.CONFIRMATION else StepAccess.CONFIRMATION
    if registration.status == Registration.Status.CANCELLED or (
        # An expired registration can still go on from a later step: continuing re-takes
        # the seats if nobody else has them. Not one that expired unpaid after confirming:
        # another pay-later confirmation would be another free stretch of seats.
        registration.status == Registration.Status.EXPIRED
        and (step not in RESUMABLE_STEPS or registration.confirmed_at is not None)
    ):
        return StepAccess.CLOSED
    if not registration.has_reached(step):
        return StepAccess.CURRENT_STEP
    return StepAccess.SHOW


def _current_hold_status(registration: Registration) -> str:
    if registration.status == Registration.Status.CONFIRMED:
        return Hold.Status.CONFIRMED
    # An expired registration still shows (and can try to confirm) what it held when it expired.
    if registration.status == Registration.Status.EXPIRED:
        return Hold.Status.EXPIRED
    return Hold.Status.ACTIVE


MASON_WITHOUT_LODGE = "Masons attend under their lodge: please name it."


def lodge_missing(attendee_type: str | None, lodge_name: str | None) -> bool:
    """Whether an attendee breaks "masons attend under their lodge"."""
    return attendee_type == Attendee.Type.MASON and not lodge_name


def current_holds(registration: Registration) -> list[Hold]:
    """The registration's lines: live holds, what it had when it expired, or what it
    bought."""
    return list(
        registration.holds.filter(status=_current_hold_status(registration))
        .select_related("ticket_type__event", "package_hold__package")
        .order_by("ticket_type__event__position", "ticket_type_id")
    )


def package_lines_of(holds: Sequence[Hold]) -> dict[int, PackageHold]:
    """The package lines the holds belong to, by id (a package's items share one)."""
    return {h.package_hold_id: h.package_hold for h in holds if h.package_hold_id is not None}


def total_of(holds: Sequence[Hold]) -> Decimal:
    """What the lines cost: each hold at its unit price (a package's items at 0) plus each
    package line at the package price it was held at."""
    packages = package_lines_of(holds).values()
    return sum((hold.line_total for hold in holds), Decimal("0")) + sum(
        (line.line_total for line in packages), Decimal("0")
    )


def holds_by_event(holds: Sequence[Hold]) -> list[tuple[Event, list[Hold]]]:
    """Lines grouped by event, in the order given (current_holds orders by event)."""
    return [
        (event, list(group)) for event, group in groupby(holds, key=lambda h: h.ticket_type.event)
    ]


@dataclass(frozen=True)
class AttendeeDraft:
    """One row of the attendee step as it first shows: what the buyer last typed, a saved
    attendee, or a blank one already seated."""

    # AttendeeDetails.SAVED_FIELDS as typed or saved (strings), and DIETARY_NEEDS (a list
    # of codes); a blank row has at most a default attendee_type.
    values: dict[str, str | list[str]] = field(default_factory=dict)
    # Index, among the rows, of the attendee this one is the partner of.
    partner_of: int | None = None
    # Event id -> the ticket type this attendee holds a seat of at that event.
    seats: dict[int, int] = field(default_factory=dict)


PARTNER_TYPES = (Attendee.Type.LADY_PARTNER, Attendee.Type.GUEST_PARTNER)
# "Suited to partners", kept deliberately simple: a ticket type (or its event) whose name
# says it is for ladies or partners, as organisers name them ("Ladies' Brunch",
# "Partners' Tour"). No new field for staff to forget to set.
_PARTNER_WORDS = re.compile(r"\b(lady|ladies|partners?)\b", re.IGNORECASE)


def suits_partners(ticket_type: TicketType) -> bool:
    return bool(
        _PARTNER_WORDS.search(ticket_type.name) or _PARTNER_WORDS.search(ticket_type.event.name)
    )


def attendee_drafts(
    registration: Registration, events: Sequence[tuple[Event, Sequence[Hold]]]
) -> list[AttendeeDraft]:
    """The rows of the attendee step: the saved attendees, or blank rows seated by
    `_default_rows`; then what the buyer last typed (the draft) over them, so nothing
    typed is lost to an expiry or a reload."""
    saved = list(
        registration.attendees.select_related("partner_of").prefetch_related("tickets__hold")
    )
    if saved:
        rows = [
            AttendeeDraft(
                values={name: getattr(a, name) for name in AttendeeDetails.SAVED_FIELDS}
                | {DIETARY_NEEDS: list(a.dietary_needs or ())},
                partner_of=a.partner_of.position - 1 if a.partner_of_id else None,
                seats={t.event_id: t.hold.ticket_type_id for t in a.tickets.all()},
            )
            for a in saved
        ]
    else:
        rows = _default_rows(events)
    return _overlay_draft(rows, registration.attendee_draft.get("attendees") or [], events)


def _default_rows(events: Sequence[tuple[Event, Sequence[Hold]]]) -> list[AttendeeDraft]:
    """As many rows as the busiest event has seats. Seats of tickets suited to partners
    (`suits_partners`) go to the last rows, which default to lady partners of the first
    ones; every other seat goes to the first rows (the lead, a Mason, first). At most one
    seat per event per row: an event never has more seats than there are rows."""
    count = max((sum(h.seats for h in holds) for _, holds in events), default=0)
    partner_count = min(
        count,
        max(
            (sum(h.seats for h in holds if suits_partners(h.ticket_type)) for _, holds in events),
            default=0,
        ),
    )
    others = list(range(count - partner_count))
    partners = list(range(count - partner_count, count))
    seats: list[dict[int, int]] = [{} for _ in range(count)]
    for event, holds in events:
        free_for_partner_tickets = iter(partners + others)
        free_for_other_tickets = iter(others + partners)
        taken: set[int] = set()
        for hold in holds:
            queue = (
                free_for_partner_tickets
                if suits_partners(hold.ticket_type)
                else free_for_other_tickets
            )
            for _ in range(hold.seats):
                row = next(r for r in queue if r not in taken)
                taken.add(row)
                seats[row][event.pk] = hold.ticket_type_id
    return [
        AttendeeDraft(
            values={"attendee_type": Attendee.Type.LADY_PARTNER} if row in partners else {},
            # The i-th partner is the partner of the i-th Mason, when there is one.
            partner_of=others[partners.index(row)]
            if row in partners and partners.index(row) < len(others)
            else None,
            seats=row_seats,
        )
        for row, row_seats in enumerate(seats)
    ]


def _overlay_draft(
    rows: list[AttendeeDraft],
    typed: Sequence[Mapping],
    events: Sequence[tuple[Event, Sequence[Hold]]],
) -> list[AttendeeDraft]:
    """The rows with what was typed put over them. The number of rows stays what the seats
    held decide; a typed seat of a ticket type no longer held is ignored."""
    held = {event.pk: {h.ticket_type_id for h in holds} for event, holds in events}
    merged = []
    for index, row in enumerate(rows):
        draft = typed[index] if index < len(typed) and isinstance(typed[index], Mapping) else {}
        values = draft.get("values") if isinstance(draft.get("values"), Mapping) else {}
        seats = dict(row.seats)
        for event_id, tt_id in (draft.get("seats") or {}).items():
            event_pk = int(event_id)
            if tt_id is None:
                seats.pop(event_pk, None)  # typed "not attending"
            elif tt_id in held.get(event_pk, ()):
                seats[event_pk] = tt_id
        partner_of = draft.get("partner_of", row.partner_of)
        merged.append(
            AttendeeDraft(
                values={
                    **row.values,
                    **{
                        name: str(values[name])
                        for name in AttendeeDetails.SAVED_FIELDS
                        if name in values
                    },
                    **(
                        {DIETARY_NEEDS: [str(code) for code in values[DIETARY_NEEDS]]}
                        if isinstance(values.get(DIETARY_NEEDS), list)
                        else {}
                    ),
                },
                partner_of=partner_of
                if isinstance(partner_of, int) and 0 <= partner_of < index
                else None,
                seats=seats,
            )
        )
    return merged


def contact_initial(registration: Registration, names: Sequence[str]) -> dict[str, str]:
    """The contact form of a lodge or delegation as it first shows: what was typed last,
    else what is saved."""
    typed = registration.attendee_draft.get("contact") or {}
    return {
        name: str(typed[name]) if name in typed else getattr(registration, name) for name in names
    }


def save_attendee_draft(registration_id: UUID, draft: Mapping) -> None:
    """Keep what the buyer typed on the attendee step, valid or not, whatever happens to
    the hold: `{"attendees": [{"values", "partner_of", "seats"}], "contact": {...}}`.

    A single UPDATE (it locks only the registration row, the first lock of every writer),
    committed on its own: a refusal of the step (HoldExpired) must not roll the draft
    back. Over registrations (confirmed, cancelled) take no draft."""
    Registration.objects.filter(
        pk=registration_id,
        status__in=(Registration.Status.PENDING, Registration.Status.EXPIRED),
        confirmed_at__isnull=True,
    ).update(attendee_draft=dict(draft), updated_at=timezone.now())


def extend_hold(registration_id: UUID) -> Registration:
    """Give the buyer one more `hold_minutes` (docs/design.md §3.7: warned two minutes before the
    hold expires, they may extend it once). A second is refused (HoldAlreadyExtended);
    a hold that already expired is not extended: continuing re-takes its seats instead.
    No extension while people wait for one of its ticket types (PeopleWaiting)."""
    with transaction.atomic():
        registration = lock_open_registration(registration_id)
        now = timezone.now()
        if registration.expires_at <= now:
            raise HoldExpired(
                "Your hold has already expired: continue, and your seats are taken again "
                "if they are still free."
            )
        if registration.hold_extended_at is not None:
            raise HoldAlreadyExtended()
        holds = lock_holds_of(registration, Hold.Status.ACTIVE)
        waitlist.check_no_one_waiting(holds)
        expires_at = registration.expires_at + datetime.timedelta(
            minutes=registration.function.hold_minutes
        )
        registration.hold_extended_at = now
        _set_expiry(registration, holds, expires_at, extra_fields=["hold_extended_at"])
    return registration


def continue_to_attendee_details(registration_id: UUID) -> Registration:
    with transaction.atomic():
        registration = lock_open_registration(registration_id)
        if not registration.holds.filter(status=Hold.Status.ACTIVE).exists():
            raise NothingSelected()
        _advance(registration, Step.ATTENDEE_DETAILS)
    return registration


def save_attendee_details(
    registration_id: UUID, contact: ContactDetails, attendees: Sequence[AttendeeDetails]
) -> Registration:
    """Replace the registration's contact details and attendees, then move to review. An
    expired hold is re-taken first if its seats are still free (`_lock_resumable`)."""
    with transaction.atomic():
        registration = _lock_resumable(registration_id)
        _require_step(registration, Step.ATTENDEE_DETAILS)
        holds = {h.ticket_type_id: h for h in lock_holds_of(registration, Hold.Status.ACTIVE)}
        _check_attendees(registration, holds, attendees)
        lodges = _check_eligibility(holds, attendees)

        for name, value in vars(contact).items():
            setattr(registration, name, value)
        registration.lodge = (
            match_lodge(contact.lodge_name, contact.lodge_number) if contact.lodge_name else None
        )
        if registration.registration_type == Registration.Type.INDIVIDUAL and attendees:
            # The first attendee of an individual registration is its contact.
            lead = attendees[0]
            registration.contact_name = f"{lead.first_name} {lead.last_name}".strip()
            registration.contact_email = lead.email
            registration.contact_phone = lead.phone

        Ticket.objects.filter(hold__in=holds.values()).delete()
        registration.attendees.all().delete()
        created = Attendee.objects.bulk_create(
            Attendee(
                registration=registration,
                position=index + 1,
                lodge=lodge,
                **_saved_values(a),
            )
            for index, (a, lodge) in enumerate(zip(attendees, lodges, strict=True))
        )
        partners = []
        for attendee, details in zip(created, attendees, strict=True):
            if details.partner_of is not None:
                attendee.partner_of = created[details.partner_of]
                partners.append(attendee)
        Attendee.objects.bulk_update(partners, ["partner_of"])
        Ticket.objects.bulk_create(
            Ticket(hold=holds[tt_id], event_id=holds[tt_id].ticket_type.event_id, attendee=a)
            for a, details in zip(created, attendees, strict=True)
            for tt_id in details.ticket_type_ids
        )
        _advance(registration, Step.REVIEW, extra_fields=[*vars(contact), "lodge"])
    return registration


def continue_to_payment(registration_id: UUID) -> Registration:
    with transaction.atomic():
        registration = _lock_resumable(registration_id)
        _require_step(registration, Step.REVIEW)
        _advance(registration, Step.PAYMENT)
    return registration


def confirm_registration(
    registration_id: UUID, *, payment_method: str, payment_status: str
) -> Registration:
    """Turn the registration's holds into sold seats and issue its confirmation number.

    A hold the sweeper already let expire is re-taken from what is available now; if its
    seats have gone to someone else the whole confirmation is refused (HoldExpired) and
    nothing changes. That is the one expiry rule of every step (`_lock_resumable`), done
    here by selling straight from what is available (one guarded update per line) because
    a pay-later confirmation must lock the function before any ticket type. Runs with no
    payment in flight: the caller has settled payment (or arranged it offline) before
    calling.

    Pay later (`payment_status` pending) is capped per buyer and per contact email
    (UnpaidSeatLimit, services.unpaid) and gets a due date, after which the sweeper
    expires the registration unless staff marked it paid.
    """
    with transaction.atomic():
        registration = _lock_unconfirmed(registration_id)
        _require_step(registration, Step.PAYMENT)
        holds = lock_holds_of(registration, _current_hold_status(registration))
        if not holds:
            raise NothingSelected("There are no tickets on this registration to confirm.")
        pay_later = payment_status == Registration.PaymentStatus.PENDING
        if pay_later:
            unpaid.check_unpaid_seat_limit(registration, sum(h.seats for h in holds))
        now = timezone.now()
        for hold in inventory.sorted_by_ticket_type(holds):
            if hold.ticket_type.event.is_cancelled:
                raise EventCancelled(
                    f"{hold.ticket_type.event.name} has been cancelled; remove its tickets "
                    "to confirm the rest."
                )
            if hold.status == Hold.Status.ACTIVE:
                inventory.sell_reserved(hold.ticket_type, hold.seats)
            elif inventory.sell_available(hold.ticket_type, hold.seats) is None:
                raise HoldExpired()
            hold.status = Hold.Status.CONFIRMED
            hold.ended_at = now
        Hold.objects.bulk_update(holds, ["status", "ended_at"])
        _issue_unnamed_tickets(holds)

        registration.status = Registration.Status.CONFIRMED
        registration.step = registration.furthest_step = Step.CONFIRMATION
        registration.payment_method = payment_method
        registration.payment_status = payment_status
        registration.total_amount = total_of(holds)
        registration.confirmed_at = now
        # The attendees are saved now: their personal details need not live twice.
        registration.attendee_draft = {}
        registration.payment_due_at = unpaid.payment_due(registration, now) if pay_later else None
        _save_with_confirmation_number(registration)
        # In this transaction: the messages exist exactly when the sale does.
        confirmation_mail.enqueue_confirmation(registration)
        registration_changed_on_commit(registration, RegistrationChange.STEP_REACHED)
        registration_changed_on_commit(registration, RegistrationChange.CONFIRMED)
    return registration


def mark_paid(
    registrations: QuerySet[Registration],
    *,
    marked_by: AbstractBaseUser,
    action: str = audit.Action.MARK_PAID,
    **details: str,
) -> int:
    """Staff record payment received for confirmed registrations awaiting it; each one
    marked leaves an audit entry (`action`, with `details`: the door says it was paid
    there, and which door). Returns how many were marked."""
    with transaction.atomic():
        # Locked, so a registration the sweeper is expiring (or staff cancelling) is
        # either marked after that commits - and then skipped - or before it.
        awaiting = list(
            registrations.select_for_update(of=("self",))
            .filter(
                status=Registration.Status.CONFIRMED,
                payment_status=Registration.PaymentStatus.PENDING,
            )
            .order_by("pk")
        )
        now = timezone.now()
        for registration in awaiting:
            registration.payment_status = Registration.PaymentStatus.PAID
            registration.paid_at = registration.updated_at = now  # bulk_update skips auto_now
            _audit_money(marked_by, action, registration, **details)
        Registration.objects.bulk_update(awaiting, ["payment_status", "paid_at", "updated_at"])
        payment_received_on_commit(r.function_id for r in awaiting)
    return len(awaiting)


def _lock_unconfirmed(registration_id: UUID) -> Registration:
    """Lock a registration its buyer may still carry on with: pending, or expired before
    it was ever confirmed. An unpaid one that expired after confirming gave its seats
    back and does not come back: RegistrationClosed, as for anything else."""
    registration = lock_registration(registration_id)
    if (
        registration is None
        or registration.status not in (Registration.Status.PENDING, Registration.Status.EXPIRED)
        or registration.confirmed_at is not None
    ):
        raise RegistrationClosed()
    return registration


def _audit_money(
    actor: AbstractBaseUser, action: audit.Action, registration: Registration, **details: str
) -> None:
    """An audit entry of a payment or refund recorded by staff, with what it was."""
    audit.record(
        actor,
        action,
        registration,
        amount=str(registration.total_amount),
        payment_method=registration.payment_method,
        **details,
    )


def mark_refunded(registrations: QuerySet[Registration], *, marked_by: AbstractBaseUser) -> int:
    """Staff record that the refund owed (`refund_due`: paid, then cancelled) was paid out:
    the flag clears, the payment status says refunded, and each one leaves an audit entry
    with the amount. Registrations owing nothing are skipped. Returns how many."""
    with transaction.atomic():
        # Locked, so two clerks marking the same refund record it (and audit it) once.
        owed = list(
            registrations.select_for_update(of=("self",)).filter(refund_due=True).order_by("pk")
        )
        now = timezone.now()
        for registration in owed:
            registration.refund_due = False
            registration.payment_status = Registration.PaymentStatus.REFUNDED
            registration.updated_at = now  # bulk_update skips auto_now
            _audit_money(marked_by, audit.Action.MARK_REFUNDED, registration)
        Registration.objects.bulk_update(owed, ["refund_due", "payment_status", "updated_at"])
    return len(owed)


def cancel_by_staff(registration_id: UUID, *, cancelled_by: AbstractBaseUser) -> bool:
    """Staff cancel a pending or confirmed registration: every seat it holds or bought
    goes back through the inventory service, a paid one is flagged `refund_due`, and an
    audit entry records it. False if it was already over (cancelled or expired).

    This is what replaces deleting a registration in the admin, which would strand its
    seats (the counters would keep counting seats no hold accounts for).
    """
    with transaction.atomic():
        registration = lock_registration(registration_id)
        if registration is None or registration.status not in (
            Registration.Status.PENDING,
            Registration.Status.CONFIRMED,
        ):
            return False
        now = timezone.now()
        # Held and sold lines locked together, then counters in ticket type order.
        holds = lock_holds_of(registration, Hold.Status.ACTIVE, Hold.Status.CONFIRMED)
        for hold in inventory.sorted_by_ticket_type(holds):
            if hold.status == Hold.Status.ACTIVE:
                inventory.release(hold.ticket_type, hold.seats)
            else:
                inventory.unsell(hold.ticket_type, hold.seats)
            hold.status = Hold.Status.RELEASED
            hold.ended_at = now
        Hold.objects.bulk_update(holds, ["status", "ended_at"])
        was = registration.status
        registration.status = Registration.Status.CANCELLED
        if registration.payment_status == Registration.PaymentStatus.PAID:
            registration.refund_due = True
        registration.save(update_fields=["status", "refund_due", "updated_at"])
        audit.record(
            cancelled_by,
            audit.Action.CANCEL_REGISTRATION,
            registration,
            was=was,
            seats=sum(h.seats for h in holds),
            refund_due=registration.refund_due,
        )
        registration_changed_on_commit(registration, RegistrationChange.CANCELLED)
    return True


SEAT_HOLDING_STATUSES = (Hold.Status.ACTIVE, Hold.Status.CONFIRMED)


def holds_seats(registration: Registration) -> bool:
    """Whether the registration has seats counted in the counters (held or sold)."""
    return registration.holds.filter(status__in=SEAT_HOLDING_STATUSES).exists()


def delete_registration(registration_id: UUID) -> None:
    """Delete a registration that holds and bought nothing (an over or empty one).

    One with seats is refused (RegistrationHasSeats): its holds would go with it and the
    counters would keep counting seats no hold accounts for. Cancel it instead.
    """
    with transaction.atomic():
        registration = lock_registration(registration_id)
        if registration is None:
            return
        if lock_holds_of(registration, *SEAT_HOLDING_STATUSES):
            raise RegistrationHasSeats()
        registration.delete()


def new_confirmation_number(registration_type: str) -> str:
    """e.g. IND123456AB: a type prefix, six digits and two letters."""
    prefix = Registration.CONFIRMATION_PREFIXES[registration_type]
    digits = f"{secrets.randbelow(10**6):06d}"
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(2))
    return f"{prefix}{digits}{letters}"


# --- internals ---------------------------------------------------------------------------


def _require_step(registration: Registration, step: str) -> None:
    if not registration.has_reached(step):
        raise StepNotReached()


def _saved_values(attendee: AttendeeDetails) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        name: getattr(attendee, name) for name in AttendeeDetails.SAVED_FIELDS
    }
    values[DIETARY_NEEDS], values["dietary_requirements"] = clean_dietary(
        attendee.dietary_needs, attendee.dietary_requirements
    )
    if attendee.attendee_type != Attendee.Type.MASON:
        # Only Masons attend under a lodge: whatever a browser sent for anyone else (a
        # field hidden after it was typed in) is not kept.
        values["lodge_name"] = values["lodge_number"] = ""
    return values


def _lock_resumable(registration_id: UUID) -> Registration:
    """Lock a registration the buyer may go on with, re-taking its seats if its hold
    expired - the one expiry rule of every wizard step after the tickets.

    Pending but past its time (the sweeper has not reached it): its seats are still
    reserved for it, so it gets a fresh hold time. Expired: each line it had is reserved
    again through the inventory service's guarded update, in ticket type order; if any is
    gone the whole step is refused (HoldExpired) and the transaction rolls back, so no
    line is re-taken alone. Confirmed, cancelled or expired unpaid: RegistrationClosed.
    """
    registration = _lock_unconfirmed(registration_id)
    now = timezone.now()
    fresh = now + datetime.timedelta(minutes=registration.function.hold_minutes)
    if registration.is_pending:
        if registration.expires_at <= now:
            _set_expiry(registration, lock_holds_of(registration, Hold.Status.ACTIVE), fresh)
        return registration
    holds = lock_holds_of(registration, Hold.Status.EXPIRED)
    if not holds:
        raise HoldExpired()
    for hold in inventory.sorted_by_ticket_type(holds):
        if hold.ticket_type.event.is_cancelled:
            raise EventCancelled(
                f"{hold.ticket_type.event.name} has been cancelled, so your expired hold "
                "cannot be taken again; choose tickets again."
            )
        if inventory.reserve(hold.ticket_type, hold.seats) is None:
            raise HoldExpired()
        hold.status = Hold.Status.ACTIVE
        hold.ended_at = None
    registration.status = Registration.Status.PENDING
    try:
        # A savepoint: the buyer may have opened another pending registration for the
        # function since (one per buyer, a unique constraint).
        with transaction.atomic():
            _set_expiry(registration, holds, fresh, extra_fields=["status"])
    except IntegrityError:
        raise AnotherRegistrationOpen() from None
    registration_changed_on_commit(registration, RegistrationChange.STEP_REACHED)
    return registration


def _set_expiry(
    registration: Registration,
    holds: Sequence[Hold],
    expires_at: datetime.datetime,
    extra_fields: Sequence[str] = (),
) -> None:
    """A registration and its (locked) holds share one expiry time (design §2)."""
    registration.expires_at = expires_at
    registration.save(update_fields=["expires_at", "updated_at", *extra_fields])
    for hold in holds:
        hold.expires_at = expires_at
    Hold.objects.bulk_update(holds, ["status", "ended_at", "expires_at"])


def _advance(registration: Registration, step: str, extra_fields: Sequence[str] = ()) -> None:
    registration.step = step
    if Registration.step_index(step) > Registration.step_index(registration.furthest_step):
        registration.furthest_step = step
    registration.save(update_fields=["step", "furthest_step", "updated_at", *extra_fields])
    registration_changed_on_commit(registration, RegistrationChange.STEP_REACHED)


def _check_attendees(
    registration: Registration, holds: dict[int, Hold], attendees: Sequence[AttendeeDetails]
) -> None:
    if not holds:
        raise NothingSelected("Your selection is empty: choose tickets first.")
    named_seats = Counter(tt_id for a in attendees for tt_id in a.ticket_type_ids)
    unknown = set(named_seats) - set(holds)
    if unknown:
        raise InvalidAttendees("An attendee was given a ticket that is not in your selection.")
    for index, attendee in enumerate(attendees):
        events = [holds[tt_id].ticket_type.event_id for tt_id in attendee.ticket_type_ids]
        if len(events) != len(set(events)):
            raise InvalidAttendees(f"Attendee {index + 1} can have only one ticket per event.")
        if attendee.partner_of is not None and not 0 <= attendee.partner_of < len(attendees):
            raise InvalidAttendees(f"Attendee {index + 1} is a partner of an unknown attendee.")
        if attendee.partner_of == index:
            raise InvalidAttendees(f"Attendee {index + 1} cannot be their own partner.")
        if lodge_missing(attendee.attendee_type, attendee.lodge_name):
            raise InvalidAttendees(f"Attendee {index + 1}: {MASON_WITHOUT_LODGE}")
        for problem in dietary_errors(
            attendee.dietary_needs, attendee.dietary_requirements
        ).values():
            raise InvalidAttendees(f"Attendee {index + 1}: {problem}")
    named_in_full = registration.registration_type == Registration.Type.INDIVIDUAL
    if named_in_full and not attendees:
        raise InvalidAttendees("Add at least one attendee.")
    for tt_id, hold in holds.items():
        named = named_seats[tt_id]
        if named > hold.seats or (named_in_full and named != hold.seats):
            raise InvalidAttendees(
                f"You hold {hold.seats} × {hold.ticket_type.name}; assign exactly that many "
                "attendees to it."
                if named_in_full
                else f"You hold {hold.seats} seats of {hold.ticket_type.name}; no more than "
                "that many attendees can be named for it."
            )
    if named_in_full and any(not a.ticket_type_ids for a in attendees):
        raise InvalidAttendees("Every attendee needs at least one ticket.")


def attendee_lodge(attendee_type: str, lodge_name: str, lodge_number: str) -> Lodge | None:
    """The listed lodge an attendee attends under: Masons only, as typed text is kept."""
    if attendee_type != Attendee.Type.MASON or not lodge_name:
        return None
    return match_lodge(lodge_name, lodge_number)


def _check_eligibility(
    holds: dict[int, Hold], attendees: Sequence[AttendeeDetails]
) -> list[Lodge | None]:
    """Refuse (NotEligible, 409) a ticket given to an attendee it is not for (design §15);
    the listed lodge of each attendee otherwise, in order."""
    rules = eligibility.rules_for(hold.ticket_type for hold in holds.values())
    lodges = []
    for index, attendee in enumerate(attendees):
        lodge = attendee_lodge(attendee.attendee_type, attendee.lodge_name, attendee.lodge_number)
        for tt_id in attendee.ticket_type_ids:
            eligibility.check_attendee(
                rules[tt_id],
                attendee.attendee_type,
                lodge.grand_lodge_id if lodge else None,
                who=f"Attendee {index + 1}",
            )
        lodges.append(lodge)
    return lodges


def _issue_unnamed_tickets(holds: Sequence[Hold]) -> None:
    """Every sold seat gets a ticket; seats no attendee was named for stay unnamed."""
    named = Counter(
        Ticket.objects.filter(hold__in=holds).values_list("hold_id", flat=True).iterator()
    )
    Ticket.objects.bulk_create(
        Ticket(hold=hold, event_id=hold.ticket_type.event_id)
        for hold in holds
        for _ in range(hold.seats - named[hold.pk])
    )


def _save_with_confirmation_number(registration: Registration) -> None:
    for _ in range(5):
        registration.confirmation_number = new_confirmation_number(registration.registration_type)
        try:
            with transaction.atomic():
                registration.save()
            return
        except IntegrityError:
            continue  # a collision in a space of 676 million: draw again
    raise ConfirmationNumberUnavailable()
