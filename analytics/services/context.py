"""What an interaction is about: the function, event and registration it belongs to.

Worked out by the server, never taken on the client's word: the page URL names a
function (by slug) or a registration (by id, attached only if it is the sender's own),
and a `ticket_type` id in the data names an event. At most one query per kind per batch,
and function slugs are remembered (`FunctionIds`), so the usual batch - from function and
wizard pages - costs none.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

from analytics.services.storage import InteractionRow
from tickets.models import Function, Registration, TicketType


def attach_references(rows: Sequence[InteractionRow], *, buyer_key: str | None) -> None:
    """Fill in function_id, event_id and registration_id where the rows show them."""
    if not rows:
        return
    places = [_place_of(row.page_url) for row in rows]
    slugs = {slug for slug, _ in places if slug}
    registration_ids = {pk for _, pk in places if pk}
    ticket_type_ids = {
        row.data["ticket_type"] for row in rows if _is_id(row.data.get("ticket_type"))
    }
    functions = function_ids.of(slugs)
    registrations = (
        dict(
            Registration.objects.filter(pk__in=registration_ids, buyer_key=buyer_key)
            .order_by()
            .values_list("pk", "function_id")
        )
        if registration_ids and buyer_key
        else {}
    )
    # Skipped outright when there is nothing to look up: even a query Django knows to be
    # empty is compiled first, and that showed up in profiles of the capture endpoint.
    ticket_types = (
        {
            pk: (event_id, function_id)
            for pk, event_id, function_id in TicketType.objects.filter(pk__in=ticket_type_ids)
            .order_by()
            .values_list("pk", "event_id", "event__function_id")
        }
        if ticket_type_ids
        else {}
    )
    for row, (slug, registration_id) in zip(rows, places, strict=True):
        if slug in functions:
            row.function_id = functions[slug]
        if registration_id in registrations:
            row.registration_id = registration_id
            row.function_id = registrations[registration_id]
        ticket_type_id = row.data.get("ticket_type")
        if _is_id(ticket_type_id) and ticket_type_id in ticket_types:
            row.event_id, row.function_id = ticket_types[ticket_type_id]


class FunctionIds:
    """Function ids by slug, remembered for `ttl` seconds.

    An ORM query per batch was a large share of a capture request's CPU (bench capture). A
    function saved or deleted in this process is forgotten at once (see apps.py); other
    processes may name a renamed slug's old function for up to `ttl` seconds, a price
    worth paying for analytics. Unknown slugs are remembered too, so made-up URLs cost no
    query either; the whole memory is dropped past `max_entries`.
    """

    def __init__(self, ttl: float = 60.0, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._known: dict[str, tuple[int | None, float]] = {}

    def of(self, slugs: Iterable[str]) -> dict[str, int]:
        now = time.monotonic()
        slugs = set(slugs)
        stale = {slug for slug in slugs if self._known.get(slug, (None, now))[1] <= now}
        if stale:
            found = dict(
                Function.objects.filter(slug__in=stale).order_by().values_list("slug", "pk")
            )
            if len(self._known) + len(stale) > self.max_entries:
                self._known = {}
            for slug in stale:
                self._known[slug] = (found.get(slug), now + self.ttl)
        known = {slug: self._known.get(slug, (None, 0))[0] for slug in slugs}
        return {slug: pk for slug, pk in known.items() if pk is not None}

    def forget(self, *args, **kwargs) -> None:
        """Drop everything remembered; also a receiver of Function's save and delete."""
        self._known = {}


function_ids = FunctionIds()


def _is_id(value: object) -> bool:
    # bool is an int too; a JSON true is not an id.
    return type(value) is int and 0 < value < 2**63


@lru_cache(maxsize=1024)
def _place_of(page_url: str) -> tuple[str | None, uuid.UUID | None]:
    """(function slug, registration id) named by one of our page URLs, if any.

    URLs are resolved through the project's URL patterns, so a page moving keeps working;
    the cache keeps this off the hot path (a batch mostly repeats one or two URLs).
    """
    try:
        match = resolve(urlsplit(page_url).path or "/")
    except (Resolver404, ValueError):
        return None, None
    if match.namespace != "tickets":
        return None, None
    slug = match.kwargs.get("slug")
    registration_id = match.kwargs.get("pk")
    return (
        slug if isinstance(slug, str) else None,
        registration_id if isinstance(registration_id, uuid.UUID) else None,
    )
