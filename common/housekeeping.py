"""Housekeeping the sweeper process runs every so often: "every N seconds run these".

Apps register their jobs at start (AppConfig.ready); the sweeper - `release_expired_holds
--loop` in production, the in-server task on the embedded default - calls
`Schedule.run_due()` between sweeps. No daemon of its own: the sweeper already runs in
every shape, exactly once per host. With several hosts each runs the jobs; they are
idempotent deletes and blanks, so running twice costs a query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("common.housekeeping")


@dataclass(frozen=True)
class Job:
    name: str
    # Does the work; returns a line for the sweeper's output (or None for nothing to say).
    run: Callable[[], str | None]


_jobs: dict[str, Job] = {}


def register(name: str, run: Callable[[], str | None]) -> None:
    """Add a job (registering a name again replaces it, so a reloaded app adds no twin)."""
    _jobs[name] = Job(name, run)


def jobs() -> list[Job]:
    return list(_jobs.values())


class Schedule:
    """Runs every registered job at the first call, then again once `every` seconds have
    passed. A job that fails is logged and tried again next time; the others still run."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._next_at: float | None = None

    def run_due(self) -> list[str]:
        """Run the jobs if they are due; the lines they reported."""
        now = self.clock()
        if self.every <= 0 or (self._next_at is not None and now < self._next_at):
            return []
        self._next_at = now + self.every
        lines = []
        for job in jobs():
            try:
                line = job.run()
            except Exception:
                logger.exception(
                    "Housekeeping job %s failed; retrying in %ss", job.name, self.every
                )
                continue
            if line:
                lines.append(f"{job.name}: {line}")
        return lines


def clear_expired_sessions() -> str | None:
    """What `manage.py clearsessions` does: delete sessions past their expiry date (the
    database rows; Redis expires its own copies)."""
    from importlib import import_module

    from django.conf import settings

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return None
