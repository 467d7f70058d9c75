"""Domain exceptions of ticketing. Each carries the message an attendee or staff member
is shown, a stable `code` and the HTTP status it is answered with (common.errors)."""

from __future__ import annotations

from common.errors import DomainError, RateLimited


class TicketingError(DomainError):
    """A rule of the domain refused the request; `message` is safe to show to the user.

    Raise a subclass: its code is what callers (and tests) tell refusals apart by."""

    code = "ticketing_error"
    http_status = 400


# --- buying: the state of the world refuses (409) ------------------------------------------


class NotEnoughAvailable(TicketingError):
    code = "not_enough_available"
    http_status = 409

    def __init__(self, ticket_type_name: str, requested: int, available: int) -> None:
        self.requested = requested
        self.available = available
        if available <= 0:
            message = f"{ticket_type_name} has just sold out."
        else:
            message = (
                f"Only {available} {'seat is' if available == 1 else 'seats are'} left for "
                f"{ticket_type_name}; you asked for {requested}."
            )
        super().__init__(message)


class SalesClosed(TicketingError):
    code = "sales_closed"
    http_status = 409
    default_message = "Tickets of this type are not on sale right now."


class EventCancelled(TicketingError):
    code = "event_cancelled"
    http_status = 409
    default_message = "This event has been cancelled; its tickets can no longer be bought."


class RegistrationClosed(TicketingError):
    code = "registration_closed"
    http_status = 409
    default_message = "This registration is no longer open for changes."


class RegistrationTypeMismatch(TicketingError):
    """The buyer already has an open registration of another kind for the function."""

    code = "registration_type_mismatch"
    http_status = 409


class HoldExpired(TicketingError):
    code = "hold_expired"
    http_status = 409
    default_message = (
        "Your hold on these tickets expired and the seats have since gone to someone else."
    )


class SeatsBusy(TicketingError):
    """The seat counter stayed locked past the lock timeout: the queue for it is too long
    (a rush) or another transaction is stuck. Refused at once rather than piling up."""

    code = "seats_busy"
    http_status = 409
    default_message = (
        "Tickets are selling fast and we could not reach yours in time; nothing was held. "
        "Please try again in a moment."
    )


class HoldAlreadyReleased(TicketingError):
    code = "hold_already_released"
    http_status = 409
    default_message = "That selection has already been given back."


# --- abuse limits: seats taken for nothing (409) -------------------------------------------


class AddressHoldLimit(TicketingError):
    """One client address already holds HOLD_SEATS_PER_IP seats of the function: fresh
    sessions are free, so the address is what bounds one source's holds."""

    code = "address_hold_limit"
    http_status = 409

    def __init__(self, limit: int, held: int, requested: int) -> None:
        self.limit = limit
        self.held = held
        super().__init__(
            f"At most {limit} seats of this function can be held from one network at once; "
            f"{held} already are and you asked for {requested}. Finish or cancel a "
            "registration in progress, or contact the organisers to book for a larger group."
        )


class UnpaidSeatLimit(TicketingError):
    """Pay-later (invoice, at the door) would take a buyer or a contact email past the
    function's unpaid_seat_limit."""

    code = "unpaid_seat_limit"
    http_status = 409

    def __init__(self, limit: int, unpaid: int, requested: int) -> None:
        self.limit = limit
        self.unpaid = unpaid
        super().__init__(
            f"Pay later is limited to {limit} unpaid seats per person for this function; "
            f"you already have {unpaid} and this registration has {requested}. Please pay "
            "by card, or contact the organisers to arrange a larger booking."
        )


# --- buying: the request is wrong (400) / too frequent (429) -------------------------------


class UnknownTicketType(TicketingError):
    code = "unknown_ticket_type"
    default_message = "That ticket type is not part of this function."


class QuantityOutOfRange(TicketingError):
    """A quantity outside the ticket type's per-order (or per-registration) limits."""

    code = "quantity_out_of_range"


class TooManyHolds(RateLimited):
    """Past the hold rate limit (tickets.throttling)."""

    code = "too_many_holds"
    default_message = (
        "Too many ticket selections in a short time; please wait a moment and try again."
    )


# --- the registration wizard ---------------------------------------------------------------


class StepNotReached(TicketingError):
    code = "step_not_reached"
    http_status = 409
    default_message = "Finish the earlier steps of your registration first."


