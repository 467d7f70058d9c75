"""What the kitchen sees of an event (docs/design.md §12): aggregates, never names.

Counts per dietary need (tickets.models.DietaryNeed), the "other" texts and special needs,
each expected (valid seats of the event) and arrived (checked in). One query however many
attendees. Who has a need is read only on request, for staff with
`tickets.see_dietary_names` (`names_with`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q

from tickets.models import DietaryNeed, Event
from tickets.services.checkin import valid_tickets


@dataclass(frozen=True)
class NeedCount:
    code: str
    label: str
    expected: int
    arrived: int


@dataclass(frozen=True)
class KitchenSummary:
    event_id: int
    seats_expected: int
    seats_arrived: int
    named: int
    unnamed: int
    needs: tuple[NeedCount, ...]
    # Free texts ("other" dietary notes, special needs) with how many: (text, expected, arrived).
    other_notes: tuple[tuple[str, int, int], ...]
    special_needs: tuple[tuple[str, int, int], ...]


def _seats(event: Event):
    return (
        valid_tickets(event.pk)
        .annotate(seen=Count("check_ins", filter=Q(check_ins__event_id=event.pk)))
        .values_list(
            "attendee_id",
            "attendee__dietary_needs",
            "attendee__dietary_requirements",
            "attendee__special_needs",
            "seen",
        )
    )


def _key(text: str) -> str:
    return " ".join(text.split()).capitalize()


def summary_of(event: Event) -> KitchenSummary:
    expected: Counter[str] = Counter()
    arrived: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    notes_in: Counter[str] = Counter()
    special: Counter[str] = Counter()
    special_in: Counter[str] = Counter()
    seats = arrived_seats = named = 0
    for attendee_id, needs, other_text, special_text, seen in _seats(event):
        seats += 1
        arrived_seats += bool(seen)
        if attendee_id is None:
            continue
        named += 1
        for code in set(needs or ()):
            if code in DietaryNeed.values:
                expected[code] += 1
                arrived[code] += bool(seen)
        if other_text.strip():
            notes[_key(other_text)] += 1
            notes_in[_key(other_text)] += bool(seen)
        if special_text.strip():
            special[_key(special_text)] += 1
            special_in[_key(special_text)] += bool(seen)
    return KitchenSummary(
        event_id=event.pk,
        seats_expected=seats,
        seats_arrived=arrived_seats,
        named=named,
        unnamed=seats - named,
        needs=tuple(
            NeedCount(need.value, need.label, expected[need.value], arrived[need.value])
            for need in DietaryNeed
        ),
        other_notes=tuple((text, n, notes_in[text]) for text, n in sorted(notes.items())),
        special_needs=tuple((text, n, special_in[text]) for text, n in sorted(special.items())),
    )


def names_with(event: Event, need: str) -> list[tuple[str, bool]]:
    """Who has `need` (a DietaryNeed code, or "special" for special needs) among the
    event's seats, with whether they have arrived. For staff allowed to see names only."""
    rows = (
        valid_tickets(event.pk)
        .filter(attendee__isnull=False)
        .select_related("attendee")
        .annotate(seen=Count("check_ins", filter=Q(check_ins__event_id=event.pk)))
        .order_by("attendee__last_name", "attendee__first_name", "pk")
    )
    found = []
    for ticket in rows:
        attendee = ticket.attendee
        has = (
            bool(attendee.special_needs.strip())
            if need == "special"
            else need in (attendee.dietary_needs or ())
        )
        if has:
            found.append((str(attendee), bool(ticket.seen)))
    return found
