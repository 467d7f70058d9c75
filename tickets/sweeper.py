"""The hold sweeper as a task inside the server process (embedded default)."""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from tickets.services.holds import release_lapsed_holds

logger = logging.getLogger(__name__)


async def sweep_lapsed_holds_forever() -> None:
    logger.info("Sweeping lapsed holds every %ss inside the server", settings.HOLD_SWEEP_INTERVAL)
    while True:
        try:
            await database_sync_to_async(release_lapsed_holds)()
        except Exception:
            # A failed sweep (database restarting) is retried on the next tick.
            logger.exception("Sweep of lapsed holds failed")
        await asyncio.sleep(settings.HOLD_SWEEP_INTERVAL)
