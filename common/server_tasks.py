"""Work that belongs to the ASGI server process itself, beside its requests.

On the embedded default the channel layer is in memory, so only this process can reach
its sockets: the hold sweeper must run here for its releases to be broadcast. The tasks
start on the server's own event loop at the first request (daphne sends no lifespan
events) or at lifespan startup (uvicorn).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

logger = logging.getLogger(__name__)

BackgroundTask = Callable[[], Awaitable[None]]


class ServerProcess:
    """ASGI middleware that starts the process's background tasks once."""

    def __init__(self, app, tasks: Sequence[BackgroundTask] = ()) -> None:
        self.app = app
        self.tasks = list(tasks)
        self._running: list[asyncio.Task] = []
        self._started = False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        self._start()
        await self.app(scope, receive, send)

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        for task in self.tasks:
            self._running.append(asyncio.create_task(_logged(task), name=task.__qualname__))

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._running:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _logged(task: BackgroundTask) -> None:
    try:
        await task()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Background task %s died", task.__qualname__)
