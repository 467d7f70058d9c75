"""The plain values the documents are drawn from (built by services.confirmation_mail)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Organiser:
    name: str
    abn: str


@dataclass(frozen=True)
class InvoiceLine:
    description: str  # "Banquet: Dinner ticket"
    quantity_label: str  # "3 seats" / "2 tables (20 seats)"
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class TaxInvoice:
    number: str
    issued_on: datetime.date
    organiser: Organiser
    function_name: str
    buyer_name: str
    buyer_email: str
    buyer_organisation: str
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    gst: Decimal
    payment_note: str


@dataclass(frozen=True)
class TicketCard:
    """One page of the tickets PDF."""

    code: str
    function_name: str
    event_name: str
    when: str  # already formatted in the function's time zone
    where: str
    holder: str  # attendee name, or "Unnamed seat (lodge table 2)"
    ticket_type: str
    confirmation_number: str


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    summary: str
    starts_at: datetime.datetime  # aware
    ends_at: datetime.datetime  # aware
    location: str
    description: str
    url: str
