"""The lodge search of the attendee and contact forms (docs/design.md §15): a listbox
fragment for the combobox (lodge_search.js), public, so rate-limited per address."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common import ratelimit
from common.client import client_address
from common.errors import error_text
from tickets.services import lodges
from tickets.services.exceptions import TooManyLodgeSearches

# The id of the listbox the options go in (their ids start with it): a form field's id.
_LISTBOX_ID = re.compile(r"[A-Za-z][\w-]{0,79}")
# A person types a few letters a second; a script walking the list gets 429.
DEFAULT_SEARCHES_PER_MINUTE = 120


@require_GET
def lodge_search(request: HttpRequest) -> HttpResponse:
    """`GET /lodges/search/?q=harm`: the matching listed lodges as `role="option"` items.
    The query is `q`, or the value of the field the combobox is (a `…lodge_name`), so
    htmx can send the input as it is."""
    per_minute = getattr(settings, "LODGE_SEARCHES_PER_MINUTE", DEFAULT_SEARCHES_PER_MINUTE)
    limit = ratelimit.hit(f"lodge-search:ip:{client_address(request)}", limit=per_minute, window=60)
    if not limit.allowed:
        return error_text(TooManyLodgeSearches(limit.retry_after))
    query = request.GET.get("q")
    if query is None:
        query = next((v for k, v in request.GET.items() if k.endswith("lodge_name")), "")
    listbox = request.GET.get("listbox", "")
    if not _LISTBOX_ID.fullmatch(listbox):
        listbox = "lodge-listbox"
    found = lodges.search(query) if len(query.strip()) >= 2 else []
    return render(
        request,
        "tickets/partials/lodge_options.html",
        {"lodges": found, "query": query.strip()[:120], "listbox": listbox},
    )
