"""Pages and the availability API. Views translate HTTP to service calls and back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import wraps
from itertools import groupby
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.buyers import buyer_key_of, ensure_buyer_key
from tickets.forms import AttendeeFormSet, ContactForm, HoldForm, PaymentForm
from tickets.models import Event, Function, Registration
from tickets.services import broadcasts, payments
from tickets.services import holds as hold_service
from tickets.services import registrations as wizard
from tickets.services.availability import catalogue_of
from tickets.services.exceptions import (
    EventCancelled,
    HoldLapsed,
    NotEnoughAvailable,
    RegistrationClosed,
    RegistrationTypeMismatch,
    SalesClosed,
    SeatsBusy,
    TicketingError,
)
from tickets.services.registrations import AttendeeDetails
from tickets.throttling import hold_rate_limit

Step = Registration.Step

# Refusals that are about the state of the world, not the request: 409 Conflict.
CONFLICTS = (
    NotEnoughAvailable,
    SalesClosed,
    EventCancelled,
    RegistrationClosed,
    RegistrationTypeMismatch,
    HoldLapsed,
    SeatsBusy,
)

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


# --- public pages ------------------------------------------------------------------------


@require_GET
def function_list(request: HttpRequest) -> HttpResponse:
    functions = Function.objects.filter(published=True)
    return render(request, "tickets/function_list.html", {"functions": functions})


@require_GET
def function_detail(request: HttpRequest, slug: str) -> HttpResponse:
    function = get_object_or_404(Function, slug=slug, published=True)
    # Every visitor gets a buyer identity up front: presence counts people, not tabs.
    ensure_buyer_key(request)
    return _render_function_page(request, function)


@require_POST
def hold_create(request: HttpRequest, slug: str) -> HttpResponse:
    limited = hold_rate_limit(request)
    if not limited.allowed:
        return _too_many_holds(limited.retry_after)
    function = get_object_or_404(Function, slug=slug, published=True)
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _render_function_page(request, function, hold_form=form, status=400)
    try:
        hold = hold_service.hold_tickets(
            hold_service.HoldRequest(
                buyer_key=ensure_buyer_key(request),
                function=function,
                ticket_type_id=form.cleaned_data["ticket_type"],
                quantity=form.cleaned_data["quantity"],
                registration_type=form.cleaned_data["registration_type"],
                user_id=request.user.pk if request.user.is_authenticated else None,
            )
        )
    except TicketingError as refusal:
        status = 409 if isinstance(refusal, CONFLICTS) else 400
        return _render_function_page(request, function, refusal=refusal.message, status=status)
    return HttpResponseSeeOther(step_url(hold.registration, Step.TICKET_SELECTION))


def _too_many_holds(retry_after: int) -> HttpResponse:
    response = HttpResponse(
        "Too many ticket selections in a short time; please wait a moment and try again.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry_after)
    return response


@require_GET
def availability_api(request: HttpRequest, slug: str) -> JsonResponse:
    function = get_object_or_404(Function, slug=slug, published=True)
    events = [
        {
            "id": event.pk,
            "slug": event.slug,
            "status": event.status,
            "ticket_types": [
                {
                    "id": tt.pk,
                    "name": tt.name,
                    "price": str(tt.price),
                    "capacity": a.capacity,
                    "available": a.available,
                    "reserved": a.reserved,
                    "sold": a.sold,
                    "version": a.version,
                }
                for tt, a in offers
            ],
        }
        for event, offers in catalogue_of(function)
    ]
    return JsonResponse({"function": function.slug, "events": events})


def _render_function_page(
    request: HttpRequest,
    function: Function,
    *,
    hold_form: HoldForm | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> HttpResponse:
    open_registration = _open_registration_of(request, function)
    if open_registration is not None:
        registration_type = open_registration.registration_type
    else:
        requested = request.GET.get("as") or request.POST.get("registration_type")
        registration_type = (
            requested if requested in Registration.Type.values else Registration.Type.INDIVIDUAL
        )
    context = {
        "function": function,
        "catalogue": catalogue_of(function),
        "broadcasts": broadcasts.recent_broadcasts(function),
        "open_registration": open_registration,
        "registration_type": registration_type,
        "registration_types": Registration.Type.choices,
        "hold_form": hold_form,
        "refusal": refusal,
    }
    return render(request, "tickets/function_detail.html", context, status=status)


@require_GET
def function_details(request: HttpRequest, slug: str) -> HttpResponse:
    """The function's details fragment, for the "see what changed" link of an update."""
    function = get_object_or_404(Function, slug=slug, published=True)
    return render(request, "tickets/partials/function_details.html", {"function": function})


