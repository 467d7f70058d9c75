"""Absolute links for outgoing mail, which is rendered away from any request."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` (from reverse()) on the configured SITE_URL."""
    return f"{settings.SITE_URL}{path}"
