"""Taking seats and giving them back: the hold form, one line back, the whole
registration back."""

from __future__ import annotations

import contextlib
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.buyers import ensure_buyer_key
from common.client import client_address
from common.errors import refusal_page
from tickets.forms import HoldForm
from tickets.models import Function, Registration
from tickets.services import holds as hold_service
from tickets.services.exceptions import (
    HoldAlreadyReleased,
    RegistrationClosed,
    TicketingError,
    TooManyHolds,
)
from tickets.throttling import check_hold_rate
from tickets.views.catalogue import render_function_page
from tickets.views.responses import HttpResponseSeeOther, step_url
from tickets.views.wizard import owned_registration

Step = Registration.Step


@require_POST
def hold_create(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        check_hold_rate(request)
    except TooManyHolds as refusal:
        # A page with a way back and when to retry (a person double-clicking reads it),
        # rendered without a query: whoever sends this fast may be a script.
        back = reverse("tickets:function-detail", args=[slug])
        return refusal_page(
            refusal, "429.html", {"back_url": back, "back_label": "Back to the function"}
        )
    function = get_object_or_404(Function, slug=slug, published=True)
    form = HoldForm(request.POST)
    if not form.is_valid():
        return render_function_page(request, function, hold_form=form, status=400)
    try:
        hold = hold_service.hold_tickets(
            hold_service.HoldRequest(
                buyer_key=ensure_buyer_key(request),
                function=function,
                ticket_type_id=form.cleaned_data["ticket_type"],
                quantity=form.cleaned_data["quantity"],
                registration_type=form.cleaned_data["registration_type"],
                user_id=request.user.pk if request.user.is_authenticated else None,
                client_address=client_address(request),
            )
        )
    except TicketingError as refusal:
        return render_function_page(request, function, error=refusal)
    return HttpResponseSeeOther(step_url(hold.registration, Step.TICKET_SELECTION))


@require_POST
def hold_remove(request: HttpRequest, pk: UUID, hold_id: int) -> HttpResponse:
    registration = owned_registration(request, pk)
    # Already gone (or the registration closed meanwhile): the page shows what is held.
    with contextlib.suppress(HoldAlreadyReleased, RegistrationClosed):
        hold_service.release_hold(registration.pk, hold_id)
    return HttpResponseSeeOther(step_url(registration, Step.TICKET_SELECTION))


@require_POST
def registration_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    registration = owned_registration(request, pk)
    with contextlib.suppress(RegistrationClosed):  # already over: the page shows the state
        hold_service.cancel_registration(registration.pk)
    return HttpResponseSeeOther(registration.function.get_absolute_url())
