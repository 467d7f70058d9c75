"""Steps a person takes in the browser tests, written once (Playwright locators)."""

from __future__ import annotations

from typing import Any


def fill_attendee(
    fieldset: Any,
    *,
    attending_as: str | None = None,
    title: str | None = None,
    first_name: str = "Alan",
    last_name: str = "Reid",
    email: str | None = "alan@example.com",
    phone: str | None = "0400 000 000",
    lodge: str | None = None,
) -> None:
    """Type one attendee's details into their fieldset of the attendee step; the type is
    chosen first, since it decides which fields show (lodge fields are for Masons)."""
    if attending_as is not None:
        fieldset.get_by_label("Attending as").select_option(attending_as)
    if title is not None:
        fieldset.get_by_label("Title").fill(title)
    fieldset.get_by_label("First name").fill(first_name)
    fieldset.get_by_label("Last name").fill(last_name)
    if email is not None:
        fieldset.get_by_label("Email").fill(email)
    if phone is not None:
        fieldset.get_by_label("Phone").fill(phone)
    if lodge is not None:
        fieldset.get_by_label("Lodge name").fill(lodge)
