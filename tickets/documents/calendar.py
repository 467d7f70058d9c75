"""Calendar entries (.ics) for events, written with the icalendar library."""

from __future__ import annotations

import datetime

import icalendar

from tickets.documents.values import CalendarEntry

_PRODID = "-//LodgeTix Live//Tickets//EN"


def event_ics(entry: CalendarEntry, *, stamped_at: datetime.datetime) -> bytes:
    """One VCALENDAR with one VEVENT; times in UTC so every calendar agrees on them."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamped_at.astimezone(datetime.UTC))
    event.add("dtstart", entry.starts_at.astimezone(datetime.UTC))
    event.add("dtend", entry.ends_at.astimezone(datetime.UTC))
    event.add("summary", entry.summary)
    if entry.location:
        event.add("location", entry.location)
    event.add("description", entry.description)
    if entry.url:
        event.add("url", entry.url)
    calendar.add_component(event)
    return calendar.to_ical()
