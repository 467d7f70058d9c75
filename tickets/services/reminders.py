"""The pay-later reminder at half time (docs/design.md §16).

A registration confirmed to pay later (invoice, at the door) is reminded once, by mail,
when half of its time to pay has gone: the sweeper's housekeeping looks every
HOUSEKEEPING_INTERVAL, so the reminder goes within that of half time. "Once" is the
outbox's own record: a reminder row about the registration, written with the registration
locked, so two sweepers (two hosts) cannot both write one.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.renderers import RenderedMessage
from tickets.models import Registration
from tickets.services import access, confirmation_mail, unpaid
from tickets.services.locking import lock_registration

PAYMENT_REMINDER = "payment_reminder"


def half_time(registration: Registration) -> datetime.datetime:
    return registration.confirmed_at + (registration.payment_due_at - registration.confirmed_at) / 2


def remind_unpaid_at_half_time(now: datetime.datetime | None = None) -> int:
    """Write a reminder for every unpaid registration past half time and not reminded
    yet; how many were written."""
    now = now or timezone.now()
    unpaid_now = Registration.objects.filter(
        status=Registration.Status.CONFIRMED,
        payment_status=unpaid.PENDING_PAYMENT,
        payment_due_at__gt=now,
        confirmed_at__isnull=False,
    ).exclude(contact_email="")
    due = [
        r for r in unpaid_now.only("pk", "confirmed_at", "payment_due_at") if half_time(r) <= now
    ]
    reminded = set(
        OutboxMessage.objects.filter(
            kind=PAYMENT_REMINDER, about__in=[confirmation_mail.about(r) for r in due]
        ).values_list("about", flat=True)
    )
    written = 0
    for candidate in due:
        if confirmation_mail.about(candidate) in reminded:
            continue
        with transaction.atomic():
            registration = lock_registration(candidate.pk)
            if registration is None or not unpaid.is_unpaid(registration):
                continue  # paid, cancelled or expired meanwhile
            about = confirmation_mail.about(registration)
            if OutboxMessage.objects.filter(kind=PAYMENT_REMINDER, about=about).exists():
                continue  # another sweeper wrote it first
            outbox.enqueue(
                PAYMENT_REMINDER,
                to=registration.contact_email,
                subject=(
                    f"{registration.function.name}: registration "
                    f"{registration.confirmation_number} is still to be paid"
                ),
                context={"registration": str(registration.pk)},
                about=about,
            )
            written += 1
    return written


def remind_on_schedule() -> str | None:
    """The housekeeping job."""
    written = remind_unpaid_at_half_time()
    return f"wrote {written} payment reminder(s)" if written else None


def render_payment_reminder(message: OutboxMessage) -> RenderedMessage:
    registration = Registration.objects.select_related("function").get(
        pk=message.context["registration"]
    )
    total = registration.total_amount
    due = timezone.localtime(registration.payment_due_at)
    if not unpaid.is_unpaid(registration):
        # Paid (or ended) after the reminder was written: say so rather than ask again.
        text = (
            f"Registration {registration.confirmation_number} for {registration.function.name} "
            "needs nothing more from you.\n"
        )
        return RenderedMessage(text=text)
    text = (
        f"Hello {registration.contact_name or 'there'},\n\n"
        f"Registration {registration.confirmation_number} for {registration.function.name} "
        f"is confirmed but not paid yet. Unless it is paid by {due:%-d %B %Y, %H:%M}, it "
        "lapses and its seats go back on sale.\n\n"
        f"{confirmation_mail.payment_instructions(registration, total)}\n\n"
        f"Your registration: {access.manage_url(registration)}\n"
    )
    return RenderedMessage(text=text)