@require_GET
def event_details(request: HttpRequest, slug: str, event_id: int) -> HttpResponse:
    """An event's details fragment, for the "see what changed" link of an update."""
    event = get_object_or_404(
        Event.objects.exclude(status=Event.Status.DRAFT),
        pk=event_id,
        function__slug=slug,
        function__published=True,
    )
    return render(request, "tickets/partials/event_details.html", {"event": event})


def _open_registration_of(request: HttpRequest, function: Function) -> Registration | None:
    buyer_key = buyer_key_of(request.session)
    if buyer_key is None:
        return None
    return Registration.objects.filter(
        buyer_key=buyer_key, function=function, status=Registration.Status.PENDING
    ).first()


# --- the registration wizard ---------------------------------------------------------------


def _owned_registration(request: HttpRequest, pk: UUID) -> Registration:
    buyer_key = buyer_key_of(request.session)
    registration = (
        Registration.objects.select_related("function").filter(pk=pk).first() if buyer_key else None
    )
    # Someone else's registration is indistinguishable from one that does not exist.
    if registration is None or registration.buyer_key != buyer_key:
        raise Http404("No such registration")
    return registration


def registration_step(step: str) -> Callable:
    """Load the buyer's registration and keep them on a step they may see."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, pk: UUID) -> HttpResponse:
            registration = _owned_registration(request, pk)
            if registration.hold_has_lapsed:
                # Do not wait for the sweeper to tell the buyer the truth.
                hold_service.abandon_lapsed_registration(registration.pk)
                registration.refresh_from_db()
            if registration.status == Registration.Status.CONFIRMED:
                if step != Step.CONFIRMATION:
                    return HttpResponseSeeOther(step_url(registration, Step.CONFIRMATION))
            elif registration.status == Registration.Status.CANCELLED or (
                # A lapsed registration can still try to pay: confirm re-takes the seats
                # if nobody else has them.
                registration.status == Registration.Status.ABANDONED and step != Step.PAYMENT
            ):
                return _render_closed(request, registration)
            elif not registration.has_reached(step):
                return HttpResponseSeeOther(step_url(registration))
            return view(request, registration)

        return wrapper

    return decorator


def _wizard_context(registration: Registration, step: str, **extra) -> dict:
    holds = wizard.current_holds(registration)
    return {
        "registration": registration,
        "function": registration.function,
        "broadcasts": broadcasts.recent_broadcasts(registration.function),
        "cancelled": broadcasts.cancelled_lines_of(registration),
        "holds": holds,
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


def _render_step(request, registration, step, template, status=200, **extra) -> HttpResponse:
    context = _wizard_context(registration, step, **extra)
    return render(request, template, context, status=status)


def _render_closed(request: HttpRequest, registration: Registration) -> HttpResponse:
    return render(
        request,
        "tickets/wizard/closed.html",
        {"registration": registration, "function": registration.function},
    )


@require_GET
def registration_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    registration = _owned_registration(request, pk)
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
            error = refusal.message
    return _render_step(
        request,
        registration,
        Step.TICKET_SELECTION,
        "tickets/wizard/ticket_selection.html",
        status=409 if error else 200,
        error=error,
        catalogue=catalogue_of(registration.function),
        registration_type=registration.registration_type,
    )


@require_POST
def hold_remove(request: HttpRequest, pk: UUID, hold_id: int) -> HttpResponse:
    registration = _owned_registration(request, pk)
    with contextlib.suppress(TicketingError):  # already gone: the page shows what is held
        hold_service.release_hold(registration.pk, hold_id)
    return HttpResponseSeeOther(step_url(registration, Step.TICKET_SELECTION))


@require_http_methods(["GET", "POST"])
@registration_step(Step.ATTENDEE_DETAILS)
def attendee_details(request: HttpRequest, registration: Registration) -> HttpResponse:
    """Individuals name every attendee and seat them; lodges and delegations give a
    contact now and names later."""
    events = _holds_by_event(wizard.current_holds(registration))
    data = request.POST if request.method == "POST" else None
    contact_form = formset = None
    if registration.registration_type == Registration.Type.INDIVIDUAL:
        formset = AttendeeFormSet(
            data,
            initial=_attendee_initial(registration, events),
            form_kwargs={"events": events},
            prefix="attendees",
        )
    else:
        contact_form = ContactForm(
            data,
            registration_type=registration.registration_type,
            initial={name: getattr(registration, name) for name in ContactForm.base_fields},
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
                error = refusal.message
        else:
            error = "Please correct the highlighted fields."
    return _render_step(
        request,
        registration,
        Step.ATTENDEE_DETAILS,
        "tickets/wizard/attendee_details.html",
        status=400 if error else 200,
        error=error,
        contact_form=contact_form,
        formset=formset,
    )


def _holds_by_event(holds):
    return [
        (event, list(group)) for event, group in groupby(holds, key=lambda h: h.ticket_type.event)
    ]


def _attendee_initial(registration: Registration, events) -> list[dict]:
    """Saved attendees, or as many blank rows as the busiest event has seats."""
    saved = list(
        registration.attendees.select_related("partner_of").prefetch_related("tickets__hold")
    )
    if saved:
        return [
            {
                **{name: getattr(a, name) for name in AttendeeDetails.SAVED_FIELDS},
                "partner_of": str(a.partner_of.position - 1) if a.partner_of_id else "",
                **{f"ticket_{t.event_id}": str(t.hold.ticket_type_id) for t in a.tickets.all()},
            }
            for a in saved
        ]
    rows = max((sum(h.seats for h in holds) for _, holds in events), default=0)
    initial: list[dict] = [{} for _ in range(rows)]
    # Seat people in order: the first N attendees of each event get its N seats.
    for event, holds in events:
        row = 0
        for hold in holds:
            for _ in range(hold.seats):
                initial[row][f"ticket_{event.pk}"] = str(hold.ticket_type_id)
                row += 1
    return initial


@require_http_methods(["GET", "POST"])
@registration_step(Step.REVIEW)
def review(request: HttpRequest, registration: Registration) -> HttpResponse:
    if request.method == "POST":
        try:
            wizard.continue_to_payment(registration.pk)
            return HttpResponseSeeOther(step_url(registration, Step.PAYMENT))
        except TicketingError as refusal:
            return _render_step(
                request,
                registration,
                Step.REVIEW,
                "tickets/wizard/review.html",
                status=409,
                error=refusal.message,
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
            error = refusal.message
        else:
            return HttpResponseSeeOther(redirect_url or step_url(confirmed, Step.CONFIRMATION))
    return _render_step(
        request,
        registration,
        Step.PAYMENT,
        "tickets/wizard/payment.html",
        status=409 if error else 200,
        error=error,
        form=form,
        providers=payments.PROVIDERS.values(),
    )


@require_GET
@registration_step(Step.CONFIRMATION)
def confirmation(request: HttpRequest, registration: Registration) -> HttpResponse:
    if registration.status != Registration.Status.CONFIRMED:
        return HttpResponseSeeOther(step_url(registration))
    attendees = registration.attendees.prefetch_related(
        "tickets__event", "tickets__hold__ticket_type"
    )
    return _render_step(
        request,
        registration,
        Step.CONFIRMATION,
        "tickets/wizard/confirmation.html",
        attendees=attendees,
    )


@require_POST
def registration_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    registration = _owned_registration(request, pk)
    with contextlib.suppress(RegistrationClosed):  # already over: the page shows the state
        hold_service.cancel_registration(registration.pk)
    return HttpResponseSeeOther(registration.function.get_absolute_url())
