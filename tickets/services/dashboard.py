"""The staff dashboard's figures for one function (docs/design.md §14): what has sold and
what is held, money in and still owed, the sales over time, the funnel, the check-ins and
the last broadcasts.

Cost stays flat: every figure comes from the ticket types' counters or from a fixed number
of aggregate queries (`QUERIES`, whatever the number of registrations), so a push costs the
same at 10 registrations as at 10,000 (tests/tickets/services/test_dashboard.py counts
them). People registering now are not here: they come from the presence store
(tickets.live.dashboard), which costs no query at all.

What the page and the socket draw of them (`sales_charts`, `presence_steps`) is here too,
so both render the same partials from the same values.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMinute
from django.utils import formats, timezone

from presence.store import PresenceCounts
from tickets.models import Broadcast, CheckIn, Function, Hold, Registration, TicketType
from tickets.services import charts
from tickets.services import funnel as funnel_service
from tickets.services.checkin import DOOR_PAYMENT_METHOD, valid_tickets_where
from tickets.services.tax import CENT, gst_included

# Who may open a function's dashboard (page and socket); superusers hold every permission.
DASHBOARD_PERMISSION = "tickets.view_dashboard"

# Ticket types, revenue, sales per minute, sales per day, the funnel (two), expected
# seats per event, check-ins per event and door, broadcasts.
QUERIES = 9
SALES_WINDOW_MINUTES = 60
RECENT_BROADCASTS = 5
NO_DOOR = "(no door)"
ZERO = Decimal("0.00")
PaymentStatus = Registration.PaymentStatus


@dataclass(frozen=True)
class TicketTypeFigures:
    id: int
    event_id: int
    event_name: str
    name: str
    capacity: int
    sold: int
    held: int
    available: int
    waiting: int


@dataclass(frozen=True)
class Revenue:
    """GST-inclusive amounts of confirmed registrations: `confirmed` is paid (or nothing
    to pay); `outstanding` is confirmed but still to be paid, by invoice or at the door."""

    confirmed: Decimal
    outstanding_invoice: Decimal
    outstanding_door: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.outstanding_invoice + self.outstanding_door

    @property
    def confirmed_gst(self) -> Decimal:
        return gst_included(self.confirmed)

    @property
    def outstanding_gst(self) -> Decimal:
        return gst_included(self.outstanding)


@dataclass(frozen=True)
class CheckInFigures:
    event_id: int
    event_name: str
    checked_in: int
    expected: int
    by_door: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class BroadcastLine:
    kind: str
    kind_label: str
    text: str
    sent_at: datetime.datetime


@dataclass(frozen=True)
class DashboardFigures:
    function_id: int
    read_at: datetime.datetime
    ticket_types: tuple[TicketTypeFigures, ...]
    revenue: Revenue
    # Seats sold per minute, oldest first: SALES_WINDOW_MINUTES buckets ending now.
    sales_per_minute: tuple[tuple[datetime.datetime, int], ...]
    # Seats sold per day over the sale's life (days with sales only), oldest first.
    sales_per_day: tuple[tuple[datetime.date, int], ...]
    funnel: funnel_service.Funnel
    check_ins: tuple[CheckInFigures, ...]
    broadcasts: tuple[BroadcastLine, ...]

    @property
    def version(self) -> int:
        """Microseconds of the read: a page keeps the newest figures whatever order pushes
        from several processes arrive in."""
        return int(self.read_at.timestamp() * 1_000_000)

    @property
    def sold_last_hour(self) -> int:
        return sum(n for _, n in self.sales_per_minute)


def figures_of(function: Function, now: datetime.datetime | None = None) -> DashboardFigures:
    """Everything the dashboard shows but presence, in QUERIES queries."""
    now = now or timezone.now()
    ticket_types = _ticket_types(function)
    return DashboardFigures(
        function_id=function.pk,
        read_at=now,
        ticket_types=ticket_types,
        revenue=_revenue(function),
        sales_per_minute=_sales_per_minute(function, now),
        sales_per_day=_sales_per_day(function),
        funnel=funnel_service.funnel_of(function),
        check_ins=_check_ins(function, ticket_types),
        broadcasts=_broadcasts(function),
    )


def _ticket_types(function: Function) -> tuple[TicketTypeFigures, ...]:
    rows = (
        TicketType.objects.filter(event__function=function)
        .order_by("event__position", "event__starts_at", "event_id", "position", "pk")
        .values("pk", "event_id", "event__name", "name", "capacity", "reserved", "sold", "waiting")
    )
    return tuple(
        TicketTypeFigures(
            id=row["pk"],
            event_id=row["event_id"],
            event_name=row["event__name"],
            name=row["name"],
            capacity=row["capacity"],
            sold=row["sold"],
            held=row["reserved"],
            available=max(row["capacity"] - row["reserved"] - row["sold"], 0),
            waiting=row["waiting"],
        )
        for row in rows
    )


def _money(condition: Q) -> Coalesce:
    return Coalesce(
        Sum("total_amount", filter=condition),
        ZERO,
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def _revenue(function: Function) -> Revenue:
    confirmed = Q(status=Registration.Status.CONFIRMED)
    owed = confirmed & Q(payment_status=PaymentStatus.PENDING)
    sums = Registration.objects.filter(function=function).aggregate(
        confirmed=_money(confirmed & Q(payment_status=PaymentStatus.PAID)),
        door=_money(owed & Q(payment_method=DOOR_PAYMENT_METHOD)),
        invoice=_money(owed & ~Q(payment_method=DOOR_PAYMENT_METHOD)),
    )
    # To the cent whatever the database hands back (SQLite's empty sum is a bare 0).
    cents = {name: Decimal(value).quantize(CENT) for name, value in sums.items()}
    return Revenue(
        confirmed=cents["confirmed"],
        outstanding_invoice=cents["invoice"],
        outstanding_door=cents["door"],
    )


def _sold_holds(function: Function):
    """Seats sold and still sold: confirmed holds of confirmed registrations."""
    return Hold.objects.filter(
        registration__function=function,
        registration__status=Registration.Status.CONFIRMED,
        status=Hold.Status.CONFIRMED,
    )


def _sales_per_minute(
    function: Function, now: datetime.datetime
) -> tuple[tuple[datetime.datetime, int], ...]:
    zone = timezone.get_current_timezone()
    last = now.astimezone(zone).replace(second=0, microsecond=0)
    first = last - datetime.timedelta(minutes=SALES_WINDOW_MINUTES - 1)
    rows = (
        _sold_holds(function)
        .filter(registration__confirmed_at__gte=first)
        .annotate(minute=TruncMinute("registration__confirmed_at", tzinfo=zone))
        .values("minute")
        .annotate(seats=Sum("seats"))
        .order_by()
    )
    seats = {row["minute"].astimezone(zone).replace(tzinfo=None): row["seats"] for row in rows}
    minutes = (first + datetime.timedelta(minutes=n) for n in range(SALES_WINDOW_MINUTES))
    return tuple((m, seats.get(m.replace(tzinfo=None), 0)) for m in minutes)


def _sales_per_day(function: Function) -> tuple[tuple[datetime.date, int], ...]:
    zone = timezone.get_current_timezone()
    rows = (
        _sold_holds(function)
        .annotate(day=TruncDate("registration__confirmed_at", tzinfo=zone))
        .values("day")
        .annotate(seats=Sum("seats"))
        .order_by("day")
    )
    return tuple((row["day"], row["seats"]) for row in rows if row["day"] is not None)


def _check_ins(
    function: Function, ticket_types: tuple[TicketTypeFigures, ...]
) -> tuple[CheckInFigures, ...]:
    """Per event with seats sold or anyone checked in: two grouped queries for them all
    (the events' names and order come with the ticket types)."""
    events = {t.event_id: t.event_name for t in ticket_types}
    expected = dict(
        valid_tickets_where(event__function=function)
        .values("event_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("event_id", "n")
    )
    doors: dict[int, list[tuple[str, int]]] = {}
    for row in (
        CheckIn.objects.filter(event__function=function)
        .values("event_id", "door")
        .annotate(n=Count("pk"))
        .order_by("event_id", "door")
    ):
        doors.setdefault(row["event_id"], []).append((row["door"] or NO_DOOR, row["n"]))
    return tuple(
        CheckInFigures(
            event_id=event_id,
            event_name=name,
            checked_in=sum(n for _, n in doors.get(event_id, ())),
            expected=expected.get(event_id, 0),
            by_door=tuple(doors.get(event_id, ())),
        )
        for event_id, name in events.items()
        if event_id in expected or event_id in doors
    )


def _broadcasts(function: Function) -> tuple[BroadcastLine, ...]:
    labels = dict(Broadcast.Kind.choices)
    rows = function.broadcasts.order_by("-sent_at", "-pk").values("kind", "text", "sent_at")
    return tuple(
        BroadcastLine(
            kind=row["kind"],
            kind_label=labels.get(row["kind"], row["kind"]),
            text=row["text"],
            sent_at=row["sent_at"],
        )
        for row in rows[:RECENT_BROADCASTS]
    )


# --- what the page and the socket draw (no queries: the caller read the figures) ---------


def sales_charts(figures: DashboardFigures) -> dict[str, str]:
    """The sales per minute (the last hour) and per day as SVG bar charts, each with the
    summary a screen reader gives."""
    per_minute = [
        charts.Bar(formats.time_format(minute, "H:i"), seats)
        for minute, seats in figures.sales_per_minute
    ]
    per_day = [
        charts.Bar(formats.date_format(day, "j M"), seats) for day, seats in figures.sales_per_day
    ]
    sold_days = sum(n for _, n in figures.sales_per_day)
    return {
        "per_minute": charts.bar_chart(
            per_minute,
            chart_id="dash-sales-chart",
            title="Seats sold per minute, the last hour",
            summary=(
                f"{figures.sold_last_hour} seats sold in the last hour; "
                f"the busiest minute sold {max((b.value for b in per_minute), default=0)}."
            ),
        ),
        "per_day": charts.bar_chart(
            per_day,
            chart_id="dash-sales-daily-chart",
            title="Seats sold per day",
            summary=f"{sold_days} seats sold over {len(per_day)} days with sales.",
        ),
    }


STEP_LABELS = dict(Registration.Step.choices)


def presence_steps(counts: PresenceCounts) -> list[tuple[str, int]]:
    """(step label, people) per step, in the wizard's order."""
    return [(STEP_LABELS.get(step, step), n) for step, n in counts.by_step]
