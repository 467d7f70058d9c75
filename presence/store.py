"""Who is registering right now: counts of people per function and step (docs/design.md §5).

A heartbeat-with-TTL store. Every server process refreshes the people it holds sockets
for every heartbeat_interval() seconds; an entry not refreshed for ttl() seconds is gone,
so the people of a server process that crashed (or was SIGKILLed) disappear by
themselves.

People, not tabs: an entry is a buyer identity (the session's buyer key), never a socket.
Only counts leave the store - never who - and nothing personal is kept in it.

Production keeps one Redis sorted set per function and step, scored by last heartbeat:
counting is a ZCOUNT per step (O(log n)), so a count costs the same for 20 people as for
2,000. The embedded default keeps the same thing in a dict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from common.failures import REDIS_ERRORS, FailureLog
from common.once import process_singleton
from common.redis import key, redis_client

logger = logging.getLogger(__name__)

# The registration steps, in order, as plain strings: presence counts people per step but
# does not depend on the ticketing app that defines them (that app hands presence each
# person's step; a test checks this list against Registration.STEP_ORDER).
STEPS: tuple[str, ...] = (
    "ticket_selection",
    "attendee_details",
    "review",
    "payment",
    "confirmation",
)
# Where someone without a registration is: browsing the function page.
FIRST_STEP = STEPS[0]


def heartbeat_interval() -> float:
    """Seconds between refreshes of every present person (settings.PRESENCE_HEARTBEAT)."""
    return settings.PRESENCE_HEARTBEAT


def ttl() -> float:
    """An entry this old belongs to a process that stopped refreshing it: three missed
    heartbeats, so one slow tick never drops a person who is still there."""
    return 3 * heartbeat_interval()


@dataclass(frozen=True, slots=True)
class PresenceCounts:
    """How many people are present on a function, and at which step. Hashable."""

    total: int
    by_step: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, total: int, by_step: Mapping[str, int]) -> PresenceCounts:
        return cls(total, tuple((step, by_step.get(step, 0)) for step in STEPS))

    def at(self, step: str) -> int:
        return dict(self.by_step).get(step, 0)


EMPTY = PresenceCounts.of(0, {})


class PresenceStore(Protocol):
    async def touch(self, function_id: int, people: Mapping[str, str]) -> None:
        """Mark people (buyer key -> step) present now, at those steps."""

    async def forget(self, function_id: int, person: str) -> None:
        """The person left: their last socket on this function closed."""

    async def counts(self, function_id: int) -> PresenceCounts: ...


class MemoryPresenceStore:
    """For the embedded default: this process is the only one."""

    def __init__(self) -> None:
        self._seen: dict[int, dict[str, tuple[str, float]]] = {}

    async def touch(self, function_id: int, people: Mapping[str, str]) -> None:
        now = time.monotonic()
        entries = self._seen.setdefault(function_id, {})
        for person, step in people.items():
            entries[person] = (step, now)

    async def forget(self, function_id: int, person: str) -> None:
        self._seen.get(function_id, {}).pop(person, None)

    async def counts(self, function_id: int) -> PresenceCounts:
        cutoff = time.monotonic() - ttl()
        entries = self._seen.get(function_id, {})
        for person in [p for p, (_, seen) in entries.items() if seen < cutoff]:
            del entries[person]
        by_step: dict[str, int] = {}
        for step, _ in entries.values():
            by_step[step] = by_step.get(step, 0) + 1
        return PresenceCounts.of(len(entries), by_step)


class RedisPresenceStore:
    """For production: shared by every server process.

    Redis away: a write (touch, forget) is skipped with one log line per 10 s; the next
    heartbeat writes everyone again, and entries nobody forgot age out after ttl(). A
    count raises: the caller keeps showing the last counts it had.
    """

    def __init__(self) -> None:
        self._failures = FailureLog(logger, "Presence cannot reach Redis; writes skipped")

    @staticmethod
    def _all(function_id: int) -> str:
        return key("presence", function_id, "all")

    @staticmethod
    def _step(function_id: int, step: str) -> str:
        return key("presence", function_id, "step", step)

    async def touch(self, function_id: int, people: Mapping[str, str]) -> None:
        if not people:
            return
        try:
            await self._touch(function_id, people)
        except REDIS_ERRORS as error:
            self._failures.failed(error)

    async def _touch(self, function_id: int, people: Mapping[str, str]) -> None:
        now = time.time()
        all_key = self._all(function_id)
        async with redis_client().pipeline(transaction=True) as pipe:
            pipe.zadd(all_key, dict.fromkeys(people, now))
            for step in STEPS:
                here = {person: now for person, at in people.items() if at == step}
                elsewhere = [person for person, at in people.items() if at != step]
                if here:
                    pipe.zadd(self._step(function_id, step), here)
                if elsewhere:
                    pipe.zrem(self._step(function_id, step), *elsewhere)
            for k in (all_key, *(self._step(function_id, s) for s in STEPS)):
                pipe.expire(k, round(ttl() * 2))
            await pipe.execute()

    async def forget(self, function_id: int, person: str) -> None:
        try:
            async with redis_client().pipeline(transaction=True) as pipe:
                pipe.zrem(self._all(function_id), person)
                for step in STEPS:
                    pipe.zrem(self._step(function_id, step), person)
                await pipe.execute()
        except REDIS_ERRORS as error:
            self._failures.failed(error)

    async def counts(self, function_id: int) -> PresenceCounts:
        cutoff = time.time() - ttl()
        keys = [self._all(function_id), *(self._step(function_id, s) for s in STEPS)]
        async with redis_client().pipeline(transaction=False) as pipe:
            for k in keys:
                # Prune what dead processes left, then count the living.
                pipe.zremrangebyscore(k, "-inf", f"({cutoff}")
                pipe.zcard(k)
            results = await pipe.execute()
        total, *per_step = results[1::2]
        return PresenceCounts.of(total, dict(zip(STEPS, per_step, strict=True)))


@process_singleton
def presence_store() -> PresenceStore:
    """This process's store (the memory one holds state, so there is exactly one)."""
    return RedisPresenceStore() if settings.REDIS_URL else MemoryPresenceStore()
