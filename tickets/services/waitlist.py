"""The waiting list (design §13): freed seats reach the next person in seconds.

Rules, and where each is kept:

* **Join only when short.** `join` counts the person in by one guarded UPDATE of the ticket
  type row (`inventory.join_queue`: fewer seats available than wanted, list open, not
  withdrawn) and inserts the entry in the same transaction. The row lock it takes orders
  it against every release, so a join never misses seats freed at the same moment.
* **Queue first.** Every statement that frees seats returns the row's `waiting` count
  (services.inventory `_queue_first`); when people wait, `offer_freed_seats` runs in that
  same transaction, under that row lock: first fit, in order of joining. An entry that
  does not fit keeps its place and smaller ones behind it are served. An offer is a
  pending registration holding the seats through `inventory.reserve`, like any hold, for
  `Function.waitlist_offer_minutes`. Public buyers can only ever see seats no entry fits,
  so the hold path carries no check at all.
* **A lapsed offer passes on.** An offer is an ordinary pending registration: the sweeper
  expires it and releases its seats, and that release offers them to the next entry.
  `settle_offer` (a receiver of registration_changed) then marks the entry expired, or
  accepted when the registration is confirmed.

Lock order: registration -> holds -> ticket type (the guarded UPDATE) -> waiting entries,
the order every writer already follows with the entries last. Leaving a waiting entry
locks the ticket type row (by its UPDATE) before the entry for the same reason.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common import tokens
from common.links import absolute_url
from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.renderers import RenderedMessage
from tickets.models import Broadcast, Function, Hold, Registration, TicketType, WaitlistEntry
from tickets.services import audit, broadcasts, holds, inventory
from tickets.services.availability import TicketAvailability, is_on_sale
from tickets.services.exceptions import (
    AlreadyWaiting,
    AnotherRegistrationOpen,
    EventCancelled,
    InvalidWaitlistRequest,
    OfferNotClaimable,
    PeopleWaiting,
    SalesClosed,
    SeatsStillAvailable,
    UnknownTicketType,
    WaitlistClosed,
    WaitlistEntryClosed,
)
from tickets.services.locking import lock_registration
from tickets.signals import (
    RegistrationChange,
    registration_changed_on_commit,
    waitlist_changed_on_commit,
)

logger = logging.getLogger(__name__)

Status = WaitlistEntry.Status
OFFER_MAIL = "waitlist_offer"
JOINED_MAIL = "waitlist_joined"
# The event was cancelled: the entry is over, and its person is told.
CANCELLED_MAIL = "waitlist_cancelled"
# An offer's registration belongs to no browser until someone claims it (the entry's own
# page, or the link in the mail): the joiner's browser may have another registration of
# the function open, which the one-pending-per-buyer constraint would refuse, and a
# release must never fail for that.
OFFER_BUYER_PREFIX = "waitlist:"


@dataclass(frozen=True)
class JoinRequest:
    function: Function
    ticket_type_id: int | str | None
    quantity: int | str | None
    name: str
    email: str
    buyer_key: str = ""


def join(request: JoinRequest) -> WaitlistEntry:
    """Put someone on a ticket type's waiting list. Raises a TicketingError (400 for bad
    fields, 409 when the list is closed, seats are available or the email is already on
    it); nothing changes then."""
    ticket_type, quantity, name, email = _validated(request)
    try:
        with transaction.atomic():
            counted = inventory.join_queue(ticket_type, quantity)
            if counted is None:
                raise _why_not_joined(ticket_type)
            entry = WaitlistEntry.objects.create(
                ticket_type=ticket_type,
                quantity=quantity,
                name=name,
                email=email,
                buyer_key=request.buyer_key,
            )
            _enqueue_joined_mail(entry)
            waitlist_changed_on_commit(entry, "join")
    except IntegrityError:
        raise AlreadyWaiting() from None
    return entry


def leave(entry_uuid: UUID) -> WaitlistEntry:
    """The person leaves the list (one click). An open offer goes back: its seats pass to
    the next entry that fits, or the public."""
    return _end_entry(entry_uuid, Status.REMOVED, "leave")


def offer_freed_seats(
    ticket_type: TicketType, availability: TicketAvailability
) -> TicketAvailability | None:
    """Offer seats that just came free to the waiting entries, first fit, in order.

    Runs inside the transaction that freed them, after its guarded UPDATE locked the
    ticket type row. Returns the ticket type's availability after the offers, or None
    when nothing was offered.
    """
    if not availability.on_sale:
        return None
    free = availability.available
    entries = list(
        WaitlistEntry.objects.select_for_update(of=("self",))
        .filter(ticket_type_id=ticket_type.pk, status=Status.WAITING, quantity__lte=free)
        .order_by("created_at", "pk")
    )
    offered = []
    function = ticket_type.event.function
    for entry in entries:
        if entry.quantity > free:
            continue  # keeps its place; a smaller entry behind it may fit
        _offer(entry, ticket_type, function)
        offered.append(entry)
        free -= entry.quantity
        if free == 0:
            break
    if not offered:
        return None
    return inventory.leave_queue(ticket_type, len(offered))


def settle_offer(sender: type, *, registration: Registration, change: str, **kwargs) -> None:
    """Receiver of registration_changed: an offer's registration confirmed makes its
    entry accepted; expired or cancelled, the entry's offer lapsed (its seats have already
    passed on, in the transaction that released them)."""
    if change == RegistrationChange.CONFIRMED:
        status, event = Status.ACCEPTED, "accept"
    elif change in (RegistrationChange.EXPIRED, RegistrationChange.CANCELLED):
        status, event = Status.EXPIRED, "lapse"
    else:
        return
    try:
        with transaction.atomic():
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",))
                .filter(offered_registration_id=registration.pk, status=Status.OFFERED)
                .first()
            )
            if entry is None:
                return
            entry.status = status
            entry.ended_at = timezone.now()
            entry.save(update_fields=["status", "ended_at"])
            waitlist_changed_on_commit(entry, event)
    except Exception:
        logger.exception("Could not settle the waiting-list offer of %s", registration.pk)


def claim(entry: WaitlistEntry, buyer_key: str) -> Registration:
    """Make `buyer_key`'s browser the owner of the entry's open offer."""
    with transaction.atomic():
        registration = (
            lock_registration(entry.offered_registration_id)
            if entry.offered_registration_id
            else None
        )
        if (
            registration is None
            or not registration.is_pending
            or registration.expires_at <= timezone.now()
        ):
            raise OfferNotClaimable()
        if registration.buyer_key == buyer_key:
            return registration
        if (
            Registration.objects.filter(
                buyer_key=buyer_key,
                function_id=registration.function_id,
                status=Registration.Status.PENDING,
            )
            .exclude(pk=registration.pk)
            .exists()
        ):
            raise AnotherRegistrationOpen(
                "You have another registration in progress for this function: finish or "
                "cancel it, then take up this offer."
            )
        registration.buyer_key = buyer_key
        registration.save(update_fields=["buyer_key", "updated_at"])
    return registration


def check_no_one_waiting(holds: list[Hold]) -> None:
    """Refuse (PeopleWaiting) to extend a hold on seats people are waiting for. The
    holds' ticket types were loaded with them: no query."""
    if any(hold.ticket_type.waiting for hold in holds):
        raise PeopleWaiting()


