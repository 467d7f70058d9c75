"""The .ics of an event parses with icalendar and says when and where, in UTC."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from tests.support.documents import calendar_events
from tickets.documents.calendar import event_ics
from tickets.documents.values import CalendarEntry

SYDNEY = ZoneInfo("Australia/Sydney")


def test_one_event_in_utc_with_its_uid_summary_location_and_description() -> None:
    starts = datetime.datetime(2027, 3, 6, 18, 30, tzinfo=SYDNEY)
    entry = CalendarEntry(
        uid="event-7@lodgetix.example",
        summary="Grand Proclamation: Banquet",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=4),
        location="Sydney Town Hall, 483 George St",
        description="Registration IND-ABC123",
        url="https://lodgetix.example/functions/gp/",
    )
    content = event_ics(entry, stamped_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC))

    [event] = calendar_events(content)
    assert str(event["uid"]) == "event-7@lodgetix.example"
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtstart").utcoffset() == datetime.timedelta(0)
    assert event.decoded("dtend") == starts + datetime.timedelta(hours=4)
    assert str(event["summary"]) == "Grand Proclamation: Banquet"
    assert str(event["location"]) == "Sydney Town Hall, 483 George St"
    assert "IND-ABC123" in str(event["description"])
    assert b"DTSTART:20270306T073000Z" in content
