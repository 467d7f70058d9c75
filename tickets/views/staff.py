"""The door and the kitchen (docs/design.md §12): staff pages, thin over
tickets.services.checkin and tickets.services.kitchen.

Signing in goes through the admin's login page; the pages then ask only their own
permission (`tickets.check_in` for the door, `tickets.view_kitchen` for the kitchen), so
the "Door" and "Kitchen" groups need no admin view permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import DomainError, error_json
from tickets.models import DietaryNeed, Event
from tickets.services import checkin, kitchen, staff_notes

ZXING_STATIC = "vendor/zxing/index.min.js"


def camera_decoder() -> str | None:
    """The static path of the QR decoder if it is installed (npm), else None."""
    return ZXING_STATIC if finders.find(ZXING_STATIC) else None


def staff_permission(permission: str, *, json: bool = False) -> Callable:
    """Signed in (else to the login page; JSON callers get 403) with `permission` (403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if json or request.method != "GET":
                    return JsonResponse(
                        {"error": "Sign in as staff first.", "code": "not_signed_in"}, status=403
                    )
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(permission):
                if json or request.method != "GET":
                    return JsonResponse(
                        {"error": "You may not do this.", "code": "permission_denied"},
                        status=403,
                    )
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _event(event_id: int) -> Event:
    return get_object_or_404(Event.objects.select_related("function"), pk=event_id)


# --- the door -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_permission("tickets.check_in")
def door(request: HttpRequest, event_id: int) -> HttpResponse:
    """GET: the door page. POST: check in (`code=` or `registration=`, optional `door=`),
    answered as JSON (docs/design.md §8.9)."""
    event = _event(event_id)
    if request.method == "POST":
        try:
            outcome = checkin.check_in(
                event,
                code=request.POST.get("code"),
                registration_id=request.POST.get("registration"),
                door=request.POST.get("door", ""),
                by=request.user,
            )
        except DomainError as refusal:
            return error_json(refusal)
        return JsonResponse(outcome.as_json())
    door_name = checkin.clean_door(request.GET.get("door"))
    return render(
        request,
        "tickets/staff/door.html",
        {
            "event": event,
            "door": door_name,
            "counts": checkin.counts_of(event.pk),
            "notes": staff_notes.recent(event),
            "camera_decoder": camera_decoder(),
            "may_take_payment": request.user.has_perm("tickets.mark_paid"),
            "may_send_notes": request.user.has_perm("tickets.send_broadcast"),
        },
    )


@require_GET
@staff_permission("tickets.check_in")
def door_search(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _event(event_id)
    query = request.GET.get("q", "")
    return render(
        request,
        "tickets/staff/partials/search_results.html",
        {"event": event, "query": query, "found": checkin.search(event, query)},
    )


@require_POST
@staff_permission("tickets.mark_paid", json=True)
def door_payment(request: HttpRequest, event_id: int) -> JsonResponse:
    """Money taken at the door: the admin's mark-paid service, audited as a door payment."""
    _event(event_id)
    try:
        registration = checkin.mark_paid_at_door(
            request.POST.get("registration", ""),
            door=request.POST.get("door", ""),
            marked_by=request.user,
        )
    except DomainError as refusal:
        return error_json(refusal)
    return JsonResponse(
        {"registration": str(registration.pk), "payment_status": registration.payment_status}
    )


# --- the kitchen ----------------------------------------------------------------------------


@require_GET
@staff_permission("tickets.view_kitchen")
def kitchen_page(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _event(event_id)
    return render(
        request,
        "tickets/staff/kitchen.html",
        {
            "event": event,
            "k": kitchen.summary_of(event),
            "counts": checkin.counts_of(event.pk),
            "notes": staff_notes.recent(event),
            "may_see_names": request.user.has_perm("tickets.see_dietary_names"),
            "may_send_notes": request.user.has_perm("tickets.send_broadcast"),
        },
    )


@require_GET
@staff_permission("tickets.see_dietary_names")
def kitchen_names(request: HttpRequest, event_id: int, need: str) -> HttpResponse:
    """Who has a need, asked for on a click by staff allowed to see it."""
    event = _event(event_id)
    if need != "special" and need not in DietaryNeed.values:
        return HttpResponse("Unknown need.", status=400, content_type="text/plain")
    return render(
        request,
        "tickets/staff/partials/kitchen_names.html",
        {"need": need, "people": kitchen.names_with(event, need)},
    )


# --- messages to the door and the kitchen ---------------------------------------------------


@require_POST
@staff_permission("tickets.send_broadcast", json=True)
def send_note(request: HttpRequest, event_id: int) -> JsonResponse:
    event = _event(event_id)
    try:
        note = staff_notes.send(event, request.POST.get("text", ""), sent_by=request.user)
    except DomainError as refusal:
        return error_json(refusal)
    return JsonResponse({"id": note.pk, "text": note.text}, status=201)