# --- what the entry page shows ----------------------------------------------------------------


@dataclass(frozen=True)
class EntryState:
    entry: WaitlistEntry
    position: int | None  # 1 = next; None once it is no longer waiting
    waiting: int

    @property
    def offer_is_open(self) -> bool:
        return self.entry.status == Status.OFFERED


def state_of(entry: WaitlistEntry) -> EntryState:
    """The entry's place: one count of the waiting entries ahead of it."""
    position = None
    if entry.status == Status.WAITING:
        position = (
            WaitlistEntry.objects.filter(ticket_type_id=entry.ticket_type_id, status=Status.WAITING)
            .filter(
                Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk)
            )
            .count()
            + 1
        )
    waiting = TicketType.objects.filter(pk=entry.ticket_type_id).values_list("waiting", flat=True)
    return EntryState(entry=entry, position=position, waiting=waiting.first() or 0)


@dataclass(frozen=True)
class QueuePlace:
    status: str
    position: int | None
    lapses_at: datetime.datetime | None


@dataclass(frozen=True)
class QueueSnapshot:
    """Every open entry of one ticket type with its place, from one query: what the entry
    pages of a server process need after a change, read once for all of them."""

    waiting: int
    places: dict[int, QueuePlace]


def queue_snapshot(ticket_type_id: int) -> QueueSnapshot:
    rows = (
        WaitlistEntry.objects.filter(
            ticket_type_id=ticket_type_id, status__in=WaitlistEntry.ACTIVE_STATUSES
        )
        .order_by("created_at", "pk")
        .values_list("pk", "status", "lapses_at")
    )
    places, position = {}, 0
    for pk, status, lapses_at in rows:
        if status == Status.WAITING:
            position += 1
        places[pk] = QueuePlace(status, position if status == Status.WAITING else None, lapses_at)
    return QueueSnapshot(waiting=position, places=places)


