"""The audit trail of staff actions on money and seats (docs/design.md §16).

Services call `record` inside the transaction that makes the change, so an entry exists
exactly when the change committed. Nothing updates or deletes entries.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from tickets.models import AuditEntry

Action = AuditEntry.Action


def record(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model,
    **details: Any,
) -> AuditEntry:
    """One entry: `actor` did `action` to `target`; `details` must be JSON-serialisable."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        details=details,
    )
