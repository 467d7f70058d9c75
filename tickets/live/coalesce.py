"""Latest-state-wins rate limiting for live pushes.

A viewer needs the current state, not every intermediate one: at most one flush per key
per interval, each carrying everything that changed since the last. Cost then grows with
viewers x ticks, not viewers x sales - during a rush of hundreds of holds a second each
page still gets about four updates a second. The first change after a quiet spell goes
out at once, so a lone sale is seen without delay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from common.aio import spawn
from tickets.services.availability import TicketAvailability

K = TypeVar("K")
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Calls `flush(key, value)` about once per `interval` seconds per key at most.

    A token bucket per key: `burst` flushes may go out back to back, then one per
    interval. Values offered while a key waits are combined with `merge(old, new)`.
    A burst of 2 lets a relay of pushes that already arrive one per interval pass without
    waiting on clock jitter, while several sources together are still held to the rate.
    Must be used from one event loop (the one it was created on).
    """

    def __init__(
        self,
        interval: float,
        flush: Callable[[K, V], Awaitable[None]],
        merge: Callable[[V, V], V],
        burst: int = 1,
    ) -> None:
        self.interval = interval
        self.burst = burst
        self._flush = flush
        self._merge = merge
        self._pending: dict[K, V] = {}
        self._tokens: dict[K, tuple[float, float]] = {}  # key -> (tokens, as of when)
        self._scheduled: dict[K, asyncio.TimerHandle | asyncio.Handle] = {}

    def offer(self, key: K, value: V) -> None:
        if key in self._pending:
            self._pending[key] = self._merge(self._pending[key], value)
        else:
            self._pending[key] = value
        if key in self._scheduled:
            return
        loop = asyncio.get_running_loop()
        tokens = self._tokens_now(key, time.monotonic())
        if tokens >= 1:
            self._scheduled[key] = loop.call_soon(self._fire, key)
        else:
            wait = (1 - tokens) * self.interval
            self._scheduled[key] = loop.call_later(wait, self._fire, key)

    def cancel(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()
        self._pending.clear()

    def _tokens_now(self, key: K, now: float) -> float:
        tokens, as_of = self._tokens.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - as_of) / self.interval)

    def _fire(self, key: K) -> None:
        self._scheduled.pop(key, None)
        value = self._pending.pop(key, None)
        if value is None:
            return
        now = time.monotonic()
        # call_later may wake a hair early; never go below zero tokens.
        self._tokens[key] = (max(0.0, self._tokens_now(key, now) - 1), now)
        spawn(self._flush(key, value))


AvailabilityBatch = dict[int, TicketAvailability]


def newest_availability(old: AvailabilityBatch, new: AvailabilityBatch) -> AvailabilityBatch:
    """Merge two batches keeping, per ticket type, the highest version."""
    merged = dict(old)
    for ticket_type_id, availability in new.items():
        current = merged.get(ticket_type_id)
        if current is None or availability.version > current.version:
            merged[ticket_type_id] = availability
    return merged
