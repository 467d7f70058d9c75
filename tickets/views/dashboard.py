"""The live staff dashboard of a function (docs/design.md §14): thin over
tickets.services.dashboard; the staff socket (tickets.live.dashboard) keeps it current.

Who may see it: signed-in staff holding `tickets.view_dashboard` (the "Dashboard" group
has it; superusers pass). Sending a broadcast from it asks `tickets.send_broadcast` too,
as the admin's action does, and is audited by the service.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.errors import DomainError
from presence.store import EMPTY
from tickets.models import Broadcast, Function
from tickets.services import broadcasts, dashboard
from tickets.views.staff import staff_permission

RESULT_TEMPLATE = "tickets/staff/partials/dashboard/broadcast_result.html"


@require_GET
@staff_permission(dashboard.DASHBOARD_PERMISSION)
def dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    function = get_object_or_404(Function, slug=slug)
    return _page(request, function)


def _page(request: HttpRequest, function: Function, status: int = 200, **result) -> HttpResponse:
    figures = dashboard.figures_of(function)
    return render(
        request,
        "tickets/staff/dashboard.html",
        {
            "function": function,
            "f": figures,
            "charts": dashboard.sales_charts(figures),
            # Presence arrives with the socket's snapshot; the page starts from nobody.
            "p": EMPTY,
            "steps": dashboard.presence_steps(EMPTY),
            "may_send_broadcasts": request.user.has_perm("tickets.send_broadcast"),
            "max_message_length": Broadcast.MAX_MESSAGE_LENGTH,
            **result,
        },
        status=status,
    )


@require_POST
@staff_permission(dashboard.DASHBOARD_PERMISSION)
def dashboard_broadcast(request: HttpRequest, slug: str) -> HttpResponse:
    """Send a message to everyone viewing the function. htmx gets the result line (201
    sent, 400 refused); a plain form post is redirected back, or shown the refusal."""
    function = get_object_or_404(Function, slug=slug)
    if not request.user.has_perm("tickets.send_broadcast"):
        return _result(request, function, 403, error="You may not send broadcasts.")
    try:
        broadcasts.send_message(function, request.POST.get("text", ""), sent_by=request.user)
    except DomainError as refusal:
        return _result(request, function, refusal.http_status, error=str(refusal))
    if request.htmx:
        return render(request, RESULT_TEMPLATE, {"result": "sent"}, status=201)
    return redirect("tickets:dashboard", slug=function.slug)


def _result(request: HttpRequest, function: Function, status: int, *, error: str) -> HttpResponse:
    if request.htmx:
        return render(
            request, RESULT_TEMPLATE, {"result": "refused", "error": error}, status=status
        )
    return _page(request, function, status, result="refused", error=error)
