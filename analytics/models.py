"""Captured interactions (docs/design.md §6): one row per thing a person or the server
did, in the `user_interactions` table.

The table is written in bulk (COPY on PostgreSQL, see services.storage) and read by
time range, so it carries as few indexes as that needs: the unique client event id that
makes a resent batch harmless, and a time-range index on `occurred_at`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from analytics.indexes import TimeRangeIndex


def _reference(to: str) -> models.ForeignKey:
    # Analytics rows point at domain rows without database constraints or indexes: an
    # FK check is an index probe per inserted row on the hot insert path, and an index
    # per reference would cost every insert for the rare staff query that filters by it
    # (those come with a time range, which the BRIN index serves). Ids are resolved from
    # the database before insert, so they are real when written; deleting a referenced
    # row leaves the id dangling instead of scanning this table (DO_NOTHING).
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class Interaction(models.Model):
    """One captured action: who (session, user), where (page, function, event), what
    (action and data) and when."""

    class Source(models.TextChoices):
        CLIENT = "client", "Browser"
        SERVER = "server", "Server"

    # The sender's id of this interaction. A batch re-sent after a lost response (or by
    # both fetch and beacon) carries the same ids and is stored once.
    uuid = models.UUIDField(unique=True)
    action = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CLIENT)
    # When the client's clock says it happened; `occurred_at` is the same moment corrected
    # for that clock's skew (the batch's sent_at against the server's receipt time).
    client_timestamp = models.DateTimeField()
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # A keyed hash of the session key: links one session's interactions without storing
    # a credential that would let anyone reading analytics take over the session.
    session_id = models.CharField(max_length=64, blank=True)
    # The same kind of hash of the browser's CSRF cookie, which every page sets on the
    # first visit: it links a visitor's interactions from their first page view, before
    # any session exists (a session starts when they hold tickets), until they log in.
    visitor_id = models.CharField(max_length=64, blank=True)
    user = _reference(settings.AUTH_USER_MODEL)
    page_url = models.CharField(max_length=2048, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    function = _reference("tickets.Function")
    event = _reference("tickets.Event")
    registration = _reference("tickets.Registration")

    class Meta:
        db_table = "user_interactions"
        indexes = [TimeRangeIndex(fields=["occurred_at"], name="interaction_occurred_at")]

    def __str__(self) -> str:
        return f"{self.action} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
