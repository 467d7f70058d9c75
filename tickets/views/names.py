"""Names pages (docs/design.md §11): the owner's `/registrations/<uuid>/names/` and the
share link's `/tables/<token>/`. Both list the seats and take `POST ticket=<id>` with the
seat's `version` and the attendee fields. With htmx (the `HX-Request` header) a POST is
answered with the seat's fragment alone, which htmx swaps in place; without it, with the
whole page. Either way the status says what happened: 200 saved, 400 fields to correct
(nothing saved), 403 after the due date (the page is read-only), 409 someone else saved
the seat first (shown with what they saved).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from common.buyers import ensure_buyer_key
from common.links import absolute_url
from tickets.forms import SeatForm
from tickets.models import Registration, Ticket
from tickets.services import names
from tickets.services.exceptions import (
    InvalidSeatDetails,
    NamesClosed,
    NotEligible,
    SeatNamedMeanwhile,
    TicketingError,
)
from tickets.views.responses import HttpResponseSeeOther
from tickets.views.wizard import owned_registration


@dataclass(frozen=True)
class NamesPage:
    """Which page a names request came through: where it posts and where its socket is."""

    registration: Registration
    is_owner: bool
    post_url: str
    socket_path: str

    @classmethod
    def of_owner(cls, registration: Registration) -> NamesPage:
        url = reverse("tickets:registration-names", kwargs={"pk": registration.pk})
        return cls(registration, True, url, f"/ws{url}")

    @classmethod
    def of_share_token(cls, registration: Registration, token: str) -> NamesPage:
        url = reverse("tickets:table-names", kwargs={"token": token})
        return cls(registration, False, url, f"/ws{url}")


@dataclass(frozen=True)
class SeatView:
    ticket: Ticket
    form: SeatForm
    message: str = ""
    message_kind: str = "info"


@require_http_methods(["GET", "POST"])
def registration_names(request: HttpRequest, pk: UUID) -> HttpResponse:
    registration = owned_registration(request, pk)
    if registration.status != Registration.Status.CONFIRMED:
        raise Http404("No seats to name")
    return _names(request, NamesPage.of_owner(registration))


@require_http_methods(["GET", "POST"])
def table_names(request: HttpRequest, token: str) -> HttpResponse:
    registration = names.registration_of_share_token(token)
    if registration is None:
        raise Http404("No such link")
    # Presence counts people, not tabs: a visitor by link is a person too.
    ensure_buyer_key(request)
    return _names(request, NamesPage.of_share_token(registration, token))


@require_POST
def share_link(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The owner creates (or renews: the old link stops working) or revokes the link."""
    registration = owned_registration(request, pk)
    action = request.POST.get("action")
    if action not in ("create", "revoke"):
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    try:
        if action == "create":
            names.create_share_link(registration.pk)
        else:
            names.revoke_share_link(registration.pk)
    except TicketingError as error:
        return _render_page(request, NamesPage.of_owner(registration), error=error)
    return HttpResponseSeeOther(
        reverse("tickets:registration-names", kwargs={"pk": registration.pk})
    )


def _names(request: HttpRequest, page: NamesPage) -> HttpResponse:
    if request.method == "GET":
        return _render_page(request, page)
    ticket_id = _int_or_none(request.POST.get("ticket"))
    form = SeatForm(request.POST, ticket_id=ticket_id)
    ticket = names.seat(page.registration, ticket_id) if ticket_id else None
    if ticket is None:
        return HttpResponse("No such seat on this registration.", status=404)
    if not names.names_open(page.registration.function):
        return _answer(request, page, SeatView(ticket, SeatForm.of_seat(ticket)), NamesClosed())
    if not form.is_valid():
        return _answer(request, page, _to_correct(ticket, form), InvalidSeatDetails({}))
    try:
        saved = names.name_seat(
            page.registration.pk, ticket.pk, form.cleaned_data["version"], form.details()
        )
    except InvalidSeatDetails as error:
        for name, message in error.errors.items():
            form.add_error(name if name in form.fields else None, message)
        return _answer(request, page, _to_correct(ticket, form), error)
    except SeatNamedMeanwhile as error:
        current = error.ticket
        view = SeatView(current, SeatForm.of_seat(current), error.message, "error")
        return _answer(request, page, view, error)
    except NotEligible as error:  # the person typed may not take this seat
        return _answer(request, page, SeatView(ticket, form, error.message, "error"), error)
    except TicketingError as error:  # closed meanwhile, gone
        return _answer(request, page, SeatView(ticket, SeatForm.of_seat(ticket)), error)
    return _answer(request, page, SeatView(saved, SeatForm.of_seat(saved), "Saved.", "saved"))


def _to_correct(ticket: Ticket, form: SeatForm) -> SeatView:
    return SeatView(ticket, form, InvalidSeatDetails.default_message, "error")


def _answer(
    request: HttpRequest, page: NamesPage, seat: SeatView, error: TicketingError | None = None
) -> HttpResponse:
    status = error.http_status if error else 200
    if request.headers.get("HX-Request") == "true":
        editable = names.names_open(page.registration.function)
        return HttpResponse(
            render_to_string(
                "tickets/names/seat.html",
                seat_context(seat, page.post_url, editable=editable),
                request=request,
            ),
            status=status,
        )
    return _render_page(request, page, error=error, seat=seat, saved=error is None)


def seat_context(seat: SeatView, post_url: str, *, editable: bool, oob: bool = False) -> dict:
    return {
        "ticket": seat.ticket,
        "form": seat.form,
        "seat_message": seat.message,
        "seat_message_kind": seat.message_kind,
        "post_url": post_url,
        "editable": editable,
        "oob": oob,
    }


def _render_page(
    request: HttpRequest,
    page: NamesPage,
    *,
    error: TicketingError | None = None,
    seat: SeatView | None = None,
    saved: bool = False,
) -> HttpResponse:
    registration = page.registration
    groups = names.seats_of(registration)
    seat_groups = [
        {
            "event": group.event,
            "tables": [
                {
                    "label": table.label,
                    "seats": [
                        seat
                        if seat and seat.ticket.pk == t.pk
                        else SeatView(t, SeatForm.of_seat(t))
                        for t in table.seats
                    ],
                }
                for table in group.tables
            ],
        }
        for group in groups
    ]
    offers_share = names.offers_share_link(registration)
    context = {
        "registration": registration,
        "seat_groups": seat_groups,
        "unnamed": sum(
            1 for g in groups for t in g.tables for s in t.seats if s.attendee_id is None
        ),
        "editable": names.names_open(registration.function),
        "due_at": names.names_due(registration.function),
        "is_owner": page.is_owner,
        "offers_share": offers_share,
        "share_url": absolute_url(
            reverse("tickets:table-names", kwargs={"token": names.share_token(registration)})
        )
        if page.is_owner and offers_share and registration.share_key
        else "",
        "post_url": page.post_url,
        "socket_path": page.socket_path,
        "saved": saved and error is None and seat is not None,
    }
    if error is not None and not isinstance(error, SeatNamedMeanwhile | InvalidSeatDetails):
        context |= {"error": error.message, "error_code": error.code}
    status = error.http_status if error else 200
    if not context["editable"] and request.method == "POST":
        status = NamesClosed.http_status
    return render(request, "tickets/names/page.html", context, status=status)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
