"""The people of one function this server process holds sockets for.

People only: which sockets they hold is the live path's record (its registry of local
sockets), which presence asks through the `holds(person)` callable it is given.

The step a person is at is always read from their registration (server-known), never
taken from the browser: at connect, and again at every heartbeat, in one query for all
the function's local people. Presence does not know registrations: whoever makes a
FunctionPresence (the live hub) hands it `steps_of`, a query of the ticketing app.

A person who closes their last socket stays counted for LEAVE_GRACE seconds: moving from
one wizard page to the next closes one socket and opens another, and the others on the
page should not see the count blink. One second covers a page load on a decent
connection and keeps a real departure visible within two seconds (one grace, one tick);
a slower page load may blink once, which is the cheaper error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from common.aio import spawn
from presence.store import EMPTY, FIRST_STEP, PresenceCounts, PresenceStore

LEAVE_GRACE = 1.0  # seconds

# (function id, people) -> each person's step, as the server knows it.
StepsOf = Callable[[int, list[str]], Awaitable[dict[str, str]]]
# person -> whether this process still holds a socket of theirs on the function.
Holds = Callable[[str], bool]


@dataclass
class LocalPerson:
    step: str
    left_at: float | None = None  # when their last socket here closed


class FunctionPresence:
    def __init__(
        self, function_id: int, store: PresenceStore, steps_of: StepsOf, holds: Holds
    ) -> None:
        self.function_id = function_id
        self.store = store
        self._steps_of = steps_of
        self._holds = holds
        self.people: dict[str, LocalPerson] = {}
        self.counts: PresenceCounts = EMPTY

    def step_of(self, person: str) -> str:
        entry = self.people.get(person)
        return entry.step if entry else FIRST_STEP

    async def join(self, person: str, step: str) -> None:
        """One more socket of `person` is here (already in the registry)."""
        entry = self.people.setdefault(person, LocalPerson(step))
        entry.step = step
        entry.left_at = None
        await self.store.touch(self.function_id, {person: step})

    def leave(self, person: str) -> None:
        """A socket of `person` closed (already out of the registry); if it was their last
        here, they go after the grace unless they come back."""
        entry = self.people.get(person)
        if entry is None or self._holds(person):
            return
        entry.left_at = time.monotonic()
        asyncio.get_running_loop().call_later(
            LEAVE_GRACE, lambda: spawn(self._forget_if_gone(person))
        )

    async def _forget_if_gone(self, person: str) -> None:
        entry = self.people.get(person)
        if entry is not None and not self._holds(person):
            del self.people[person]
            await self.store.forget(self.function_id, person)

    async def forget_everyone(self) -> None:
        """This process holds no socket of the function any more."""
        for person in list(self.people):
            await self.store.forget(self.function_id, person)
        self.people.clear()

    async def tick(self) -> PresenceCounts | None:
        """Recount; the new counts if they changed."""
        counts = await self.store.counts(self.function_id)
        if counts == self.counts:
            return None
        self.counts = counts
        return counts

    async def heartbeat(self) -> None:
        """Re-read everyone's step and refresh their entries, in one round trip each."""
        present = [person for person, entry in self.people.items() if entry.left_at is None]
        if not present:
            return
        steps = await self._steps_of(self.function_id, present)
        # People may have left while the query ran: never bring them back.
        still_here = {
            person: step
            for person, step in steps.items()
            if person in self.people and self.people[person].left_at is None
        }
        for person, step in still_here.items():
            self.people[person].step = step
        await self.store.touch(self.function_id, still_here)
