"""`manage.py bench presence --people N`: N people on one function, seen from elsewhere.

Two ASGI servers share Redis, as two production workers do: N people connect to one (each
with their own session), an observer page is open on the other. Measured, each from the
moment of the change until the observer's page shows the new count:

- joins: all but one of the N people connected; then the last one joins, and leaves
  (a leave includes the deliberate one-second grace that keeps counts from blinking
  between wizard pages);
- half of them close their page at once;
- ghost expiry: the people's server was killed with SIGKILL - nobody said goodbye, so
  the entries must age out (three missed heartbeats).

The raw baseline, in the same run: one Redis pipeline recording the same N people in the
same sorted sets, then counting them - what the store costs without anything around it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
import uuid

import redis.asyncio as aioredis
import websockets
from django.conf import settings
from django.core.management.base import CommandError

from bench.data import delete_bench_function, make_bench_function, session_store
from bench.measure import format_table, median
from bench.processes import ServerProcess, asgi_server, on_production_services, raise_file_limit
from common.buyers import BUYER_SESSION_KEY
from presence.local import LEAVE_GRACE
from presence.store import STEPS
from tickets.models import Function

HELP = "N people on one function: how fast other pages' presence counts converge."

TOTAL = re.compile(rb'id="presence"[^>]*data-total="(\d+)"')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--people", type=int, default=500, help="people present (default 500)")
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=settings.PRESENCE_HEARTBEAT,
        help="presence heartbeat of both servers, seconds (default: the setting, "
        f"{settings.PRESENCE_HEARTBEAT})",
    )


def run(out, *, people: int, heartbeat: int, **options) -> None:
    if people < 2:
        raise CommandError("--people must be at least 2.")
    if heartbeat < 1:
        raise CommandError("--heartbeat must be at least 1 second.")
    if not on_production_services():
        raise CommandError(
            "bench presence needs the production shape: DATABASE_URL (PostgreSQL) and "
            "REDIS_URL, so that two servers share one presence store."
        )
    raise_file_limit()

    raw = asyncio.run(_raw_baseline(people))
    function = make_bench_function("presence", capacity=10).event.function
    # One more session for the observer: a socket without one is nobody in presence.
    cookies = _sessions(people + 1)
    env = {
        "PRESENCE_HEARTBEAT": str(heartbeat),
        "LIVE_MAX_SOCKETS_PER_IP": str(people * 2 + 100),
    }
    try:
        with asgi_server("uvicorn", env=env) as observer, asgi_server("uvicorn", env=env) as crowd:
            out.write(f"{people} people on {crowd.url}, observer on {observer.url}...")
            phases = asyncio.run(
                _measure(function, cookies[:-1], cookies[-1], observer.url, crowd, heartbeat)
            )
    finally:
        store = session_store()
        for session_key in cookies:
            store.delete(session_key)
        delete_bench_function(function)

    out.write("")
    out.write(
        format_table(
            ["change", "people", "converged after (s)", "raw Redis record + count (ms)", "ratio"],
            [
                [label, count, seconds, raw * 1000, f"{seconds / raw:,.0f}x" if raw else "-"]
                for label, count, seconds in phases
            ],
        )
    )
    out.write("")
    out.write(
        f"Counts are pushed at most once a second; a leave waits a {LEAVE_GRACE:g} s grace; "
        f"ghosts age out after 3 missed heartbeats of {heartbeat} s."
    )


async def _raw_baseline(people: int) -> float:
    """Median time to record N people at steps in sorted sets and count them."""
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    prefix = f"{settings.REDIS_PREFIX}:bench:presence:{uuid.uuid4().hex}"
    timings = []
    try:
        for _ in range(5):
            started = time.perf_counter()
            now = time.time()
            async with client.pipeline(transaction=True) as pipe:
                pipe.zadd(f"{prefix}:all", {f"p{n}": now for n in range(people)})
                pipe.zadd(f"{prefix}:{STEPS[0]}", {f"p{n}": now for n in range(people)})
                await pipe.execute()
            async with client.pipeline(transaction=False) as pipe:
                for key in ("all", *STEPS):
                    pipe.zcount(f"{prefix}:{key}", now - 30, "+inf")
                await pipe.execute()
            timings.append(time.perf_counter() - started)
        await client.delete(f"{prefix}:all", *(f"{prefix}:{s}" for s in STEPS))
    finally:
        await client.aclose()
    return median(timings)


async def _measure(
    function, cookies, observer_cookie, observer_url, people_server: ServerProcess, heartbeat
):
    people_url = people_server.url
    observed: list[int] = [0]
    changed = asyncio.Event()

    async def watch() -> None:
        url = _ws(observer_url, function)
        async with websockets.connect(
            url,
            origin=observer_url,
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={observer_cookie}"},
        ) as socket:
            async for message in socket:
                match = TOTAL.search(message.encode() if isinstance(message, str) else message)
                if match:
                    observed[0] = int(match.group(1))
                    changed.set()

    async def until_total(total: int, within: float) -> float:
        started = time.perf_counter()
        while observed[0] != total:
            changed.clear()
            remaining = within - (time.perf_counter() - started)
            if remaining <= 0:
                raise CommandError(f"presence showed {observed[0]}, never {total}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=remaining)
        return time.perf_counter() - started

    watcher = asyncio.create_task(watch())
    await until_total(1, within=10)

    people = len(cookies)
    url = _ws(people_url, function)
    gate = asyncio.Semaphore(100)

    async def join(cookie: str):
        async with gate:
            socket = await websockets.connect(
                url,
                origin=people_url,
                additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
                open_timeout=60,
            )
            await socket.recv()
        readers.append(asyncio.create_task(read_everything(socket)))
        return socket

    async def read_everything(socket) -> None:
        # As a browser does: an unread socket would back up and stall its server.
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in socket:
                pass

    readers: list[asyncio.Task] = []
    sockets = await asyncio.gather(*(join(c) for c in cookies[:-1]))
    phases = [("all but one joined", people - 1, await until_total(people, within=30))]
    latecomer = await join(cookies[-1])
    phases.append((f"one more joins ({people} present)", 1, await until_total(people + 1, 30)))
    await latecomer.close()
    phases.append((f"one leaves ({people} present)", 1, await until_total(people, within=30)))

    leaving = sockets[: people // 2]
    await asyncio.gather(*(s.close() for s in leaving))
    remaining = people - 1 - len(leaving)
    phases.append(("half leave at once", len(leaving), await until_total(remaining + 1, 30)))

    await asyncio.to_thread(people_server.stop, kill=True)
    ghosts = remaining
    phases.append(
        ("ghost expiry after SIGKILL", ghosts, await until_total(1, within=heartbeat * 6 + 30))
    )
    watcher.cancel()
    await asyncio.gather(*(s.close() for s in sockets[len(leaving) :]), return_exceptions=True)
    return phases


def _ws(base_url: str, function: Function) -> str:
    return base_url.replace("http", "ws", 1) + f"/ws/functions/{function.slug}/"


def _sessions(people: int) -> list[str]:
    """N real sessions, each with its own buyer identity, as N browsers would have - in
    whatever engine the server reads them from (Redis in the production shape)."""
    keys = []
    for _ in range(people):
        session = session_store()
        session[BUYER_SESSION_KEY] = f"bench-{uuid.uuid4().hex}"
        session.create()
        keys.append(session.session_key)
    return keys