def entry_of(entry_uuid: UUID) -> WaitlistEntry:
    return WaitlistEntry.objects.select_related(
        "ticket_type__event__function", "offered_registration"
    ).get(uuid=entry_uuid)


def entry_of_pk(entry_id: int) -> WaitlistEntry:
    return WaitlistEntry.objects.select_related(
        "ticket_type__event__function", "offered_registration"
    ).get(pk=entry_id)


_ENTRY_SALT = "lodgetix.waitlist-entry"


def entry_token(entry: WaitlistEntry) -> str:
    """Signed for this entry and its key, in the style of the manage link."""
    return tokens.sign(_ENTRY_SALT, _entry_value(entry))


def entry_token_is_valid(entry: WaitlistEntry, token: str) -> bool:
    return tokens.matches(_ENTRY_SALT, _entry_value(entry), token)


def _entry_value(entry: WaitlistEntry) -> str:
    return f"{entry.uuid}:{entry.access_key}"


def entry_link(entry: WaitlistEntry) -> str:
    """The link in mail: opens the entry in any browser, and claims an open offer."""
    return absolute_url(
        reverse("tickets:waitlist-manage", kwargs={"uuid": entry.uuid, "token": entry_token(entry)})
    )


# --- staff ----------------------------------------------------------------------------------


def remove_by_staff(entry_uuid: UUID, *, removed_by) -> WaitlistEntry:
    return _end_entry(entry_uuid, Status.REMOVED, "leave", staff=removed_by)


def set_list_closed(ticket_type_id: int, closed: bool, *, changed_by) -> None:
    """Close (or reopen) a ticket type's list to new entries; audited, and announced to
    open pages as a staff broadcast (toast `waitlist`) and by the availability push (the
    badge offers to join only while the list is open)."""
    with transaction.atomic():
        ticket_type = TicketType.objects.select_related("event__function").get(pk=ticket_type_id)
        inventory.set_waitlist_closed(ticket_type, closed)
        broadcasts.announce_waitlist_change(ticket_type, closed=closed, sent_by=changed_by)
        audit.record(
            changed_by,
            audit.Action.WAITLIST_CLOSE if closed else audit.Action.WAITLIST_OPEN,
            ticket_type,
            waiting=ticket_type.waiting,
        )


