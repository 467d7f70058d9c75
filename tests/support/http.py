"""HTTP helpers for tests that drive the hold form and the wizard through Django's client."""

from __future__ import annotations

import uuid

from django.urls import reverse


def unique_address() -> str:
    # Rate-limit buckets live in the shared cache: each test counts on its own address.
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def hold_url(function) -> str:
    return reverse("tickets:hold-create", kwargs={"slug": function.slug})


def post_hold(client, ticket_type, quantity: int = 1, *, address: str | None = None, **fields):
    """POST the hold form for one line; `address` as the client's REMOTE_ADDR."""
    data = {"ticket_type": ticket_type.pk, "quantity": quantity, **fields}
    extra = {"REMOTE_ADDR": address} if address else {}
    return client.post(hold_url(ticket_type.event.function), data, **extra)


def admin_action(client, model: str, name: str, *pks, **fields):
    """Run an admin action of the tickets app on the selected objects (following redirects)."""
    return client.post(
        reverse(f"admin:tickets_{model}_changelist"),
        {"action": name, "_selected_action": list(pks), **fields},
        follow=True,
    )


def body_of(response, status: int) -> str:
    """The page a response carries, once it has answered `status`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()
