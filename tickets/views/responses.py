"""Responses the ticket views share: the 303 after a POST and the URL of a wizard step.

Refusals are rendered by common.errors (error_page, error_json, error_text)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.urls import reverse

from tickets.models import Registration

Step = Registration.Step

STEP_URL_NAMES = {
    Step.TICKET_SELECTION: "tickets:registration-tickets",
    Step.ATTENDEE_DETAILS: "tickets:registration-attendees",
    Step.REVIEW: "tickets:registration-review",
    Step.PAYMENT: "tickets:registration-payment",
    Step.CONFIRMATION: "tickets:registration-confirmation",
}


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, GET the next page (a reload never re-submits)."""

    status_code = 303


def step_url(registration: Registration, step: str | None = None) -> str:
    return reverse(STEP_URL_NAMES[step or registration.step], kwargs={"pk": registration.pk})