def end_for_cancelled_event(sender: type, *, broadcast: Broadcast, **kwargs) -> None:
    """Receiver of broadcast_sent: a cancellation ends the waiting lists of its event.

    Runs after cancel_event committed and gave its holds back (offers included: their
    entries lapse as any offer does). Each entry still waiting is ended in its own short
    transaction, in the usual lock order, and mailed that its place is gone.
    """
    if broadcast.kind != Broadcast.Kind.CANCELLATION or broadcast.event_id is None:
        return
    waiting = WaitlistEntry.objects.filter(
        ticket_type__event_id=broadcast.event_id, status=Status.WAITING
    ).values_list("uuid", flat=True)
    for entry_uuid in list(waiting):
        try:
            with transaction.atomic():
                entry = _end_entry_once(entry_uuid, Status.REMOVED, "leave", staff=None)
                outbox.enqueue(
                    CANCELLED_MAIL,
                    to=entry.email,
                    subject=(
                        f"{entry.ticket_type.event.name} is cancelled: the waiting list is closed"
                    ),
                    context={"entry": str(entry.uuid)},
                    about=f"waitlist:{entry.uuid}",
                )
        except (_EntryMoved, WaitlistEntryClosed):
            continue  # it left, or an offer came and ended it meanwhile


# --- internals ------------------------------------------------------------------------------


def _validated(request: JoinRequest) -> tuple[TicketType, int, str, str]:
    try:
        ticket_type_id = int(request.ticket_type_id)
        quantity = int(request.quantity)
    except (TypeError, ValueError):
        raise InvalidWaitlistRequest("Choose a ticket type and how many seats you want.") from None
    try:
        ticket_type = TicketType.objects.select_related("event").get(
            pk=ticket_type_id, event__function_id=request.function.pk
        )
    except TicketType.DoesNotExist:
        raise UnknownTicketType() from None
    ticket_type.event.function = request.function
    if not ticket_type.min_per_order <= quantity <= ticket_type.max_per_order:
        raise InvalidWaitlistRequest(
            f"Choose between {ticket_type.min_per_order} and {ticket_type.max_per_order} "
            f"seats of {ticket_type.name}; you asked for {quantity}."
        )
    name = (request.name or "").strip()
    if not name or len(name) > 200:
        raise InvalidWaitlistRequest("Tell us your name (up to 200 characters).")
    email = (request.email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidWaitlistRequest(
            "Enter a valid email address: we send your offer there."
        ) from None
    if ticket_type.event.is_cancelled:
        raise EventCancelled()
    if not is_on_sale(ticket_type):
        raise SalesClosed()
    return ticket_type, quantity, name, email


def _why_not_joined(ticket_type: TicketType) -> Exception:
    # Read after the refused UPDATE, only to say why.
    ticket_type.refresh_from_db(
        fields=["capacity", "reserved", "sold", "withdrawn", "waitlist_closed"]
    )
    if ticket_type.withdrawn:
        return EventCancelled()
    if ticket_type.waitlist_closed:
        return WaitlistClosed()
    return SeatsStillAvailable(ticket_type.name, ticket_type.available)


def _offer(entry: WaitlistEntry, ticket_type: TicketType, function: Function) -> None:
    now = timezone.now()
    lapses_at = now + datetime.timedelta(minutes=function.waitlist_offer_minutes)
    registration = Registration(
        function=function,
        buyer_key=f"{OFFER_BUYER_PREFIX}{entry.uuid}",
        expires_at=lapses_at,
        contact_name=entry.name,
        contact_email=entry.email,
    )
    registration.save(force_insert=True)
    Hold.objects.create(
        registration=registration,
        ticket_type=ticket_type,
        seats=entry.quantity,
        unit_price=ticket_type.price,
        expires_at=lapses_at,
    )
    # Under the row lock the freeing statement took, with the seats counted free: the
    # guard cannot refuse. If it ever did, raising rolls the freeing back too, which is
    # safer than handing out seats nobody counted.
    if inventory.reserve(ticket_type, entry.quantity) is None:
        raise RuntimeError(f"Offer to waiting entry {entry.pk} found its seats gone")
    entry.status = Status.OFFERED
    entry.offered_registration = registration
    entry.offered_at = now
    entry.lapses_at = lapses_at
    entry.save(update_fields=["status", "offered_registration", "offered_at", "lapses_at"])
    registration_changed_on_commit(registration, RegistrationChange.CREATED)
    _enqueue_offer_mail(entry)
    waitlist_changed_on_commit(entry, "offer")


class _EntryMoved(Exception):
    """The entry changed status between reading it and locking it (an offer came)."""


def _end_entry(entry_uuid: UUID, status: str, event: str, staff=None) -> WaitlistEntry:
    for _ in range(3):
        try:
            return _end_entry_once(entry_uuid, status, event, staff)
        except _EntryMoved:
            continue
    raise WaitlistEntryClosed()


def _end_entry_once(entry_uuid: UUID, status: str, event: str, staff) -> WaitlistEntry:
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_related("ticket_type__event__function").get(
            uuid=entry_uuid
        )
        was = entry.status
        if was == Status.OFFERED and entry.offered_registration_id:
            # Registration -> holds -> ticket type (the release offers the seats on to
            # the next entry) -> this entry: the lock order of every writer.
            offer = lock_registration(entry.offered_registration_id)
            if offer is not None and offer.is_pending:
                holds.cancel_registration(offer.pk)
        elif was == Status.WAITING:
            # The row lock first (by the UPDATE), then the entry, as offers take them.
            inventory.leave_queue(entry.ticket_type)
        locked = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=entry.pk)
        if locked.status != was:
            raise _EntryMoved()  # rolls the count back; the retry sees the new status
        if not locked.is_active:
            raise WaitlistEntryClosed()
        locked.ticket_type = entry.ticket_type
        locked.status = status
        locked.ended_at = timezone.now()
        locked.save(update_fields=["status", "ended_at"])
        if staff is not None:
            audit.record(staff, audit.Action.WAITLIST_REMOVE, locked, email=locked.email, was=was)
        waitlist_changed_on_commit(locked, event)
    return locked


