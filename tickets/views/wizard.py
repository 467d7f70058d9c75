"""The registration wizard: one view per step, each kept to the steps it may show."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.buyers import buyer_key_of
from common.errors import DomainError, error_page
from tickets.forms import (
    AttendeeFormSet,
    ContactForm,
    PaymentForm,
    attendee_draft_from_post,
    attendee_initial,
    contact_draft_from_post,
    ticket_rules_of,
)
from tickets.models import Registration
from tickets.services import broadcasts, confirmation_mail, issued_tickets, names, payments
from tickets.services import holds as hold_service
from tickets.services import registrations as wizard
from tickets.services.access import granted_token, manage_token_is_valid
from tickets.services.availability import catalogue_of
from tickets.services.exceptions import InvalidFields, TicketingError
from tickets.services.registrations import StepAccess
from tickets.views.responses import HttpResponseSeeOther, step_url

Step = Registration.Step


def owned_registration(request: HttpRequest, pk: UUID) -> Registration:
    """The registration, if this browser owns it: it opened it (its buyer key), or it
    opened the registration's manage link and that link has not been reissued since."""
    buyer_key = buyer_key_of(request.session)
    granted = granted_token(request.session, pk)
    registration = (
        Registration.objects.select_related("function").filter(pk=pk).first()
        if buyer_key or granted
        else None
    )
    # Someone else's registration is indistinguishable from one that does not exist.
    if registration is None or not (
        (buyer_key and registration.buyer_key == buyer_key)
        or (granted and manage_token_is_valid(registration, granted))
    ):
        raise Http404("No such registration")
    return registration


def registration_step(step: str) -> Callable:
    """Load the buyer's registration and keep them on a step they may see."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, pk: UUID) -> HttpResponse:
            registration = owned_registration(request, pk)
            if registration.hold_has_expired:
                # Do not wait for the sweeper to tell the buyer the truth.
                hold_service.expire_registration(registration.pk)
                registration.refresh_from_db()
            access = wizard.step_access(registration, step)
            if access is StepAccess.CONFIRMATION:
                return HttpResponseSeeOther(step_url(registration, Step.CONFIRMATION))
            if access is StepAccess.CLOSED:
                return _render_closed(request, registration)
            if access is StepAccess.CURRENT_STEP:
                return HttpResponseSeeOther(step_url(registration))
            return view(request, registration)

        return wrapper

    return decorator


def _wizard_context(registration: Registration, step: str, **extra: Any) -> dict[str, Any]:
    holds = wizard.current_holds(registration)
    return {
        # The page's own timer warns two minutes before the hold expires (countdown.js);
        # the offer to extend goes with it while the one extension is unused.
        "hold_extendable": registration.is_pending and registration.hold_extended_at is None,
        "registration": registration,
        "function": registration.function,
        "broadcasts": broadcasts.recent_broadcasts(registration.function),
        "cancelled": broadcasts.cancelled_lines_of(registration),
        "holds": holds,
        "package_lines": list(wizard.package_lines_of(holds).values()),
        "total": wizard.total_of(holds),
        "steps": [
            (
                label,
                step_url(registration, value)
                if registration.is_pending and registration.has_reached(value)
                else None,
                value == step,
            )
            for value, label in Step.choices
        ],
        **extra,
    }


def _render_step(
    request: HttpRequest,
    registration: Registration,
    step: str,
    template: str,
    error: DomainError | None = None,
    **extra: Any,
) -> HttpResponse:
    """A step's page; with `error`, the refusal shown on it (and its status)."""
    context = _wizard_context(registration, step, **extra)
    if error is not None:
        return error_page(request, template, context, error)
    return render(request, template, context)


def _render_closed(request: HttpRequest, registration: Registration) -> HttpResponse:
    return render(
        request,
        "tickets/wizard/closed.html",
        {"registration": registration, "function": registration.function},
    )


@require_GET
def registration_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    registration = owned_registration(request, pk)
    return HttpResponseSeeOther(step_url(registration))


@require_http_methods(["GET", "POST"])
@registration_step(Step.TICKET_SELECTION)
def ticket_selection(request: HttpRequest, registration: Registration) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            wizard.continue_to_attendee_details(registration.pk)
            return HttpResponseSeeOther(step_url(registration, Step.ATTENDEE_DETAILS))
        except TicketingError as refusal:
            error = refusal
    return render_ticket_step(request, registration, error)


