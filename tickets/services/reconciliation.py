"""Recompute seat counters from the holds table (and the waiting count from the waiting
list) and report (or repair) drift.

The system we replaced kept counters by trigger and by hand and drifted. Ours are only
written by guarded UPDATEs, so drift should never appear; this is how we would know.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from tickets.models import Hold, TicketType, WaitlistEntry
from tickets.services import inventory
from tickets.services.locking import lock_ticket_type


@dataclass(frozen=True)
class CounterCheck:
    ticket_type_id: int
    label: str
    capacity: int
    reserved: int
    sold: int
    expected_reserved: int
    expected_sold: int
    waiting: int = 0
    expected_waiting: int = 0

    @property
    def drifted(self) -> bool:
        return (self.reserved, self.sold, self.waiting) != (
            self.expected_reserved,
            self.expected_sold,
            self.expected_waiting,
        )


def _waiting_entries():
    # A subquery, not a second join: joined beside the holds it would multiply their sums.
    return (
        WaitlistEntry.objects.filter(
            ticket_type=OuterRef("pk"), status=WaitlistEntry.Status.WAITING
        )
        .order_by()
        .values("ticket_type")
        .annotate(people=Count("pk"))
        .values("people")
    )


def _with_expected(queryset):
    return queryset.annotate(
        expected_waiting=Coalesce(Subquery(_waiting_entries()), 0),
        expected_reserved=Coalesce(
            Sum("holds__seats", filter=Q(holds__status=Hold.Status.ACTIVE)), 0
        ),
        expected_sold=Coalesce(
            Sum("holds__seats", filter=Q(holds__status=Hold.Status.CONFIRMED)), 0
        ),
    )


def check_counters() -> list[CounterCheck]:
    """Every ticket type's stored counters beside those its holds imply (one query, one
    consistent snapshot)."""
    rows = _with_expected(TicketType.objects.select_related("event__function")).order_by("pk")
    return [
        CounterCheck(
            ticket_type_id=tt.pk,
            label=f"{tt.event.function.slug} / {tt.event.slug} / {tt.name}",
            capacity=tt.capacity,
            reserved=tt.reserved,
            sold=tt.sold,
            expected_reserved=tt.expected_reserved,
            expected_sold=tt.expected_sold,
            waiting=tt.waiting,
            expected_waiting=tt.expected_waiting,
        )
        for tt in rows
    ]


def fix_counters(ticket_type_id: int) -> bool:
    """Set one ticket type's counters to what its holds and waiting entries imply. False if
    the holds themselves exceed capacity (an oversell the CHECK constraint refuses to record)."""
    try:
        with transaction.atomic():
            ticket_type = lock_ticket_type(ticket_type_id)
            expected = _with_expected(TicketType.objects.filter(pk=ticket_type_id)).values(
                "expected_reserved", "expected_sold", "expected_waiting"
            )[0]
            inventory.reset_counters(
                ticket_type,
                reserved=expected["expected_reserved"],
                sold=expected["expected_sold"],
                waiting=expected["expected_waiting"],
            )
    except IntegrityError:
        return False
    return True
