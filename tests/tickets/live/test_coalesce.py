"""The latest-state-wins rate limiter behind every live push."""

from __future__ import annotations

import asyncio
import time

from tickets.live.coalesce import Coalescer, newest_availability
from tickets.services.availability import TicketAvailability

INTERVAL = 0.1


def availability(ticket_type_id: int, version: int) -> TicketAvailability:
    return TicketAvailability(ticket_type_id, 1, 10, version, 0, version, True, 3)


class Recorder:
    def __init__(self) -> None:
        self.flushes: list[tuple[float, str, object]] = []
        self.event = asyncio.Event()

    async def __call__(self, key, value) -> None:
        self.flushes.append((time.monotonic(), key, value))
        self.event.set()

    async def next(self):
        await asyncio.wait_for(self.event.wait(), timeout=2)
        self.event.clear()
        return self.flushes[-1]


async def test_first_offer_flushes_at_once():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: new)
    started = time.monotonic()
    coalescer.offer("k", 1)
    at, key, value = await recorder.next()
    assert (key, value) == ("k", 1)
    assert at - started < INTERVAL / 2


async def test_offers_within_an_interval_merge_into_one_later_flush():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: old + new)
    coalescer.offer("k", 1)
    first_at, _, _ = await recorder.next()
    for n in (2, 3, 4):
        coalescer.offer("k", n)
    at, _, value = await recorder.next()
    assert value == 9
    assert at - first_at >= INTERVAL * 0.9
    assert len(recorder.flushes) == 2


async def test_keys_are_limited_independently():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: new)
    coalescer.offer("a", 1)
    coalescer.offer("b", 1)
    await recorder.next()
    await asyncio.sleep(0)
    assert {key for _, key, _ in recorder.flushes} == {"a", "b"}


async def test_burst_lets_a_steady_relay_through_without_waiting():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: new, burst=2)
    coalescer.offer("k", 1)
    await recorder.next()
    offered = time.monotonic()
    coalescer.offer("k", 2)  # a hair early for a strict one-per-interval limit
    at, _, _ = await recorder.next()
    assert at - offered < INTERVAL / 2


async def test_rate_holds_under_a_flood():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: new, burst=2)
    started = time.monotonic()
    while time.monotonic() - started < INTERVAL * 5:
        coalescer.offer("k", time.monotonic())
        await asyncio.sleep(INTERVAL / 20)
    await asyncio.sleep(INTERVAL * 1.5)
    elapsed = time.monotonic() - started
    assert len(recorder.flushes) <= 2 + elapsed / INTERVAL


async def test_cancel_drops_pending_flushes():
    recorder = Recorder()
    coalescer = Coalescer(INTERVAL, recorder, lambda old, new: new)
    coalescer.offer("k", 1)
    await recorder.next()
    coalescer.offer("k", 2)
    coalescer.cancel()
    await asyncio.sleep(INTERVAL * 1.5)
    assert [value for _, _, value in recorder.flushes] == [1]


def test_newest_availability_keeps_the_highest_version_per_ticket_type():
    old = {1: availability(1, 5), 2: availability(2, 9)}
    new = {1: availability(1, 4), 2: availability(2, 10), 3: availability(3, 1)}
    merged = newest_availability(old, new)
    assert {k: a.version for k, a in merged.items()} == {1: 5, 2: 10, 3: 1}
