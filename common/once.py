"""Per-process singletons that threads may race to create."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessSingleton(Generic[T]):
    """`factory()`, made at most once per process however many threads ask at once.

    functools.cache is not enough: threads that ask together each run the factory, and all
    but one result are dropped. For a redis-py client made by `from_url` that is worse than
    waste - the client owns its connection pool and disconnects it when the garbage
    collector reaches it, which can be while the thread that made it is still reading from
    one of those connections ("I/O operation on closed file": a 500 on the hold path, seen
    when a fresh gunicorn worker took several holds at once).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._made = False
        self._value: T | None = None
        functools.update_wrapper(self, factory)

    def __call__(self) -> T:
        if not self._made:  # checked again under the lock: only the first caller makes it
            with self._lock:
                if not self._made:
                    self._value = self._factory()
                    self._made = True
        return self._value  # type: ignore[return-value]

    def cache_clear(self) -> None:
        """Forget the instance (tests that change settings); the next call makes a new one."""
        with self._lock:
            self._made = False
            self._value = None


def process_singleton(factory: Callable[[], T]) -> ProcessSingleton[T]:
    """Decorator form of ProcessSingleton."""
    return ProcessSingleton(factory)
