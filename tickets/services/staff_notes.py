"""Messages from the organisers to an event's door and kitchen pages (not to buyers).

As staff broadcasts to buyers (services.broadcasts): a row first, so pages opened later
show the recent ones, then a push after commit; refused whole when empty or too long;
audited as a sent message.
"""

from __future__ import annotations

import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets.models import Event, StaffNote
from tickets.services import audit
from tickets.services.broadcasts import message_text
from tickets.signals import staff_note_sent

SHOWN_FOR = datetime.timedelta(days=1)


def send(event: Event, text: str, *, sent_by: AbstractBaseUser) -> StaffNote:
    text = message_text(text)  # InvalidMessage when empty or over the limit
    with transaction.atomic():
        note = StaffNote.objects.create(event=event, text=text, sent_by=sent_by)
        audit.record(sent_by, audit.Action.SEND_MESSAGE, event, text=text, to="door and kitchen")
        transaction.on_commit(partial(_push, note), robust=True)
    return note


def recent(event: Event, limit: int = 3) -> list[StaffNote]:
    return list(
        event.staff_notes.filter(sent_at__gte=timezone.now() - SHOWN_FOR).order_by(
            "-sent_at", "-pk"
        )[:limit]
    )


def _push(note: StaffNote) -> None:
    staff_note_sent.send_robust(sender=StaffNote, note=note)
