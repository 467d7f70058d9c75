"""Admission and flood limit of a buyer's socket, shared by every page socket
(FunctionConsumer and its waitlist subclass, NamesConsumer).

Admission (docs/design.md §4.7, §4.9): the socket is someone (the session's buyer key;
people, not tabs), the caps across processes (tickets.live.registry.SocketCaps) decide
whether it may open and which older tabs of the same person must close (4001); when
Redis is away the socket is accepted and closed with 1013 "try again later", which the
htmx WebSocket extension reconnects after.

Bounded: a client may send CLIENT_MESSAGES_PER_SECOND messages a second with a burst of
CLIENT_MESSAGE_BURST; past that the socket is closed with 1008 (policy violation), after
which htmx does not reconnect.
"""

from __future__ import annotations

import logging
import time

from common.buyers import buyer_key_of
from common.client import client_address
from common.failures import REDIS_ERRORS, FailureLog
from tickets.live.registry import SocketIdentity, socket_caps

logger = logging.getLogger(__name__)

# A page sends a keep-alive now and then; ten a second with a burst of twenty is far
# beyond any page and far below what costs the server anything.
CLIENT_MESSAGES_PER_SECOND = 10.0
CLIENT_MESSAGE_BURST = 20

# Close codes of our own (4000-4999 are for applications). htmx does not reconnect after
# them, which is the point: the page says why live updates stopped.
CLOSE_TOO_MANY_TABS = 4001
# Standard codes: htmx reconnects after 1013, not after 1008.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013

_admission_failures = FailureLog(
    logger, "Socket caps cannot reach Redis; refusing new sockets with 1013"
)
_cap_release_failures = FailureLog(logger, "Socket caps cannot reach Redis; entry left to age out")


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; one per client message."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class CappedSocket:
    """Mixed into an AsyncWebsocketConsumer: admission through the caps, its release, the
    eviction message and the client message rate. The consumer calls `admit_socket()`
    in connect, `release_socket()` in disconnect and `flooding()` first in receive."""

    admitted = False
    flooded = False
    identity: SocketIdentity

    async def admit_socket(self) -> bool:
        """Whether the socket may open; when not, it has been closed (or refused)."""
        session = self.scope.get("session")
        buyer_key = session and buyer_key_of(session)
        # People, not tabs: every socket of one browser session is the same person. A
        # socket without one is nobody in presence: sockets cost a script nothing.
        self.identity = SocketIdentity(
            channel=self.channel_name,
            person=buyer_key or self.channel_name,
            address=client_address(self.scope),
            counted=bool(buyer_key),
        )
        try:
            admission = await socket_caps().admit(self.identity)
        except REDIS_ERRORS as error:
            # Accepted, then closed: a refused handshake would also make the browser
            # retry (as 1006), but 1013 says why, to the page and in the logs.
            _admission_failures.failed(error)
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return False
        if not admission.admitted:
            await self.close()
            return False
        try:
            for channel_name in admission.evict:
                await self.channel_layer.send(channel_name, {"type": "socket.evicted"})
        except Exception as error:  # the layer is away: the old tab stays, no harm done
            _admission_failures.failed(error)
        self.admitted = True
        self.messages = TokenBucket(CLIENT_MESSAGES_PER_SECOND, CLIENT_MESSAGE_BURST)
        self.flooded = False
        return True

    async def release_socket(self) -> None:
        if self.admitted:
            try:
                await socket_caps().leave(self.identity)
            except REDIS_ERRORS as error:  # its entry ages out after SOCKET_TTL
                _cap_release_failures.failed(error)

    async def flooding(self) -> bool:
        """Whether this message is to be dropped: the socket is closing already, or the
        client has just gone over its rate (then it is closed with 1008)."""
        if self.flooded:
            return True  # closing already; what is still in flight is dropped
        if not self.messages.take():
            self.flooded = True
            self.on_flood()
            await self.close(code=CLOSE_POLICY_VIOLATION)
            return True
        return False

    def on_flood(self) -> None:
        """Called once when the client goes over its rate (for counting)."""

    async def socket_evicted(self, message: dict) -> None:
        await self.close(code=CLOSE_TOO_MANY_TABS)
