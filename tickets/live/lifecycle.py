"""What the ASGI server process does for the live path when it starts.

Wired into lodgetix.asgi through common.server_tasks.ServerProcess.

On shutdown there is nothing of ours to do. uvicorn (the production /ws/ server) closes
every socket with 1012 "service restart"; daphne (runserver on the embedded default)
drops them without a close frame - its WebSocket library refuses to send 1012 - which
browsers report as 1006. The htmx WebSocket extension reconnects after either.
"""

from __future__ import annotations

import asyncio

from tickets.live.publisher import publisher


async def bind_publisher_to_server_loop() -> None:
    """Publish from the loop the consumers live on (required by the in-memory layer)."""
    publisher.bind(asyncio.get_running_loop())
