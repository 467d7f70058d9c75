"""Degrading, not failing, when Redis is away (docs/design.md §4.9).

Redis holds nothing that is the truth: sessions are written through to PostgreSQL, rate
limits and socket caps are guards, presence is a count. So every Redis call of ours
catches `REDIS_ERRORS` and falls back, and says so through a `FailureLog`: one line per
interval per kind of failure, with how many were left unsaid, never one line per request
(under load that would be thousands a second, while nothing new is being learnt).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

# What a Redis that is down, restarting, paused or unreachable raises through redis-py:
# ConnectionError and TimeoutError are RedisErrors; OSError and the builtin TimeoutError
# cover what escapes from the socket and asyncio layers underneath it.
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)

# One warning per this many seconds and kind of failure.
FAILURE_LOG_INTERVAL = 10.0


class FailureLog:
    """A logger for a failure that repeats: `failed()` logs the first time and then at most
    once per `interval` seconds, counting the calls in between. Thread-safe (request
    threads share one)."""

    def __init__(
        self, logger: logging.Logger, message: str, interval: float = FAILURE_LOG_INTERVAL
    ) -> None:
        self.logger = logger
        self.message = message
        self.interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._unsaid = 0

    def failed(self, error: BaseException | None = None) -> bool:
        """Count one failure; True when this call wrote the log line."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                self._unsaid += 1
                return False
            self._last, unsaid, self._unsaid = now, self._unsaid, 0
        suffix = f" ({unsaid} more since the last report)" if unsaid else ""
        detail = f": {type(error).__name__}: {error}" if error is not None else ""
        self.logger.warning("%s%s%s", self.message, detail, suffix)
        return True


class Breaker:
    """Skip a dependency for `cooldown` seconds after it failed.

    With a paused Redis every call waits out the socket timeout; a request that reads the
    session, checks a rate limit and writes the session back would wait three times. Once
    a call has failed, the others in the next `cooldown` seconds fall back at once, and the
    first call after it tries Redis again (so recovery is noticed within a second).
    """

    def __init__(self, cooldown: float = 1.0) -> None:
        self.cooldown = cooldown
        self._open_until = float("-inf")

    def closed(self) -> bool:
        """Whether to try the dependency now."""
        return time.monotonic() >= self._open_until

    def tripped(self) -> None:
        self._open_until = time.monotonic() + self.cooldown


class Unavailable(Exception):
    """Raised instead of calling a dependency whose breaker is open."""
