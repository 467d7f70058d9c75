"""What is on sale: the function list and page, its fragments and the JSON API."""

from __future__ import annotations

from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from common.buyers import buyer_key_of, ensure_buyer_key
from common.errors import DomainError, error_page
from tickets.models import Event, Function, Registration
from tickets.services import broadcasts, packages
from tickets.services import registrations as registration_service
from tickets.services.availability import Catalogue, TicketAvailability, catalogue_of

FUNCTION_PAGE = "tickets/function_detail.html"


@require_GET
def function_list(request: HttpRequest) -> HttpResponse:
    functions = Function.objects.filter(published=True)
    return render(request, "tickets/function_list.html", {"functions": functions})


@require_GET
def function_detail(request: HttpRequest, slug: str) -> HttpResponse:
    function = get_object_or_404(Function, slug=slug, published=True)
    # Every visitor gets a buyer identity up front: presence counts people, not tabs.
    ensure_buyer_key(request)
    return render_function_page(request, function)


@require_GET
def availability_api(request: HttpRequest, slug: str) -> JsonResponse:
    function = get_object_or_404(Function, slug=slug, published=True)
    catalogue = catalogue_of(function)
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
                    "waiting": a.waiting,
                }
                for tt, a in offers
            ],
        }
        for event, offers in catalogue
    ]
    return JsonResponse(
        {
            "function": function.slug,
            "events": events,
            "packages": [
                {
                    "id": offer.package_id,
                    "name": offer.name,
                    "price": str(offer.price),
                    "available": p.available,
                    "items": [
                        {"ticket_type": tt_id, "quantity": seats} for tt_id, seats in offer.items
                    ],
                }
                for offer, p in packages.packages_with_availability(
                    function, availability_in(catalogue)
                )
            ],
        }
    )


def availability_in(catalogue: Catalogue) -> dict[int, TicketAvailability]:
    return {tt.pk: a for _, offers in catalogue for tt, a in offers}


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


def render_function_page(
    request: HttpRequest,
    function: Function,
    *,
    hold_form: Form | None = None,
    error: DomainError | None = None,
    status: int = 200,
    typed: dict[int, str] | None = None,
    refused_lines: list | None = None,
) -> HttpResponse:
    """The function page; with `error`, a refused hold shown on it (and its status), and
    `typed` the quantities the buyer had typed, shown again as typed."""
    open_registration = registration_service.open_registration_of(
        buyer_key_of(request.session), function
    )
    requested = request.GET.get("as") or request.POST.get("registration_type")
    catalogue = catalogue_of(function)
    context = {
        "function": function,
        "catalogue": catalogue,
        "packages": packages.packages_with_availability(function, availability_in(catalogue)),
        "broadcasts": broadcasts.recent_broadcasts(function),
        "open_registration": open_registration,
        "registration_type": registration_service.registration_type_offered(
            open_registration, requested
        ),
        "registration_types": Registration.Type.choices,
        "hold_form": hold_form,
        "typed": typed or {},
        "refused_lines": refused_lines or [],
    }
    if error is not None:
        return error_page(request, FUNCTION_PAGE, context, error)
    return render(request, FUNCTION_PAGE, context, status=status)
