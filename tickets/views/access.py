"""Ways back in: the manage link."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from tickets.models import Registration
from tickets.services import access
from tickets.views.responses import HttpResponseSeeOther


@require_GET
def manage(request: HttpRequest, pk: UUID, token: str) -> HttpResponse:
    registration = Registration.objects.filter(pk=pk).first()
    if registration is None or not access.manage_token_is_valid(registration, token):
        raise Http404("No such registration")
    return HttpResponseSeeOther(registration.get_absolute_url())
