"""The live sockets this server process holds, and the upkeep done for all of them at once
(one Redis round trip per tick, however many sockets)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tickets.live.sockets import SOCKET_HEARTBEAT, socket_registry

if TYPE_CHECKING:
    from tickets.live.consumers import FunctionConsumer

logger = logging.getLogger(__name__)


class LocalSockets:
    def __init__(self) -> None:
        self._consumers: set[FunctionConsumer] = set()

    def add(self, consumer: FunctionConsumer) -> None:
        self._consumers.add(consumer)

    def discard(self, consumer: FunctionConsumer) -> None:
        self._consumers.discard(consumer)

    def __len__(self) -> int:
        return len(self._consumers)

    def all(self) -> list[FunctionConsumer]:
        return list(self._consumers)


local_sockets = LocalSockets()


async def keep_socket_entries_fresh_forever() -> None:
    """Heartbeat every local socket's registry entry, in one round trip per tick."""
    while True:
        await asyncio.sleep(SOCKET_HEARTBEAT)
        try:
            await socket_registry().heartbeat([c.identity for c in local_sockets.all()])
        except Exception:
            logger.warning("Socket heartbeat failed; retrying next tick", exc_info=True)
