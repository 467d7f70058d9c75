"""Forgetting the people of registrations nobody finished (README, "What is kept").

An expired registration, or one cancelled before it was ever confirmed, keeps its
contact's and attendees' names, emails, phones and dietary notes for
PERSONAL_DATA_RETENTION_DAYS (long enough to answer "what happened to my booking?"),
then they are blanked. What the funnel and the books need stays: status, type, steps,
seats, amounts, times, and the lodge or delegation named (an organisation, not a person).
Confirmed registrations - even cancelled later, with a refund due - are kept whole.
Waiting-list entries that ended (taken up, lapsed, left, removed) lose their name and email
after the same time; their place, quantity and times stay for the funnel.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets.models import Attendee, Registration, WaitlistEntry

CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")
ATTENDEE_FIELDS = Attendee.PERSONAL_FIELDS
# Dietary needs say something of a person's health: blanked with the rest.
ATTENDEE_LIST_FIELDS = ("dietary_needs",)


@dataclass(frozen=True)
class Forgotten:
    registrations: int
    attendees: int
    waitlist_entries: int = 0


def unsold_before(before: datetime.datetime) -> QuerySet[Registration]:
    """Registrations that expired, or were cancelled unconfirmed, before `before`."""
    return Registration.objects.filter(
        Q(status=Registration.Status.EXPIRED, expires_at__lt=before)
        | Q(
            status=Registration.Status.CANCELLED,
            confirmed_at__isnull=True,
            updated_at__lt=before,
        )
    )


def forget_unsold(before: datetime.datetime) -> Forgotten:
    """Blank the personal data of registrations that ended unsold before `before`; how many rows
    still had some. Safe to repeat: rows already blank are not touched again."""
    unsold = unsold_before(before)
    with transaction.atomic():
        attendees = (
            Attendee.objects.filter(registration__in=unsold.values("pk"))
            .exclude(**_blank_attendee())
            .update(**_blank_attendee())
        )
        # update(), not save(): no signal, and updated_at stays when it ended. The attendee
        # draft (what was typed on the attendee step) is personal data too.
        registrations = unsold.exclude(
            **{field: "" for field in CONTACT_FIELDS}, attendee_draft={}
        ).update(**{field: "" for field in CONTACT_FIELDS}, attendee_draft={})
        waitlist_entries = (
            WaitlistEntry.objects.exclude(status__in=WaitlistEntry.ACTIVE_STATUSES)
            .filter(ended_at__lt=before)
            .exclude(name="", email="")
            .update(name="", email="")
        )
    return Forgotten(
        registrations=registrations, attendees=attendees, waitlist_entries=waitlist_entries
    )


def _blank_attendee() -> dict[str, object]:
    return {field: "" for field in ATTENDEE_FIELDS} | {field: [] for field in ATTENDEE_LIST_FIELDS}


def forget_unsold_on_schedule() -> str | None:
    """The housekeeping job: forget what ended unsold more than the retention ago."""
    days = settings.PERSONAL_DATA_RETENTION_DAYS
    if days <= 0:
        return None  # kept for good: the operator turned it off
    forgotten = forget_unsold(timezone.now() - datetime.timedelta(days=days))
    if not (forgotten.registrations or forgotten.attendees or forgotten.waitlist_entries):
        return None
    return (
        f"blanked the people of {forgotten.registrations} registration(s), "
        f"{forgotten.attendees} attendee(s) and {forgotten.waitlist_entries} waiting-list "
        f"entr{'y' if forgotten.waitlist_entries == 1 else 'ies'} that ended unsold over "
        f"{days} days ago"
    )
