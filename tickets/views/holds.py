"""Taking seats and giving them back: the hold form, one line back, the whole
registration back."""

from __future__ import annotations

import contextlib
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.buyers import ensure_buyer_key
from common.client import client_address
from common.errors import DomainError, refusal_page
from tickets.forms import (
    QUANTITY_PREFIX,
    HoldForm,
    PackageHoldForm,
    SelectionForm,
    quantity_field_name,
)
from tickets.models import Function, Registration, TicketType
from tickets.services import first_hold
from tickets.services import holds as hold_service
from tickets.services import packages as package_service
from tickets.services.exceptions import (
    HoldAlreadyReleased,
    InvalidFields,
    RegistrationClosed,
    TicketingError,
    TooManyHolds,
)
from tickets.throttling import check_hold_rate
from tickets.views.catalogue import render_function_page
from tickets.views.responses import HttpResponseSeeOther, step_url
from tickets.views.wizard import owned_registration, render_ticket_step

Step = Registration.Step


@require_POST
def hold_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Hold one line (`ticket_type` + `quantity`, or a line's Select button on the
    selection page) or a whole selection (`quantity_<ticket_type_id>` fields)."""
    try:
        check_hold_rate(request)
    except TooManyHolds as refusal:
        # A page with a way back and when to retry (a person double-clicking reads it),
        # rendered without a query: whoever sends this fast may be a script.
        back = reverse("tickets:function-detail", args=[slug])
        return refusal_page(
            refusal, "429.html", {"back_url": back, "back_label": "Back to the function"}
        )
    lean = _first_hold(request, slug)
    if lean is not None:
        return lean
    function = get_object_or_404(Function, slug=slug, published=True)
    page = _SelectionPage(request, function)
    if "package" in request.POST:
        return _hold_package(request, function, page)
    if "ticket_type" in request.POST:
        return _hold_one_line(request, function, page)
    return _hold_selection(request, function, page)


def _hold_package(request: HttpRequest, function: Function, page: _SelectionPage) -> HttpResponse:
    form = PackageHoldForm(request.POST)
    if not form.is_valid():
        return page.refused(hold_form=form, status=400)
    try:
        holds = package_service.hold_package(
            hold_service.PackageRequest(
                function=function,
                package_id=form.cleaned_data["package"],
                quantity=form.cleaned_data["quantity"],
                registration_type=form.cleaned_data["registration_type"],
                **_buyer(request),
            )
        )
    except TicketingError as refusal:
        return page.refused(error=refusal)
    return HttpResponseSeeOther(step_url(holds[0].registration, Step.TICKET_SELECTION))


# The fields of a plain first hold from the function page; anything else (a wizard's
# `registration`, a selection's quantity_<id> fields) is the general path's.
_FIRST_HOLD_FIELDS = frozenset(
    {"csrfmiddlewaretoken", "ticket_type", "quantity", "registration_type"}
)
_REGISTRATION_TYPES = frozenset(Registration.Type.values)


def _first_hold(request: HttpRequest, slug: str) -> HttpResponse | None:
    """The lean path (services.first_hold) for a plain one-line hold, or None when the
    general path must answer: a shape it does not take, or declined by the database."""
    post = request.POST
    if not first_hold.available() or not _is_plain_hold(request):
        return None
    ticket_type, quantity = post.get("ticket_type", ""), post.get("quantity", "")
    registration_type = post.get("registration_type") or Registration.Type.INDIVIDUAL
    if not (
        ticket_type.isascii()
        and ticket_type.isdigit()
        and 0 < int(ticket_type) < 2**31
        and quantity.isascii()
        and quantity.isdigit()
        and 0 < int(quantity) < 2**15
        and registration_type in _REGISTRATION_TYPES
    ):
        return None  # the form says what is wrong (400)
    try:
        held = first_hold.try_first_hold(
            function_slug=slug,
            ticket_type_id=int(ticket_type),
            quantity=int(quantity),
            registration_type=registration_type,
            **_buyer(request),
        )
    except TicketingError as refusal:
        return _cheap_refusal(refusal, slug)
    if held is None:
        return None
    return HttpResponseSeeOther(step_url(held.registration, Step.TICKET_SELECTION))


def _is_plain_hold(request: HttpRequest) -> bool:
    """A one-line hold from the function page: no wizard registration, no selection."""
    return _FIRST_HOLD_FIELDS.issuperset(request.POST)


def _cheap_refusal(refusal: TicketingError, slug: str) -> HttpResponse:
    """A refused plain hold answered by a small page (the reason and the way back to the
    function page, which shows what is left) rather than the whole function page: past a
    sell-out nearly every hold is refused, and each must cost little."""
    back = reverse("tickets:function-detail", args=[slug])
    return refusal_page(
        refusal, "409.html", {"back_url": back, "back_label": "Back to the function"}
    )


def _hold_one_line(request: HttpRequest, function: Function, page: _SelectionPage) -> HttpResponse:
    data = request.POST.copy()
    typed_field = quantity_field_name_of(data.get("ticket_type", ""))
    if not data.get("quantity") and typed_field in data:
        # A line's Select button on the selection page: its quantity is the line's field;
        # left blank (or 0), the buyer pressed Select for one.
        data["quantity"] = data[typed_field] if data[typed_field] not in ("", "0") else "1"
    form = HoldForm(data)
    if not form.is_valid():
        return page.refused(hold_form=form, status=400)
    try:
        hold = hold_service.hold_tickets(
            hold_service.HoldRequest(
                function=function,
                ticket_type_id=form.cleaned_data["ticket_type"],
                quantity=form.cleaned_data["quantity"],
                registration_type=form.cleaned_data["registration_type"],
                **_buyer(request),
            )
        )
    except TicketingError as refusal:
        if page.registration is None and _is_plain_hold(request):
            return _cheap_refusal(refusal, function.slug)
        return page.refused(error=refusal)
    return HttpResponseSeeOther(step_url(hold.registration, Step.TICKET_SELECTION))


def _hold_selection(request: HttpRequest, function: Function, page: _SelectionPage) -> HttpResponse:
    names = dict(TicketType.objects.filter(event__function=function).values_list("pk", "name"))
    form = SelectionForm(request.POST, names=names)
    if not form.is_valid():
        return page.refused(hold_form=form, status=400)
    try:
        holds = hold_service.hold_selection(
            hold_service.SelectionRequest(
                function=function,
                lines=form.lines(),
                registration_type=form.cleaned_data["registration_type"],
                **_buyer(request),
            )
        )
    except hold_service.SelectionRefused as refusal:
        return page.refused(error=refusal, refused_lines=refusal.lines)
    except TicketingError as refusal:
        return page.refused(error=refusal)
    return HttpResponseSeeOther(step_url(holds[0].registration, Step.TICKET_SELECTION))


def quantity_field_name_of(ticket_type: str) -> str:
    return quantity_field_name(int(ticket_type)) if ticket_type.isdigit() else ""


class _SelectionPage:
    """Where a refused hold is answered: the page it was sent from - the wizard's ticket
    step (a `registration` field the buyer owns, still open) or the function page - with
    the quantities as typed, so nobody types their selection twice."""

    def __init__(self, request: HttpRequest, function: Function) -> None:
        self.request = request
        self.function = function
        self.registration = self._wizard_registration()

    def refused(
        self,
        *,
        error: DomainError | None = None,
        hold_form: HoldForm | SelectionForm | PackageHoldForm | None = None,
        refused_lines: list[hold_service.LineRefusal] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        typed = self._typed()
        extra = {"hold_form": hold_form, "typed": typed, "refused_lines": refused_lines or []}
        if self.registration is None:
            return render_function_page(
                self.request, self.function, error=error, status=status, **extra
            )
        if error is None:
            # The step shows its refusals in one alert; a form's errors are one too.
            error = InvalidFields("We could not hold those tickets; see below.")
        return render_ticket_step(self.request, self.registration, error, **extra)

    def _typed(self) -> dict[int, str]:
        post = self.request.POST
        typed = {
            int(key.removeprefix(QUANTITY_PREFIX)): value
            for key, value in post.items()
            if key.startswith(QUANTITY_PREFIX) and key.removeprefix(QUANTITY_PREFIX).isdigit()
        }
        ticket_type = post.get("ticket_type", "")
        if ticket_type.isdigit() and post.get("quantity"):
            typed[int(ticket_type)] = post["quantity"]
        return typed

    def _wizard_registration(self) -> Registration | None:
        try:
            pk = UUID(self.request.POST.get("registration", ""))
        except ValueError:
            return None
        try:
            registration = owned_registration(self.request, pk)
        except Http404:
            return None
        if registration.function_id != self.function.pk or not registration.is_pending:
            return None
        return registration


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


def _buyer(request: HttpRequest) -> dict[str, object]:
    """Who is holding: the session's buyer key (made now if new), the user, the address."""
    return {
        "buyer_key": ensure_buyer_key(request),
        "user_id": request.user.pk if request.user.is_authenticated else None,
        "client_address": client_address(request),
    }
