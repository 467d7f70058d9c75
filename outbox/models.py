"""The outbox: every message the product sends, kept whether or not it went out."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One message to one address. Only what the renderer needs to build it (`context`)
    is stored, not the body: the message is rendered when it is delivered, so a resend
    carries the registration as it is now, and writing the row costs the sale nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        # No mail server configured (EMAIL_URL unset): shown on the console, sent to no
        # one. Staff resend it once a server is configured.
        PRINTED = "printed", "Printed to the console only"
        FAILED = "failed", "Gave up"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Names the renderer (outbox.renderers.register), e.g. "confirmation".
    kind = models.CharField(max_length=40)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    context = models.JSONField(default=dict, blank=True)
    # What the message is about, for staff searching the outbox: "registration:<uuid>".
    about = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the sender may next try it. A sender that takes a message moves this ahead
    # (its lease), so no other sender takes it meanwhile (outbox.delivery).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sender looks for pending rows that are due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="outbox_due"
            ),
        ]
        permissions = [("resend_message", "Can resend outgoing mail")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
