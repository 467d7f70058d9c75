"""Ways back in: the manage link and "find my registration" (services.access)."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from common.client import client_address
from common.errors import refusal_page
from tickets.services import access
from tickets.services.exceptions import TooManyFinds
from tickets.views.responses import HttpResponseSeeOther


class FindForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="The address you gave as the contact when you registered.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )


@never_cache
@require_GET
def manage(request: HttpRequest, pk: UUID, token: str) -> HttpResponse:
    """A valid link makes this browser an owner and sends it on to the registration (the
    step it is at; the confirmation for a confirmed one, the closed page for one that is
    over). Bad, tampered and revoked links are the site's ordinary 404."""
    registration = access.open_manage_link(request.session, pk, token)
    if registration is None:
        raise Http404("No such registration")
    return HttpResponseSeeOther(registration.get_absolute_url())


@require_http_methods(["GET", "POST"])
def find(request: HttpRequest) -> HttpResponse:
    """Ask for the links by email. The answer is the same page for every valid address,
    known or not; only the limits (429) and a malformed address (400) answer otherwise,
    and those say nothing about who registered."""
    if request.method == "GET":
        return _form_page(request, FindForm())
    try:
        # Every try counts against its client address, a malformed one included.
        access.count_find_from(client_address(request))
        form = FindForm(request.POST)
        if not form.is_valid():
            return _form_page(request, form, status=400)
        access.count_find_for(form.cleaned_data["email"])
    except TooManyFinds as refusal:
        return refusal_page(
            refusal,
            "tickets/access/too_many_finds.html",
            {"back_url": reverse("tickets:registration-find"), "back_label": "Back"},
        )
    access.send_registrations_to(form.cleaned_data["email"])
    return render(request, "tickets/access/find_sent.html")


def _form_page(request: HttpRequest, form: FindForm, status: int = 200) -> HttpResponse:
    return render(request, "tickets/access/find.html", {"form": form}, status=status)