class NothingSelected(TicketingError):
    """The registration holds no tickets, and the step needs some."""

    code = "nothing_selected"
    http_status = 409
    default_message = "Select at least one ticket first."


class InvalidFields(TicketingError):
    """A wizard form did not validate; the fields say what is wrong."""

    code = "invalid_fields"
    default_message = "Please correct the highlighted fields."


class InvalidAttendees(TicketingError):
    """The attendees named do not fit the seats held (count, one ticket per event,
    partners)."""

    code = "invalid_attendees"


class PaymentMethodRequired(TicketingError):
    code = "payment_method_required"
    default_message = "Choose how you would like to pay."


class HoldAlreadyExtended(TicketingError):
    """A hold is extended at most once (docs/design.md §3.7): a buyer who needs longer again is
    keeping seats from everyone else."""

    code = "hold_already_extended"
    http_status = 409
    default_message = (
        "Your hold has already been extended once and cannot be extended again; please "
        "finish your registration before the countdown ends."
    )


class AnotherRegistrationOpen(TicketingError):
    """An expired registration cannot come back while the buyer has started another for
    the same function (one pending registration per buyer)."""

    code = "another_registration_open"
    http_status = 409
    default_message = (
        "You have started another registration for this function since this one expired; "
        "continue with that one."
    )


class ConfirmationNumberUnavailable(TicketingError):
    """Five random draws collided in a space of 676 million: retrying is the answer."""

    code = "confirmation_number_unavailable"
    http_status = 409
    default_message = "Could not issue a confirmation number; please try again."


# --- staff ---------------------------------------------------------------------------------


class CapacityBelowCommitted(TicketingError):
    code = "capacity_below_committed"
    http_status = 409

    def __init__(self, ticket_type_name: str, committed: int) -> None:
        self.committed = committed
        super().__init__(
            f"Capacity of {ticket_type_name} cannot go below {committed}: that many seats "
            "are already held or sold."
        )


class CancelThroughAction(TicketingError):
    """An event's status edited to or from cancelled: only broadcasts.cancel_event
    cancels (it releases holds and tells attendees), and nothing reopens."""

    code = "cancel_through_action"
    default_message = (
        "Use the “Cancel events” action to cancel an event (it releases holds and tells "
        "attendees); a cancelled event cannot be reopened."
    )


class EventAlreadyCancelled(TicketingError):
    code = "event_already_cancelled"
    http_status = 409


class RegistrationHasSeats(TicketingError):
    """Deleting a registration that holds or bought seats would strand them: the counters
    would still count seats no hold accounts for. Cancel it instead (seats go back)."""

    code = "registration_has_seats"
    http_status = 409
    default_message = (
        "This registration holds or bought seats; cancel it (its seats go back) instead of "
        "deleting it."
    )


class InvalidMessage(TicketingError):
    """A staff message that is empty or too long."""

    code = "invalid_message"


# --- ways back in: the manage link and "find my registration" (services.access) ----------


class TooManyFinds(RateLimited):
    """Past the "find my registration" limit for this client address or email address."""

    code = "too_many_finds"
    default_message = (
        "Too many requests for registration links in a short time; please wait and try "
        "again. If you asked already, the message may be on its way."
    )


# --- the door (issue 14) ---------------------------------------------------------------------


class InvalidScan(TicketingError):
    """A check-in request naming neither a ticket code nor a registration, or both, or
    one that cannot be read."""

    code = "invalid_scan"
    http_status = 400
    default_message = "Send a ticket code (code=…) or a registration (registration=…)."


class NothingToPayAtDoor(TicketingError):
    """Marking paid at the door a registration that owes nothing there."""

    code = "nothing_to_pay_at_door"
    http_status = 409
    default_message = "This registration has nothing to pay at the door."


# --- waiting list (design §13) --------------------------------------------------------------


class InvalidWaitlistRequest(TicketingError):
    """A join with a missing or malformed field (quantity, name, email)."""

    code = "invalid_waitlist_request"
    http_status = 400


class SeatsStillAvailable(TicketingError):
    """Joining a list while the seats wanted can simply be bought."""

    code = "seats_available"
    http_status = 409

    def __init__(self, ticket_type_name: str, available: int) -> None:
        self.available = available
        super().__init__(
            f"{available} {'seat is' if available == 1 else 'seats are'} still available for "
            f"{ticket_type_name}: you can buy them now instead of waiting."
        )


