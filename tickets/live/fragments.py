"""HTML fragments the socket pushes, rendered from the same partials the pages include.

Every fragment is the full current state of an element with a stable id; htmx swaps it
out-of-band, so a client that missed a message heals with the next one.

Availability fragments depend only on a frozen TicketAvailability (version included), so
they are rendered once per version per process however many viewers receive them.

Rendering never touches the database: whoever calls a renderer has read what it shows
(the consumer's snapshot, tickets.services.broadcasts.news_of for broadcasts), so a
fragment can be rendered on the event loop and a render costs no round trip
(tests/tickets/live/test_fragments.py renders every kind under zero queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.template.loader import render_to_string
from django.urls import reverse

from presence.store import PresenceCounts
from tickets.models import Broadcast, Event, Function, Registration
from tickets.services.availability import TicketAvailability
from tickets.services.broadcasts import BroadcastNews
from tickets.services.packages import PackageAvailability


@lru_cache(maxsize=8192)
def availability(a: TicketAvailability) -> str:
    """The badge and the buy button of one ticket type."""
    context = {"a": a, "oob": True}
    return render_to_string("tickets/partials/availability.html", context) + render_to_string(
        "tickets/partials/buy_button.html", context
    )


@lru_cache(maxsize=1024)
def package_availability(p: PackageAvailability) -> str:
    """The badge and the buy button of one package (docs/design.md §15)."""
    return render_to_string("tickets/partials/package_availability.html", {"p": p, "oob": True})


def live_indicator(live: bool, label: str | None = None) -> str:
    """LIVE, or `label` (a hub that lost its channel layer says why it is not live)."""
    return render_to_string(
        "tickets/partials/live_indicator.html", {"live": live, "label": label, "oob": True}
    )


def toast(
    kind: str,
    text: str,
    link: str | None = None,
    link_text: str | None = None,
    refresh: tuple[str, str] | None = None,
) -> str:
    """A notification appended to #toasts; `text` is escaped by the template. `refresh`
    (url, element id) makes the link reload that element in place."""
    refresh_url, refresh_target = refresh or (None, None)
    return render_to_string(
        "tickets/partials/toast.html",
        {
            "kind": kind,
            "text": text,
            "link": link,
            "link_text": link_text,
            "refresh_url": refresh_url,
            "refresh_target": refresh_target,
            "oob": True,
        },
    )


def event_status(event) -> str:
    """An event's status line (a banner once cancelled)."""
    return render_to_string("tickets/partials/event_status.html", {"event": event, "oob": True})


@lru_cache(maxsize=1024)
def presence(counts: PresenceCounts, viewer_step: str | None) -> str:
    """The presence summary as one viewer sees it: the counts minus the viewer
    (`viewer_step` None: a viewer presence does not count, so nothing to subtract)."""
    others_by_step = [
        (step, max(count - (step == viewer_step), 0)) for step, count in counts.by_step
    ]
    return render_to_string(
        "tickets/partials/presence.html",
        {
            "total": counts.total,
            "others": max(counts.total - (viewer_step is not None), 0),
            "others_by_step": others_by_step,
            "selecting": dict(others_by_step)[Registration.Step.TICKET_SELECTION],
            "oob": True,
        },
    )


def event_details(event: Event) -> str:
    return render_to_string("tickets/partials/event_details.html", {"event": event, "oob": True})


def function_details(function: Function) -> str:
    return render_to_string(
        "tickets/partials/function_details.html", {"function": function, "oob": True}
    )


def notice(broadcast: Broadcast) -> str:
    """A broadcast prepended to the page's notices."""
    return render_to_string("tickets/partials/notice.html", {"broadcast": broadcast, "oob": True})


def registration_notice(cancelled: list[tuple[Event, bool]]) -> str:
    return render_to_string(
        "tickets/partials/registration_notice.html", {"cancelled": cancelled, "oob": True}
    )


@dataclass(frozen=True)
class BroadcastFragments:
    """What one broadcast sends: the same to everyone, plus a note to those it hit."""

    everyone: str
    by_person: dict[str, str]

    def for_person(self, person: str) -> str:
        return self.everyone + self.by_person.get(person, "")


def broadcast(news: BroadcastNews) -> BroadcastFragments:
    """Render a broadcast once for all the sockets of a server process, from what
    tickets.services.broadcasts.news_of read (no database access here)."""
    sent = news.broadcast
    function, event = sent.function, sent.event
    parts = [notice(sent)]
    if sent.kind == Broadcast.Kind.INFO_UPDATE and event is not None:
        parts += [
            event_details(event),
            toast(
                sent.kind,
                sent.text,
                link=f"{function.get_absolute_url()}#event-{event.pk}",
                link_text="See what changed",
                refresh=(
                    reverse("tickets:event-details", args=[function.slug, event.pk]),
                    f"event-details-{event.pk}",
                ),
            ),
        ]
    elif sent.kind == Broadcast.Kind.INFO_UPDATE:
        parts += [
            function_details(function),
            toast(
                sent.kind,
                sent.text,
                link=function.get_absolute_url(),
                link_text="See what changed",
                refresh=(
                    reverse("tickets:function-details", args=[function.slug]),
                    "function-details",
                ),
            ),
        ]
    else:
        parts.append(toast(sent.kind, sent.text))
    by_person = {}
    if sent.kind == Broadcast.Kind.CANCELLATION and event is not None:
        parts.append(event_status(event))
        # The note depends only on whether the person had bought: render each kind once.
        notes = {
            bought: registration_notice([(event, bought)]) for bought in set(news.hit.values())
        }
        by_person = {person: notes[bought] for person, bought in news.hit.items()}
    return BroadcastFragments(everyone="".join(parts), by_person=by_person)


# --- waiting list (design §13) ------------------------------------------------------------


def waitlist_entry(state) -> str:
    """The entry page's `waitlist-entry` element (a services.waitlist.EntryState)."""
    return render_to_string(
        "tickets/waitlist/partials/entry.html", {"state": state, "entry": state.entry, "oob": True}
    )


def waitlist_offer_toast(state) -> str:
    """Seats are held for this entry: a button into the wizard (the claim)."""
    entry = state.entry
    return toast(
        "waitlist_offer",
        f"Seats came free: {entry.quantity} × {entry.ticket_type.name} are held for you.",
        link=reverse("tickets:waitlist-claim", kwargs={"uuid": entry.uuid}),
        link_text="Take them up",
    )
