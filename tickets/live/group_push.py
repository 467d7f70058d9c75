"""Coalesced pushes to staff groups: read once per push, send to one group.

Staff pages (the door and kitchen's, tickets.live.staff; the dashboard's,
tickets.live.dashboard) are few - tens, not thousands - so each socket joins its group
itself. What they share is the publishing side: a change is offered from any thread after
commit, coalesced per key (a lone change goes at once, then at most one per interval),
read once off the loop, and the one message sent to the key's group. It all runs on the
function publisher's loop (the ASGI server's, or a private one elsewhere), so the
in-memory layer of the embedded default is used from the loop its consumers live on.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Hashable
from functools import partial
from typing import Generic, TypeVar

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from common.failures import FailureLog
from tickets.live.coalesce import Coalescer
from tickets.live.publisher import publisher as function_publisher

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class CoalescedGroupPush(Generic[K]):
    """`changed(key)` leads, at most once per `interval` per key, to `read(key)` (a sync
    function, run off the loop: it may query) and to its message, if any, being sent to
    `group_of(key)`. `read` returning None sends nothing (nobody is watching)."""

    def __init__(
        self,
        interval: float,
        *,
        read: Callable[[K], dict | None],
        group_of: Callable[[K], str],
        what: str,
    ) -> None:
        self.interval = interval
        self._read = read
        self._group_of = group_of
        self._what = what
        self._coalescers: dict[int, Coalescer[K, bool]] = {}
        self._failures = FailureLog(logger, f"Staff pages could not be pushed {what}")

    def changed(self, key: K) -> None:
        """Called after commit, from any thread; never blocks, never raises."""
        self.call_on_loop(self._offer, key)

    def send_soon(self, key: K, message: dict) -> None:
        """A message of its own (a staff note): rare, never coalesced."""
        self.call_on_loop(lambda: asyncio.ensure_future(self._send(key, message)))

    def call_on_loop(self, callback: Callable, *args: object) -> None:
        try:
            loop = function_publisher._running_loop()
            # A fresh context: the caller's (a sync thread of asgiref's) must not follow the
            # push onto the loop, or its database read would count as "in that thread".
            loop.call_soon_threadsafe(partial(callback, *args), context=contextvars.Context())
        except RuntimeError:
            logger.warning("Live publisher loop is closed; dropped a push of %s", self._what)

    def _offer(self, key: K) -> None:
        loop = asyncio.get_running_loop()
        coalescer = self._coalescers.get(id(loop))
        if coalescer is None:
            coalescer = Coalescer(self.interval, self._push, lambda old, new: new, burst=2)
            self._coalescers[id(loop)] = coalescer
        coalescer.offer(key, True)

    async def _push(self, key: K, _: bool) -> None:
        try:
            message = await database_sync_to_async(self._read)(key)
        except Exception as error:
            self._failures.failed(error)
            return
        if message is not None:
            await self._send(key, message)

    async def _send(self, key: K, message: dict) -> None:
        try:
            await get_channel_layer().group_send(self._group_of(key), message)
        except Exception as error:
            self._failures.failed(error)
