"""Lookups the selection page needs that Django templates cannot say by themselves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template

from tickets.models import SEATS_PER_LODGE_TABLE, TicketType
from tickets.services import eligibility
from tickets.services.holds import LineRefusal, by_table

register = template.Library()


@register.filter
def lookup(mapping: Mapping | None, key: Any) -> Any:
    """`{{ typed|lookup:ticket_type.pk }}`: what was typed for this line, if anything."""
    return (mapping or {}).get(key, "")


@register.filter
def refusal_for(refusals: Iterable[LineRefusal] | None, ticket_type_id: int) -> str:
    """The message of a refused line, beside its quantity field."""
    for refusal in refusals or ():
        if refusal.ticket_type_id == ticket_type_id:
            return refusal.message
    return ""


@register.filter
def counted_by_table(ticket_type: TicketType, registration_type: str) -> bool:
    return by_table(registration_type, ticket_type)


@register.filter
def tables(seats: int) -> int:
    """Whole tables in a number of seats."""
    return seats // SEATS_PER_LODGE_TABLE


@register.simple_tag
def seats_per_table() -> int:
    return SEATS_PER_LODGE_TABLE


@register.filter
def not_offered_to(ticket_type: TicketType, registration_type: str | None) -> str:
    """Why this kind of registration is not offered the ticket type ("" if it is)."""
    if not registration_type:
        return ""
    return eligibility.registration_type_refusal(registration_type, ticket_type)


@register.filter
def offered_to(ticket_type: TicketType) -> str:
    """Who a limited ticket type is for, by attendee and registration type ("Masons
    only"); its grand lodges are said where attendees are seated (the attendee step)."""
    rules = eligibility.Rules(
        ticket_type_id=ticket_type.pk,
        name=ticket_type.name,
        attendee_types=tuple(ticket_type.eligible_attendee_types or ()),
        registration_types=tuple(ticket_type.eligible_registration_types or ()),
    )
    return " · ".join(eligibility.describe(rules))