def _enqueue_joined_mail(entry: WaitlistEntry) -> None:
    outbox.enqueue(
        JOINED_MAIL,
        to=entry.email,
        subject=f"{entry.ticket_type.event.function.name}: you are on the waiting list",
        context={"entry": str(entry.uuid)},
        about=f"waitlist:{entry.uuid}",
    )


def _enqueue_offer_mail(entry: WaitlistEntry) -> None:
    outbox.enqueue(
        OFFER_MAIL,
        to=entry.email,
        subject=f"{entry.ticket_type.event.function.name}: seats are yours to take",
        context={"entry": str(entry.uuid)},
        about=f"waitlist:{entry.uuid}",
    )


def render_mail(message: OutboxMessage) -> RenderedMessage:
    """Renderer of both waiting-list mails (registered in tickets/apps.py)."""
    entry = entry_of(message.context["entry"])
    function = entry.ticket_type.event.function
    link = entry_link(entry)
    seats = f"{entry.quantity} × {entry.ticket_type.name}"
    if message.kind == CANCELLED_MAIL:
        event = entry.ticket_type.event
        text = (
            f"Hello {entry.name},\n\n"
            f"{event.name} at {function.name} has been cancelled"
            f"{f': {event.cancellation_reason}' if event.cancellation_reason else '.'}\n"
            f"So its waiting list is closed, and your place for {seats} has ended. "
            "Nothing was charged.\n"
        )
    elif message.kind == OFFER_MAIL:
        text = (
            f"Hello {entry.name},\n\n"
            f"Seats came free for {function.name}: {seats} are held for you until "
            f"{timezone.localtime(entry.lapses_at):%-d %B %Y, %H:%M}.\n"
            f"Take them up here: {link}\n\n"
            "If you do not, they pass to the next person waiting.\n"
        )
    else:
        text = (
            f"Hello {entry.name},\n\n"
            f"You are on the waiting list for {seats} at {function.name}.\n"
            f"When seats come free they are held for you and we tell you at once. Your place, "
            f"and a button to leave the list: {link}\n"
        )
    return RenderedMessage(text=text)
