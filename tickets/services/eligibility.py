"""Who may take a ticket type (docs/design.md §15): the one place the rules live.

A ticket type may be limited to attendee types, registration types and grand lodges;
an empty list means anyone. The services ask here:

- at hold time, the registration type (`check_registration_type`, from services.holds);
- when attendees are given tickets, the attendee type and the grand lodge of their lodge
  (`check_attendee`, from services.registrations and services.names).

Pages ask the same functions for the reason a ticket is not offered, so what a page says
and what the service refuses cannot drift apart.

`check_registration_type` takes anything with a `name` and `eligible_registration_types`
(a ticket type, a package), so other offers reuse it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tickets.models import Attendee, Registration, TicketType
from tickets.services.exceptions import NotEligible

# How a rule names the people it admits ("for Masons only").
ATTENDEE_TYPE_PLURALS = {
    Attendee.Type.MASON: "Masons",
    Attendee.Type.GUEST: "guests",
    Attendee.Type.LADY_PARTNER: "lady partners",
    Attendee.Type.GUEST_PARTNER: "guest partners",
}
REGISTRATION_TYPE_PLURALS = {
    Registration.Type.INDIVIDUAL: "individual registrations",
    Registration.Type.LODGE: "lodge registrations",
    Registration.Type.DELEGATION: "delegations",
}


class LimitedByRegistrationType(Protocol):
    """An offer limited by registration type: a ticket type, a package."""

    name: str
    eligible_registration_types: list[str]


@dataclass(frozen=True)
class Rules:
    """A ticket type's rules, read once (its grand lodges are a many-to-many)."""

    ticket_type_id: int
    name: str
    attendee_types: tuple[str, ...] = ()
    registration_types: tuple[str, ...] = ()
    # (id, abbreviation) of each grand lodge admitted.
    grand_lodges: tuple[tuple[int, str], ...] = ()

    @property
    def open_to_anyone(self) -> bool:
        return not (self.attendee_types or self.registration_types or self.grand_lodges)


def _listed(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _for_only(name: str, who: str) -> str:
    return f"{name} is for {who} only."


# --- registration type (hold time) ---------------------------------------------------------


def registration_type_refusal(registration_type: str, offer: LimitedByRegistrationType) -> str:
    """Why a registration of this type may not hold the offer; "" when it may."""
    allowed = offer.eligible_registration_types or ()
    if not allowed or registration_type in allowed:
        return ""
    who = _listed([REGISTRATION_TYPE_PLURALS.get(t, t) for t in allowed])
    return _for_only(offer.name, who)


def check_registration_type(registration_type: str, offer: LimitedByRegistrationType) -> None:
    """Raise NotEligible (409) when a registration of this type may not hold the offer."""
    reason = registration_type_refusal(registration_type, offer)
    if reason:
        raise NotEligible(reason)


# --- attendee type and grand lodge (attendees given tickets) -------------------------------


def rules_for(ticket_types: Iterable[TicketType]) -> dict[int, Rules]:
    """The rules of each ticket type by id: one query for all their grand lodges."""
    ticket_types = list(ticket_types)
    through = TicketType.eligible_grand_lodges.through
    grand_lodges: dict[int, list[tuple[int, str]]] = {}
    rows = (
        through.objects.filter(tickettype_id__in=[tt.pk for tt in ticket_types])
        .order_by("grandlodge__abbreviation")
        .values_list("tickettype_id", "grandlodge_id", "grandlodge__abbreviation")
    )
    for ticket_type_id, grand_lodge_id, abbreviation in rows:
        grand_lodges.setdefault(ticket_type_id, []).append((grand_lodge_id, abbreviation))
    return {
        tt.pk: Rules(
            ticket_type_id=tt.pk,
            name=tt.name,
            attendee_types=tuple(tt.eligible_attendee_types or ()),
            registration_types=tuple(tt.eligible_registration_types or ()),
            grand_lodges=tuple(grand_lodges.get(tt.pk, ())),
        )
        for tt in ticket_types
    }


def attendee_refusal(rules: Rules, attendee_type: str, grand_lodge_id: int | None) -> str:
    """Why this attendee may not take the ticket type; "" when they may. `grand_lodge_id`
    is that of their lodge as matched to the list (None: no lodge, or one not listed)."""
    if rules.attendee_types and attendee_type not in rules.attendee_types:
        who = _listed([ATTENDEE_TYPE_PLURALS.get(t, t) for t in rules.attendee_types])
        return _for_only(rules.name, who)
    if rules.grand_lodges and grand_lodge_id not in {pk for pk, _ in rules.grand_lodges}:
        who = f"members of lodges under {_listed([a for _, a in rules.grand_lodges])}"
        reason = _for_only(rules.name, who)
        if grand_lodge_id is None:
            reason += " Choose your lodge from the list so we can tell."
        return reason
    return ""


def check_attendee(
    rules: Rules, attendee_type: str, grand_lodge_id: int | None, who: str = ""
) -> None:
    """Raise NotEligible (409) when this attendee may not take the ticket type; `who`
    ("Attendee 2") starts the message when several people are checked at once."""
    reason = attendee_refusal(rules, attendee_type, grand_lodge_id)
    if reason:
        raise NotEligible(f"{who}: {reason}" if who else reason)


def describe(rules: Rules) -> list[str]:
    """What a page says of a limited ticket type, one phrase per rule ("Masons only")."""
    phrases = []
    if rules.attendee_types:
        phrases.append(
            f"{_listed([ATTENDEE_TYPE_PLURALS.get(t, t) for t in rules.attendee_types])} only"
        )
    if rules.registration_types:
        phrases.append(
            f"{_listed([REGISTRATION_TYPE_PLURALS.get(t, t) for t in rules.registration_types])}"
            " only"
        )
    if rules.grand_lodges:
        phrases.append(f"{_listed([a for _, a in rules.grand_lodges])} lodges only")
    return [phrase[0].upper() + phrase[1:] for phrase in phrases]
