"""common.once: per-process singletons survive threads that ask for them together.

The bug it fixes was seen on the hold path: a fresh gunicorn worker's threads each made a
Redis client through functools.cache, the extra ones were dropped, and the garbage
collector's disconnect of their pools broke a rate-limit round trip in flight (a 500).
Each test has a control with functools.cache, to show the harness sees the race.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from common import ratelimit
from common.once import process_singleton
from common.redis import sync_redis_client

THREADS = 8


def ask_together(fetch: Callable[[], object], *, threads: int = THREADS) -> list[BaseException]:
    """Call `fetch` from `threads` threads released at the same instant; their errors."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            fetch()
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def slow_factory(made: list[int]) -> Callable[[], object]:
    def factory() -> object:
        made.append(1)
        time.sleep(0.02)  # an injected delay: the other threads arrive while it runs
        return object()

    return factory


def test_threads_asking_together_get_one_instance():
    made: list[int] = []
    singleton = process_singleton(slow_factory(made))
    seen: list[object] = []
    assert ask_together(lambda: seen.append(singleton())) == []
    assert len(made) == 1
    assert len({id(x) for x in seen}) == 1


def test_control_functools_cache_makes_one_per_thread():
    made: list[int] = []
    cached = functools.cache(slow_factory(made))
    ask_together(cached)
    assert len(made) > 1


def test_cache_clear_makes_a_new_one_next_time():
    singleton = process_singleton(object)
    first = singleton()
    assert singleton() is first
    singleton.cache_clear()
    assert singleton() is not first


def race_first_use_of_the_redis_client(rounds: int, client_factory: Callable[[], Callable]):
    """Fresh-worker conditions, repeatedly: no client yet, every thread takes a rate-limit
    hit at once, and the garbage collector runs while they work. Returns the errors."""
    errors: list[BaseException] = []
    for _ in range(rounds):
        get_client = client_factory()
        key = f"tests:once:{uuid.uuid4().hex}"

        def hit(get_client=get_client, key=key) -> None:
            for _ in range(3):
                ratelimit._count_in_redis(get_client, [(key, 60)])
                gc.collect(0)  # the youngest generation: where a just-dropped client is

        errors += ask_together(hit)
        if errors:
            break
    return errors


def slow_redis_client():
    """The real client factory with an injected delay, so the threads of a round all ask
    while the first client is still being made (on a quiet machine they otherwise rarely
    overlap, and the control would depend on the machine's load)."""
    client = sync_redis_client.__wrapped__()
    time.sleep(0.01)
    return client


@pytest.mark.redis
def test_a_fresh_worker_racing_for_the_redis_client_gets_no_errors():
    def fresh_singleton() -> Callable:
        return process_singleton(slow_redis_client)

    assert race_first_use_of_the_redis_client(30, fresh_singleton) == []


@pytest.mark.redis
def test_control_with_functools_cache_the_race_breaks_a_round_trip():
    errors = race_first_use_of_the_redis_client(200, lambda: functools.cache(slow_redis_client))
    # The symptom depends on where the collector strikes: "I/O operation on closed file",
    # "Bad file descriptor", a parser already torn down ('NoneType' ... 'readline').
    assert errors, "the harness did not see the race it exists to catch"
