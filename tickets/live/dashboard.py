"""The staff dashboard's socket, `/ws/staff/functions/<slug>/` (docs/design.md §14).

Staff only: the handshake is refused (403) without a signed-in user holding
`tickets.view_dashboard` (superusers hold every permission), for a function that does not
exist, and, as every socket here, from another origin (common.origins, in lodgetix.asgi).

The path of a change:

    hold / release / confirmation / cancellation / step / waiting list / payment /
    check-in / broadcast commits ─▶ signal ─▶ DashboardPublisher (per process)
        coalesced per function (≤ 2 a second, a lone change at once), and only while a
        dashboard of the function is open anywhere: figures read once (a fixed number of
        aggregate queries, tickets.services.dashboard), rendered once
        ─▶ group `staff.function.<id>` ─▶ each dashboard socket of the function

A socket forwards the rendered figures as they come, keeping the newest (`version`, the
read's time, so an older push from another process never overwrites a newer one).
People registering now come from the presence store, read by each socket once a second
(no query; the store is what buyers' hubs keep current), sent only when they change.

Whether a dashboard is open is a key in the cache (Redis in production, shared by every
process) that open sockets refresh: without one, a rush of holds costs the dashboard one
cache read per push and no queries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache
from django.template.loader import render_to_string

from common.failures import FailureLog
from presence.store import EMPTY, PresenceCounts, presence_store
from tickets.live import fragments
from tickets.live.group_push import CoalescedGroupPush
from tickets.models import Broadcast, Event, Function, Registration, TicketType, WaitlistEntry
from tickets.services import dashboard

logger = logging.getLogger(__name__)

# Two pushes a second per function at most: every figure is within a second of the database.
DASHBOARD_PUSH_INTERVAL = 0.5
PRESENCE_INTERVAL = 1.0
# An open dashboard says so this often; the mark outlives three missed refreshes.
WATCH_REFRESH = 10.0
WATCH_TTL = 30


def dashboard_group(function_id: int) -> str:
    return f"staff.function.{function_id}"


def _watch_key(function_id: int) -> str:
    return f"dashboard:watched:{function_id}"


def mark_watched(function_id: int) -> None:
    cache.set(_watch_key(function_id), True, WATCH_TTL)


def is_watched(function_id: int) -> bool:
    return bool(cache.get(_watch_key(function_id)))


# --- fragments (no queries: the caller read what they show) --------------------------------


def figures_fragment(figures: dashboard.DashboardFigures, *, oob: bool = True) -> str:
    return render_to_string(
        "tickets/staff/partials/dashboard/figures.html",
        {"f": figures, "charts": dashboard.sales_charts(figures), "oob": oob},
    )


def presence_fragment(counts: PresenceCounts, *, oob: bool = True) -> str:
    return render_to_string(
        "tickets/staff/partials/dashboard/presence.html",
        {"p": counts, "steps": dashboard.presence_steps(counts), "oob": oob},
    )


def read_figures(function_id: int) -> dashboard.DashboardFigures:
    return dashboard.figures_of(Function(pk=function_id))


# --- publishing ----------------------------------------------------------------------------


def _figures_message(function_id: int) -> dict | None:
    """Read and rendered once per push, for every dashboard of the function; nothing at
    all while none is open."""
    if not is_watched(function_id):
        return None
    figures = read_figures(function_id)
    return {
        "type": "dashboard.figures",
        "version": figures.version,
        "html": figures_fragment(figures),
    }


class FunctionOf:
    """The function an event or a ticket type belongs to, remembered once found (neither
    ever moves to another function); one not found is asked again next time."""

    def __init__(self, lookup: Callable[[int], int | None]) -> None:
        self._lookup = lookup
        self._known: dict[int, int] = {}

    def __call__(self, key: int) -> int | None:
        if key not in self._known:
            found = self._lookup(key)
            if found is None:
                return None
            self._known[key] = found
        return self._known[key]

    def forget(self) -> None:
        self._known.clear()


_function_of_event = FunctionOf(
    lambda pk: Event.objects.filter(pk=pk).values_list("function_id", flat=True).first()
)
_function_of_ticket_type = FunctionOf(
    lambda pk: TicketType.objects.filter(pk=pk).values_list("event__function_id", flat=True).first()
)


class DashboardPublisher(CoalescedGroupPush[int]):
    def __init__(self, interval: float = DASHBOARD_PUSH_INTERVAL) -> None:
        super().__init__(
            interval, read=_figures_message, group_of=dashboard_group, what="dashboard figures"
        )

    def changed_via(self, lookup: FunctionOf, key: int) -> None:
        """A change known by its event or ticket type: the function is looked up off the
        committing thread (and remembered: neither ever moves to another function)."""
        self.call_on_loop(lambda: asyncio.ensure_future(self._resolve(lookup, key)))

    async def _resolve(self, lookup: FunctionOf, key: int) -> None:
        try:
            function_id = await database_sync_to_async(lookup)(key)
        except Exception as error:
            self._failures.failed(error)
            return
        if function_id is not None:
            self._offer(function_id)


dashboard_publisher = DashboardPublisher()


# Signal receivers (connected in TicketsConfig.ready()). None queries.


def push_after_availability(sender: object, *, function_id: int, **kwargs: object) -> None:
    dashboard_publisher.changed(function_id)


def push_after_registration_change(
    sender: object, *, registration: Registration, **kwargs: object
) -> None:
    dashboard_publisher.changed(registration.function_id)


def push_after_waitlist_change(sender: object, *, entry: WaitlistEntry, **kwargs: object) -> None:
    dashboard_publisher.changed_via(_function_of_ticket_type, entry.ticket_type_id)


def push_after_check_in(sender: object, *, event_id: int, **kwargs: object) -> None:
    dashboard_publisher.changed_via(_function_of_event, event_id)


def push_after_broadcast(sender: object, *, broadcast: Broadcast, **kwargs: object) -> None:
    dashboard_publisher.changed(broadcast.function_id)


def push_after_payment(sender: object, *, function_ids: list[int], **kwargs: object) -> None:
    for function_id in function_ids:
        dashboard_publisher.changed(function_id)


# --- the socket ----------------------------------------------------------------------------


class DashboardConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = None
        self._presence_task: asyncio.Task | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: refused (403)
            return
        allowed = await database_sync_to_async(user.has_perm)(dashboard.DASHBOARD_PERMISSION)
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.function = await database_sync_to_async(
            Function.objects.filter(slug=slug).only("pk", "slug").first
        )()
        if not allowed or self.function is None:
            await self.close()
            return
        self.sent_version = -1
        self.sent_presence: PresenceCounts | None = None
        self._presence_failures = FailureLog(logger, "Dashboard could not read presence")
        self.group = dashboard_group(self.function.pk)
        # Say we watch, and join, before reading the snapshot: nothing falls between.
        await database_sync_to_async(mark_watched)(self.function.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=await self._snapshot())
        self._presence_task = asyncio.create_task(self._follow_presence_forever())

    async def disconnect(self, code: int) -> None:
        if self._presence_task is not None:
            self._presence_task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # pages send keep-alives only; nothing to answer

    async def dashboard_figures(self, message: dict) -> None:
        if message["version"] <= self.sent_version:
            return
        self.sent_version = message["version"]
        await self.send(text_data=message["html"])

    async def _snapshot(self) -> str:
        figures = await database_sync_to_async(read_figures)(self.function.pk)
        html = await database_sync_to_async(figures_fragment)(figures)
        self.sent_version = figures.version
        try:
            counts = await presence_store().counts(self.function.pk)
        except Exception as error:  # Redis away: the figures still show; presence heals
            self._presence_failures.failed(error)
            counts = EMPTY
        self.sent_presence = counts
        return fragments.live_indicator(True) + html + presence_fragment(counts)

    async def _follow_presence_forever(self) -> None:
        last_mark = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            try:
                if asyncio.get_running_loop().time() - last_mark >= WATCH_REFRESH:
                    last_mark = asyncio.get_running_loop().time()
                    await database_sync_to_async(mark_watched)(self.function.pk)
                counts = await presence_store().counts(self.function.pk)
                if counts != self.sent_presence:
                    self.sent_presence = counts
                    await self.send(text_data=presence_fragment(counts))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis away: once per 10 s, not every second
                self._presence_failures.failed(error)
