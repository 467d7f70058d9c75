"""An attendee's structured dietary needs as people read them: `{{ attendee|dietary }}`
gives "Vegan, Other: no onion"."""

from __future__ import annotations

from django import template

from tickets.models import Attendee, DietaryNeed

register = template.Library()


@register.filter
def dietary(attendee: Attendee) -> str:
    labels = dict(DietaryNeed.choices)
    parts = []
    for code in attendee.dietary_needs or ():
        if code == DietaryNeed.OTHER:
            text = attendee.dietary_requirements
            parts.append(f"{labels[code]}: {text}" if text else labels[code])
        elif code in labels:
            parts.append(labels[code])
    if not attendee.dietary_needs and attendee.dietary_requirements:
        parts.append(attendee.dietary_requirements)  # typed before needs were structured
    return ", ".join(parts)
