"""The hold sweeper as a task inside the server process (embedded default)."""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from common.health import beat
from common.housekeeping import Schedule
from tickets.services.holds import release_expired_holds

logger = logging.getLogger(__name__)


async def sweep_expired_holds_forever() -> None:
    logger.info("Sweeping expired holds every %ss inside the server", settings.HOLD_SWEEP_INTERVAL)
    housekeeping = Schedule(settings.HOUSEKEEPING_INTERVAL)
    while True:
        # Before the sweep, so a sweep that hangs stops the beats (/readyz: "stale").
        if settings.REDIS_URL:
            await asyncio.to_thread(beat, "sweeper")
        else:
            beat("sweeper")
        try:
            await database_sync_to_async(release_expired_holds)()
        except Exception:
            # A failed sweep (database restarting) is retried on the next tick.
            logger.exception("Sweep of expired holds failed")
        # Sessions, old interactions, unsold registrations' people; each job logs its
        # own failure.
        for line in await database_sync_to_async(housekeeping.run_due)():
            logger.info("Housekeeping: %s", line)
        await asyncio.sleep(settings.HOLD_SWEEP_INTERVAL)
