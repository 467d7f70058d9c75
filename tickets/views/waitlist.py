"""The waiting list's pages (design §13): join, the entry's live page, leave, claim an offer.

An entry's page belongs to the browser that joined, or any browser that opened the signed
link from its mail; to anyone else it does not exist (404), like a registration.
"""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.buyers import buyer_key_of, ensure_buyer_key
from common.errors import error_page
from tickets.live.waitlist import SESSION_KEY
from tickets.models import Function, TicketType, WaitlistEntry
from tickets.services import waitlist
from tickets.services.exceptions import TicketingError
from tickets.views.responses import HttpResponseSeeOther

JOIN_PAGE = "tickets/waitlist/join.html"
ENTRY_PAGE = "tickets/waitlist/entry.html"
# Entries this browser may see besides those it joined (opened from their mail link).
_SESSION_KEY = SESSION_KEY


@require_GET
def join_form(request: HttpRequest, ticket_type_id: int) -> HttpResponse:
    ticket_type = get_object_or_404(
        TicketType.objects.select_related("event__function"),
        pk=ticket_type_id,
        event__function__published=True,
    )
    return render(request, JOIN_PAGE, _join_context(ticket_type, {}))


@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    function = get_object_or_404(Function, slug=slug, published=True)
    try:
        entry = waitlist.join(
            waitlist.JoinRequest(
                function=function,
                ticket_type_id=request.POST.get("ticket_type"),
                quantity=request.POST.get("quantity"),
                name=request.POST.get("name", ""),
                email=request.POST.get("email", ""),
                buyer_key=ensure_buyer_key(request),
            )
        )
    except TicketingError as refusal:
        ticket_type = (
            TicketType.objects.select_related("event__function")
            .filter(pk=_int_or_none(request.POST.get("ticket_type")), event__function=function)
            .first()
        )
        return error_page(request, JOIN_PAGE, _join_context(ticket_type, request.POST), refusal)
    _remember(request, entry)
    return HttpResponseSeeOther(entry.get_absolute_url())


@require_GET
def entry_page(request: HttpRequest, uuid: UUID) -> HttpResponse:
    entry = _owned_entry(request, uuid)
    return render(request, ENTRY_PAGE, {"state": waitlist.state_of(entry), "entry": entry})


@require_POST
def leave(request: HttpRequest, uuid: UUID) -> HttpResponse:
    entry = _owned_entry(request, uuid)
    try:
        waitlist.leave(entry.uuid)
    except TicketingError as refusal:
        return error_page(
            request, ENTRY_PAGE, {"state": waitlist.state_of(entry), "entry": entry}, refusal
        )
    return HttpResponseSeeOther(entry.get_absolute_url())


@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """Take up the entry's offer: the offer's registration becomes this browser's. A link
    (the toast's button) as well as a form: like the manage link, only the entry's own
    browser gets here, and taking up an offer twice is taking it up once."""
    return _claim(request, _owned_entry(request, uuid))


@require_GET
def manage(request: HttpRequest, uuid: UUID, token: str) -> HttpResponse:
    """The link in the entry's mail: this browser may now see the entry, and an open
    offer becomes this browser's registration."""
    entry = WaitlistEntry.objects.filter(uuid=uuid).first()
    if entry is None or not waitlist.entry_token_is_valid(entry, token):
        raise Http404("No such waiting list entry")
    _remember(request, entry)
    if entry.status == WaitlistEntry.Status.OFFERED:
        return _claim(request, waitlist.entry_of(entry.uuid))
    return HttpResponseSeeOther(entry.get_absolute_url())


def _claim(request: HttpRequest, entry: WaitlistEntry) -> HttpResponse:
    try:
        registration = waitlist.claim(entry, ensure_buyer_key(request))
    except TicketingError as refusal:
        return error_page(
            request, ENTRY_PAGE, {"state": waitlist.state_of(entry), "entry": entry}, refusal
        )
    return HttpResponseSeeOther(registration.get_absolute_url())


def _owned_entry(request: HttpRequest, uuid: UUID) -> WaitlistEntry:
    entry = (
        WaitlistEntry.objects.select_related("ticket_type__event__function", "offered_registration")
        .filter(uuid=uuid)
        .first()
    )
    buyer_key = buyer_key_of(request.session)
    mine = entry is not None and (
        (buyer_key and entry.buyer_key == buyer_key)
        or str(entry.uuid) in request.session.get(_SESSION_KEY, [])
    )
    if not mine:
        raise Http404("No such waiting list entry")
    return entry


def _remember(request: HttpRequest, entry: WaitlistEntry) -> None:
    known = request.session.get(_SESSION_KEY, [])
    if str(entry.uuid) not in known:
        request.session[_SESSION_KEY] = [*known[-19:], str(entry.uuid)]


def _join_context(ticket_type: TicketType | None, typed) -> dict:
    return {
        "ticket_type": ticket_type,
        "function": ticket_type.event.function if ticket_type else None,
        "typed": typed,
    }


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
