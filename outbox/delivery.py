"""Delivering the outbox: render each due message and hand it to Django's mail backend.

A first, minimal sender; retries with backoff, claims and the loop build on it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.renderers import render


def build_email(message: OutboxMessage) -> EmailMultiAlternatives:
    rendered = render(message)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": f"<{message.pk}@lodgetix>"},
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    for attachment in rendered.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    return email


def deliver_due(limit: int = 50) -> int:
    """Send up to `limit` due messages; returns how many went out."""
    sent = 0
    due = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at")[:limit]
    with get_connection() as connection:
        for message in due:
            try:
                connection.send_messages([build_email(message)])
            except Exception as error:
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                message.save(update_fields=["attempts", "last_error"])
                continue
            message.status = OutboxMessage.Status.SENT
            message.attempts += 1
            message.sent_at = timezone.now()
            message.save(update_fields=["status", "attempts", "sent_at"])
            sent += 1
    return sent