@require_http_methods(["GET", "POST"])
@registration_step(Step.ATTENDEE_DETAILS)
def attendee_details(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Individuals name every attendee and seat them; lodges and delegations give a
    contact now and names later."""
    events = wizard.holds_by_event(wizard.current_holds(registration))
    data = request.POST if request.method == "POST" else None
    if data is not None:
        # Kept before anything can refuse the step, so an expiry loses nothing typed.
        wizard.save_attendee_draft(
            registration.pk,
            {
                "attendees": attendee_draft_from_post(data, events, "attendees"),
                "contact": contact_draft_from_post(data, "contact"),
            },
        )
        registration.refresh_from_db(fields=["attendee_draft"])
    contact_form = formset = None
    if registration.registration_type == Registration.Type.INDIVIDUAL:
        formset = AttendeeFormSet(
            data,
            initial=attendee_initial(wizard.attendee_drafts(registration, events)),
            # Who each ticket type is for, read once for every attendee's form.
            form_kwargs={"events": events, "rules": ticket_rules_of(events)},
            prefix="attendees",
        )
    else:
        contact_form = ContactForm(
            data,
            registration_type=registration.registration_type,
            initial=wizard.contact_initial(registration, list(ContactForm.base_fields)),
            prefix="contact",
        )
    error = None
    if data is not None:
        if all(form.is_valid() for form in (contact_form, formset) if form is not None):
            try:
                wizard.save_attendee_details(
                    registration.pk,
                    contact_form.details() if contact_form else wizard.ContactDetails(),
                    [form.details() for form in formset.forms] if formset else [],
                )
                return HttpResponseSeeOther(step_url(registration, Step.REVIEW))
            except TicketingError as refusal:
                error = refusal
        else:
            error = InvalidFields()
    return _render_step(
        request,
        registration,
        Step.ATTENDEE_DETAILS,
        "tickets/wizard/attendee_details.html",
        error=error,
        contact_form=contact_form,
        formset=formset,
        field_errors=_field_errors(contact_form, formset),
    )


def _field_errors(
    contact_form: forms.Form | None, formset: forms.BaseFormSet | None
) -> list[tuple[str, str]]:
    """The error summary at the top of the step: (field id, "label: message") for each
    field in error, so each entry can link to its field."""
    found: list[tuple[str, str]] = []
    if contact_form is not None and contact_form.is_bound:
        found += [
            (field.id_for_label, f"{field.label}: {field.errors[0]}")
            for field in contact_form
            if field.errors
        ]
    if formset is not None and formset.is_bound:
        for index, form in enumerate(formset.forms):
            for message in form.non_field_errors():
                found.append((f"attendee-{index + 1}", f"Attendee {index + 1}: {message}"))
            found += [
                (field.id_for_label, f"Attendee {index + 1}, {field.label}: {field.errors[0]}")
                for field in form
                if field.errors
            ]
    return found


@require_http_methods(["GET", "POST"])
@registration_step(Step.REVIEW)
def review(request: HttpRequest, registration: Registration) -> HttpResponse:
    if request.method == "POST":
        try:
            wizard.continue_to_payment(registration.pk)
            return HttpResponseSeeOther(step_url(registration, Step.PAYMENT))
        except TicketingError as refusal:
            return _render_step(
                request, registration, Step.REVIEW, "tickets/wizard/review.html", error=refusal
            )
    attendees = registration.attendees.prefetch_related(
        "tickets__event", "tickets__hold__ticket_type"
    )
    return _render_step(
        request, registration, Step.REVIEW, "tickets/wizard/review.html", attendees=attendees
    )


@require_http_methods(["GET", "POST"])
@registration_step(Step.PAYMENT)
def payment(request: HttpRequest, registration: Registration) -> HttpResponse:
    form = PaymentForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        method = request.POST.get("method", "")
        try:
            confirmed, redirect_url = payments.checkout(registration, method)
        except TicketingError as refusal:
            error = refusal
        else:
            return HttpResponseSeeOther(redirect_url or step_url(confirmed, Step.CONFIRMATION))
    return _render_step(
        request,
        registration,
        Step.PAYMENT,
        "tickets/wizard/payment.html",
        error=error,
        form=form,
        providers=payments.offers(registration.function),
    )


@require_POST
def extend(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The one extension of a hold, offered by the two-minute warning. Answers JSON to the
    page's script (`Accept: application/json`), else a redirect back to the step."""
    registration = owned_registration(request, pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        registration = wizard.extend_hold(registration.pk)
    except TicketingError as refusal:
        registration.refresh_from_db()
        if wants_json:
            return JsonResponse(
                {
                    "error": refusal.message,
                    "code": refusal.code,
                    "expires_at": registration.expires_at.isoformat(),
                },
                status=refusal.http_status,
            )
        return error_page(
            request,
            "tickets/wizard/extend_refused.html",
            {
                "registration": registration,
                "function": registration.function,
                "back": step_url(registration),
            },
            refusal,
        )
    if wants_json:
        return JsonResponse({"expires_at": registration.expires_at.isoformat()})
    return HttpResponseSeeOther(step_url(registration))


@require_GET
@registration_step(Step.CONFIRMATION)
def confirmation(request: HttpRequest, registration: Registration) -> HttpResponse:
    if registration.status != Registration.Status.CONFIRMED:
        return HttpResponseSeeOther(step_url(registration))
    holds = wizard.current_holds(registration)
    tickets = issued_tickets.issued_tickets(registration)
    return _render_step(
        request,
        registration,
        Step.CONFIRMATION,
        "tickets/wizard/confirmation.html",
        events=wizard.holds_by_event(holds),
        tickets_by_event=issued_tickets.by_event(tickets),
        has_unnamed=any(not ticket.named for ticket in tickets),
        names_open=names.names_open(registration.function),
        names_due=names.names_due(registration.function),
        mailed_elsewhere=any(
            issued_tickets.has_own_address(ticket.attendee_email, registration.contact_email)
            for ticket in tickets
        ),
        payment_instructions=confirmation_mail.payment_instructions(
            registration, wizard.total_of(holds)
        ),
    )


def render_ticket_step(
    request: HttpRequest, registration: Registration, error: DomainError | None, **extra: object
) -> HttpResponse:
    """The wizard's ticket step, with a refusal on it if any: one renderer for the step's
    own view and for the hold view's refused additions."""
    return _render_step(
        request,
        registration,
        Step.TICKET_SELECTION,
        "tickets/wizard/ticket_selection.html",
        error=error,
        catalogue=catalogue_of(registration.function),
        registration_type=registration.registration_type,
        **extra,
    )
