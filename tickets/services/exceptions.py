"""Domain exceptions. Each carries the message an attendee or staff member is shown."""

from __future__ import annotations


class TicketingError(Exception):
    """A rule of the domain refused the request; `message` is safe to show to the user."""

    default_message = "That could not be done."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotEnoughAvailable(TicketingError):
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


class UnknownTicketType(TicketingError):
    default_message = "That ticket type is not part of this function."


class SalesClosed(TicketingError):
    default_message = "Tickets of this type are not on sale right now."


class EventCancelled(TicketingError):
    default_message = "This event has been cancelled; its tickets can no longer be bought."


class QuantityOutOfRange(TicketingError):
    pass


class RegistrationClosed(TicketingError):
    default_message = "This registration is no longer open for changes."


class RegistrationTypeMismatch(TicketingError):
    pass


class HoldLapsed(TicketingError):
    default_message = (
        "Your hold on these tickets lapsed and the seats have since gone to someone else."
    )


class CapacityBelowCommitted(TicketingError):
    def __init__(self, ticket_type_name: str, committed: int) -> None:
        self.committed = committed
        super().__init__(
            f"Capacity of {ticket_type_name} cannot go below {committed}: that many seats "
            "are already held or sold."
        )


class StepNotReached(TicketingError):
    default_message = "Finish the earlier steps of your registration first."


class SeatsBusy(TicketingError):
    """The seat counter stayed locked past the lock timeout: the queue for it is too long
    (a rush) or another transaction is stuck. Refused at once rather than piling up."""

    default_message = (
        "Tickets are selling fast and we could not reach yours in time; nothing was held. "
        "Please try again in a moment."
    )