class WaitlistClosed(TicketingError):
    code = "waitlist_closed"
    http_status = 409
    default_message = "The waiting list for these tickets is closed: nobody new can join it."


class AlreadyWaiting(TicketingError):
    code = "already_waiting"
    http_status = 409
    default_message = (
        "This email address is already on the waiting list for these tickets; the mail we "
        "sent has the link to your place."
    )


class WaitlistEntryClosed(TicketingError):
    """Leaving or claiming an entry that is no longer waiting or offered."""

    code = "waitlist_entry_closed"
    http_status = 409
    default_message = "This place on the waiting list is no longer open."


class OfferNotClaimable(TicketingError):
    code = "offer_not_claimable"
    http_status = 409
    default_message = (
        "This offer is no longer open: it lapsed or was taken up, and the seats have passed on."
    )


class PeopleWaiting(TicketingError):
    """extend_hold while people wait for the seats: the extra time would be theirs."""

    code = "people_waiting"
    http_status = 409
    default_message = (
        "People are waiting for these tickets, so this hold cannot be extended. Finish now "
        "to keep your seats."
    )


# --- names later (design §11) ---------------------------------------------------------------


class NamesClosed(TicketingError):
    """Names were due by the function's `names_due_at` (or its start): the page is read-only."""

    code = "names_closed"
    http_status = 403
    default_message = (
        "Names for this function are closed: the due date has passed, so the seats can no "
        "longer be changed here. Contact the organisers for any change."
    )


class SeatNamedMeanwhile(TicketingError):
    """The seat changed since the page showing it was read (its version moved on): the
    save is refused and nothing is overwritten; `ticket` is what is stored now."""

    code = "seat_named_meanwhile"
    http_status = 409
    default_message = "Someone else named this seat a moment ago: here is what they saved."

    def __init__(self, ticket: object) -> None:
        self.ticket = ticket
        super().__init__()


class UnknownSeat(TicketingError):
    code = "unknown_seat"
    http_status = 404
    default_message = "There is no such seat on this registration."


class InvalidSeatDetails(TicketingError):
    """The attendee fields of a seat do not validate; `errors` maps field -> message."""

    code = "invalid_seat_details"
    default_message = "Please correct the highlighted fields."

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__()


class ShareLinkNotOffered(TicketingError):
    code = "share_link_not_offered"
    default_message = "Only lodge and delegation registrations have a share link for their seats."


# --- eligibility and lodges (design §15) ----------------------------------------------------


class NotEligible(TicketingError):
    """A ticket type (or package) is limited to some attendee types, registration types or
    grand lodges, and this request is not one of them; the message says who it is for."""

    code = "not_eligible"
    http_status = 409
    default_message = "That ticket is not offered to you."


class TooManyLodgeSearches(RateLimited):
    code = "too_many_lodge_searches"
    default_message = "Too many lodge searches in a short time; wait a moment and try again."


class InvalidLodgeMerge(TicketingError):
    code = "invalid_lodge_merge"
    http_status = 400


# --- packages (docs/design.md §15) ----------------------------------------------------------


class UnknownPackage(TicketingError):
    code = "unknown_package"
    http_status = 400
    default_message = "That package is not sold for this function."


class PackageNotOffered(TicketingError):
    """The package is not open to the buyer's registration type."""

    code = "package_not_offered"
    http_status = 409


class PackageOverlap(TicketingError):
    """One registration holds a ticket type either on its own or inside one package line,
    never both: a line's seats then always belong to exactly one price."""

    code = "package_overlap"
    http_status = 409


class PackageUnavailable(TicketingError):
    """Too few seats of one or more items for the packages asked for; nothing was held.
    `available` is how many of the package could be held now."""

    code = "package_unavailable"
    http_status = 409

    def __init__(self, package_name: str, requested: int, available: int, short: list[str]):
        self.requested = requested
        self.available = available
        self.short = short
        if available <= 0:
            message = f"{package_name} has just sold out ({', '.join(short)})."
        else:
            message = (
                f"Only {available} of {package_name} {'is' if available == 1 else 'are'} "
                f"left; you asked for {requested}. Nothing was held."
            )
        super().__init__(message)
