"""Test data for the staff dashboard: many registrations, as rows."""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone

from tickets.models import Hold, Registration, TicketType


def many_registrations(ticket_type: TicketType, count: int) -> None:
    """`count` confirmed registrations of one seat each (rows only: no wizard)."""
    now = timezone.now()
    registrations = Registration.objects.bulk_create(
        (
            Registration(
                function=ticket_type.event.function,
                status=Registration.Status.CONFIRMED,
                step=Registration.Step.CONFIRMATION,
                furthest_step=Registration.Step.CONFIRMATION,
                buyer_key=uuid.uuid4().hex,
                expires_at=now,
                confirmed_at=now - datetime.timedelta(minutes=n % 90),
                payment_status=Registration.PaymentStatus.PAID,
                total_amount=ticket_type.price,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    Hold.objects.bulk_create(
        (
            Hold(
                registration=r,
                ticket_type=ticket_type,
                seats=1,
                unit_price=ticket_type.price,
                status=Hold.Status.CONFIRMED,
                expires_at=now,
            )
            for r in registrations
        ),
        batch_size=1000,
    )
