"""Ways back in to a registration (docs/design.md §10): the signed manage link."""

from __future__ import annotations

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from common.links import absolute_url
from tickets.models import Registration

_MANAGE_SALT = "lodgetix.manage-link"


def manage_token(registration: Registration) -> str:
    """Signed for this registration and its current key: reissuing the key (a new
    `manage_key`) revokes every earlier link."""
    value = f"{registration.pk}:{registration.manage_key}"
    return salted_hmac(_MANAGE_SALT, value, algorithm="sha256").hexdigest()[:40]


def manage_token_is_valid(registration: Registration, token: str) -> bool:
    return constant_time_compare(manage_token(registration), token)


def manage_path(registration: Registration) -> str:
    return reverse(
        "tickets:registration-manage",
        kwargs={"pk": registration.pk, "token": manage_token(registration)},
    )


def manage_url(registration: Registration) -> str:
    return absolute_url(manage_path(registration))
