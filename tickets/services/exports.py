"""Lists staff print or open for an event (docs/design.md §12): the door list (PDF), the
attendees (CSV, XLSX) and the dietary summary (CSV).

Every text cell of a spreadsheet goes through common.spreadsheets.safe_cell, so nothing a
buyer typed opens as a formula. Rows are read in one query (streamed in chunks) whatever
the size; `progress(done, total)` is called as rows are written, for the command's count.

"Table" is the lodge or delegation a seat was bought by (tables are not numbered yet,
docs/design.md §12): the door seats a lodge's people together.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from common.spreadsheets import safe_cell
from tickets.models import DietaryNeed, Event, Registration, Ticket
from tickets.services import kitchen
from tickets.services.checkin import label_of, valid_tickets

Progress = Callable[[int, int], None]
CHUNK = 500

ATTENDEE_COLUMNS = (
    "confirmation_number",
    "registration_type",
    "table",
    "last_name",
    "first_name",
    "title",
    "attendee_type",
    "lodge",
    "email",
    "phone",
    "ticket_type",
    "dietary_needs",
    "dietary_notes",
    "special_needs",
    "payment_status",
    "checked_in",
)


@dataclass(frozen=True)
class Seat:
    """One valid ticket of the event as the lists show it."""

    confirmation_number: str
    registration_type: str
    table: str
    last_name: str
    first_name: str
    title: str
    attendee_type: str
    lodge: str
    email: str
    phone: str
    ticket_type: str
    dietary_needs: str
    dietary_notes: str
    special_needs: str
    payment_status: str
    checked_in: str

    @property
    def name(self) -> str:
        if not (self.first_name or self.last_name):
            return "(unnamed seat)"
        return f"{self.last_name}, {self.first_name}".strip(", ")

    def row(self) -> list[object]:
        return [safe_cell(getattr(self, column)) for column in ATTENDEE_COLUMNS]


NEED_LABELS = dict(DietaryNeed.choices)
PAYMENT_LABELS = dict(Registration.PaymentStatus.choices)


def _tickets(event: Event):
    return (
        valid_tickets(event.pk)
        .select_related("attendee", "hold__ticket_type", "hold__registration")
        .annotate(seen=Count("check_ins", filter=Q(check_ins__event_id=event.pk)))
        .order_by("attendee__last_name", "attendee__first_name", "hold__registration", "pk")
    )


def seat_count(event: Event) -> int:
    return valid_tickets(event.pk).count()


def seats_of(event: Event) -> Iterator[Seat]:
    """Alphabetical by last name; unnamed seats (names still to come) first, by table."""
    for ticket in _tickets(event).iterator(chunk_size=CHUNK):
        yield _seat(ticket)


def _seat(ticket: Ticket) -> Seat:
    registration = ticket.hold.registration
    attendee = ticket.attendee
    return Seat(
        confirmation_number=registration.confirmation_number or "",
        registration_type=registration.get_registration_type_display(),
        table=label_of(registration),
        last_name=attendee.last_name if attendee else "",
        first_name=attendee.first_name if attendee else "",
        title=attendee.title if attendee else "",
        attendee_type=attendee.get_attendee_type_display() if attendee else "",
        lodge=(
            " ".join(p for p in (attendee.lodge_name, attendee.lodge_number) if p)
            if attendee
            else ""
        ),
        email=attendee.email if attendee else "",
        phone=attendee.phone if attendee else "",
        ticket_type=ticket.hold.ticket_type.name,
        dietary_needs=(
            ", ".join(NEED_LABELS.get(c, c) for c in (attendee.dietary_needs or ()))
            if attendee
            else ""
        ),
        dietary_notes=attendee.dietary_requirements if attendee else "",
        special_needs=attendee.special_needs if attendee else "",
        payment_status=PAYMENT_LABELS.get(registration.payment_status, ""),
        checked_in="yes" if ticket.seen else "",
    )


def _counting(seats: Iterator[Seat], total: int, progress: Progress | None) -> Iterator[Seat]:
    for done, seat in enumerate(seats, start=1):
        yield seat
        if progress and (done % CHUNK == 0 or done == total):
            progress(done, total)


# --- attendees: CSV and XLSX ----------------------------------------------------------------


def attendees_csv(event: Event, out: io.TextIOBase, progress: Progress | None = None) -> int:
    writer = csv.writer(out)
    writer.writerow(ATTENDEE_COLUMNS)
    written = 0
    for seat in _counting(seats_of(event), seat_count(event), progress):
        writer.writerow(seat.row())
        written += 1
    return written


def attendees_xlsx(event: Event, out: io.BufferedIOBase, progress: Progress | None = None) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="Attendees")
    sheet.append(list(ATTENDEE_COLUMNS))
    written = 0
    for seat in _counting(seats_of(event), seat_count(event), progress):
        sheet.append(seat.row())
        written += 1
    workbook.save(out)
    return written


# --- the dietary summary: CSV ---------------------------------------------------------------


def dietary_csv(event: Event, out: io.TextIOBase, progress: Progress | None = None) -> int:
    summary = kitchen.summary_of(event)
    writer = csv.writer(out)
    writer.writerow(["need", "expected", "arrived"])
    rows = [(need.label, need.expected, need.arrived) for need in summary.needs]
    rows += [(f"Other: {text}", n, arrived) for text, n, arrived in summary.other_notes]
    rows += [(f"Special: {text}", n, arrived) for text, n, arrived in summary.special_needs]
    rows += [("Unnamed seats", summary.unnamed, ""), ("All seats", summary.seats_expected, "")]
    for label, expected, arrived in rows:
        writer.writerow([safe_cell(label), expected, arrived])
    if progress:
        progress(len(rows), len(rows))
    return len(rows)


# --- the door list: PDF ---------------------------------------------------------------------


def door_list_pdf(event: Event, out: io.BufferedIOBase, progress: Progress | None = None) -> int:
    """Printable: name, ticket type, table, paid status and a box to tick, alphabetical."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    cell.fontSize, cell.leading = 8.5, 10
    total = seat_count(event)
    rows = [["", "Name", "Ticket", "Table", "Paid", "Conf. no."]]
    for seat in _counting(seats_of(event), total, progress):
        rows.append(
            [
                "in" if seat.checked_in else "[  ]",  # Helvetica has no ballot box
                Paragraph(_escape(seat.name), cell),
                Paragraph(_escape(seat.ticket_type), cell),
                Paragraph(_escape(seat.table), cell),
                seat.payment_status,
                seat.confirmation_number,
            ]
        )
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Door list: {event.name}",
    )
    table = Table(
        rows,
        colWidths=[8 * mm, 55 * mm, 38 * mm, 45 * mm, 22 * mm, 18 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f2f5")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    printed = timezone.localtime().strftime("%d %b %Y %H:%M")
    story = [
        Paragraph(_escape(f"{event.function.name}: {event.name}"), styles["Title"]),
        Paragraph(f"Door list · {total} seats · printed {printed}", styles["Normal"]),
        Spacer(1, 4 * mm),
        table,
    ]
    document.build(story)
    return total


def _escape(text: str) -> str:
    """reportlab's Paragraph reads a little markup; names are text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FORMATS = {
    # format: (writer, binary, file suffix, content type)
    "csv": (attendees_csv, False, "attendees.csv", "text/csv"),
    "xlsx": (
        attendees_xlsx,
        True,
        "attendees.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "pdf": (door_list_pdf, True, "door-list.pdf", "application/pdf"),
    "dietary-csv": (dietary_csv, False, "dietary.csv", "text/csv"),
}
