"""At most N HTTP requests inside Django at once, the rest waiting their turn in order.

Under ASGI (daphne's runserver, `make run`) every request runs its sync view on a thread of
its own. Sixty buyers clicking at once are sixty threads taking turns on one GIL (a switch
every 5 ms) and, on SQLite, polling for its one write lock with the busy timeout's sleeps:
every answer then arrives near the end of the burst, and the whole burst takes longer than
the same requests one after another. Letting a few in at a time and queueing the others on
the event loop (first come, first served) answers the first buyer first and wastes no time
on switching. WebSockets and the lifespan pass untouched; only plain HTTP queues.
"""

from __future__ import annotations

import asyncio
from typing import Any

ASGIApp = Any  # an ASGI 3 application: async (scope, receive, send) -> None


class HttpAdmission:
    """Wraps an ASGI app; `limit` HTTP requests at most run in it at the same time."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.app = app
        self.limit = limit
        # Made on first use, inside the server's event loop.
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
