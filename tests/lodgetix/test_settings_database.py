"""The database settings: a bounded connection pool per process on PostgreSQL.

The acceptance test is `make run`'s server (daphne: a thread per request under ASGI) on
PostgreSQL + Redis: 500 page loads and 500 live viewers at once. Before the pool, Django
kept a connection per request thread and PostgreSQL answered "too many clients"; now the
server's connections (pg_stat_activity, told apart by their application_name) stay at or
under DB_POOL_MAX_SIZE throughout, no request answers 5xx, and every viewer ends on the
final availability.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
import websockets
from django.conf import settings
from django.db import connection

from common.redis import key as redis_key
from common.redis import sync_redis_client
from lodgetix.settings import database_config
from tests.support.factories import hold, make_ticket_type, refreshed
from tests.support.servers import AsgiServer, database_url_of_this_run

# Each viewer loads the function page, then opens its socket with the page's session
# cookie and origin, as a browser does: 500 page loads and 500 viewers.
VIEWERS = PAGE_LOADS = 500
POOL_SIZE = 10  # the default DB_POOL_MAX_SIZE
# CI runs on 2 shared cores: every phase has a deadline, and the whole test one too.
DEADLINE = 280


def test_postgresql_gets_a_bounded_pool_and_no_persistent_connections():
    config = database_config("postgres://u@db.example:5432/lodgetix")
    assert config["CONN_MAX_AGE"] == 0
    assert config["OPTIONS"]["pool"] == {
        "min_size": settings.DB_POOL_MIN_SIZE,
        "max_size": settings.DB_POOL_MAX_SIZE,
        "timeout": settings.DB_POOL_TIMEOUT,
    }
    assert config["OPTIONS"]["connect_timeout"] == settings.DB_CONNECT_TIMEOUT


def test_sqlite_has_no_pool():
    assert "pool" not in database_config("")["OPTIONS"]


@dataclass
class Peak:
    samples: int = 0
    highest: int = 0
    seen: Counter = field(default_factory=Counter)


async def monitor_connection() -> psycopg.AsyncConnection:
    """A connection of the test's own, opened before the crowd arrives (its connect would
    otherwise queue behind a thousand clients on this event loop)."""
    params = connection.get_connection_params()
    for name in ("pool", "cursor_factory", "context"):
        params.pop(name, None)
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


async def watch_connections(
    conn: psycopg.AsyncConnection, application_name: str, peak: Peak, stop: asyncio.Event
) -> None:
    """Sample the server's connections to the test database every 50 ms."""
    async with conn:
        while not stop.is_set():
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s",
                    [application_name],
                )
            ).fetchone()
            peak.samples += 1
            peak.highest = max(peak.highest, row[0])
            peak.seen[row[0]] += 1
            await asyncio.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_500_page_loads_and_500_viewers_stay_within_the_pool_without_5xx():
    ticket_type = make_ticket_type(capacity=1000)
    function = ticket_type.event.function
    application_name = f"lodgetix-pool-test-{time.monotonic_ns()}"
    server = AsgiServer(
        "daphne",
        extra_env={
            "DATABASE_URL": f"{database_url_of_this_run()}?application_name={application_name}",
            "DB_POOL_MAX_SIZE": str(POOL_SIZE),
            # Every viewer comes from 127.0.0.1; dropped handshakes may linger in the caps.
            "LIVE_MAX_SOCKETS_PER_IP": "100000",
            "LIVE_MAX_SOCKETS_PER_SESSION": "100000",
            "HOLD_RATE_LIMIT_PER_IP": "off",
        },
    )
    try:
        with server:
            result = asyncio.run(
                asyncio.wait_for(
                    crowd(server.url, function, ticket_type, application_name), DEADLINE
                )
            )
    finally:
        # The stopped server's 500 sockets would count against 127.0.0.1's socket cap
        # in the shared Redis until they age out, refusing the next tests' sockets.
        sync_redis_client().delete(redis_key("sockets", "ip", "127.0.0.1"))
    statuses, peak, converged, final = result
    print(
        f"page loads: {dict(statuses)}; server connections: peak {peak.highest} of a pool "
        f"of {POOL_SIZE} ({peak.samples} samples); viewers on the final availability "
        f"({final}): {converged}/{VIEWERS}"
    )
    assert sum(n for status, n in statuses.items() if status >= 500) == 0, statuses
    assert statuses == Counter({200: PAGE_LOADS}), statuses
    assert 1 <= peak.highest <= POOL_SIZE, peak
    assert converged == VIEWERS


async def crowd(url, function, ticket_type, application_name):
    peak, stop = Peak(), asyncio.Event()
    watcher = asyncio.create_task(
        watch_connections(await monitor_connection(), application_name, peak, stop)
    )
    page = f"{url}/functions/{function.slug}/"
    ws_url = url.replace("http", "ws", 1) + f"/ws/functions/{function.slug}/"
    available = re.compile(
        rf'id="availability-{ticket_type.pk}"[^>]*data-available="(\d+)"'.encode()
    )
    statuses: Counter = Counter()
    failures: Counter = Counter()
    dropped_handshakes: Counter = Counter()  # why sockets had to reconnect
    latest: list[int | None] = [None] * VIEWERS
    target: list[int] = []
    done = [asyncio.Event() for _ in range(VIEWERS)]
    opened = [asyncio.Event() for _ in range(VIEWERS)]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    timeout = httpx.Timeout(120, connect=60)

    async def load(client: httpx.AsyncClient) -> httpx.Response:
        response = await client.get(page)
        statuses[response.status_code] += 1
        return response

    async def viewer(index: int) -> None:
        try:
            await watch(index)
        except Exception as error:  # counted and shown, so a failure says what it was
            failures[type(error).__name__ + ": " + str(error)[:120]] += 1
        finally:
            opened[index].set()

    async def watch(index: int) -> None:
        # As a browser: the page first, then its socket with the page's session and origin.
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            response = await load(client)
        cookie = "; ".join(f"{name}={value}" for name, value in response.cookies.items())
        # daphne drops a handshake the app has not accepted within 5 s; a browser's page
        # (htmx's WebSocket extension) then reconnects with a jittered exponential
        # backoff: so does this viewer, and the reconnects are counted.
        attempt = 0
        while True:
            try:
                socket = await websockets.connect(
                    ws_url, origin=url, additional_headers={"Cookie": cookie},
                    open_timeout=120, max_size=2**20, compression=None,
                )  # fmt: skip
                break
            except (websockets.InvalidHandshake, OSError) as error:
                dropped_handshakes[f"{type(error).__name__}: {str(error)[:60]}"] += 1
                await asyncio.sleep(random.uniform(0, min(30, 2**attempt)))
                attempt += 1
        async with socket:
            opened[index].set()
            async for message in socket:
                data = message if isinstance(message, bytes) else message.encode()
                match = available.search(data)
                if match:
                    latest[index] = int(match.group(1))
                if target and latest[index] == target[0]:
                    done[index].set()
                    # Keep the socket open until everyone is done: a viewer of a live page.
                    await asyncio.Event().wait()

    started = time.monotonic()
    try:
        # Everyone at once: the page loads, and each page's socket as soon as its page is
        # in, so sockets open (and read their snapshots) while pages are still loading.
        viewers = [asyncio.create_task(viewer(i)) for i in range(VIEWERS)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 200)
        print(
            f"\n{VIEWERS} pages and sockets in {time.monotonic() - started:.1f} s; "
            f"reconnects after dropped handshakes: {dict(dropped_handshakes)}"
        )
        assert not failures, failures
        # A change while every viewer watches: holds committed in this process, pushed
        # through Redis to the server's hub.
        for n in range(5):
            await asyncio.to_thread(hold_one, ticket_type, n)
        final = (await asyncio.to_thread(refreshed, ticket_type)).available
        target.append(final)
        for index, seen in enumerate(latest):
            if seen == final:
                done[index].set()
        # A viewer that never converges is counted below, not raised here.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done)), 30)
        return statuses, peak, sum(1 for seen in latest if seen == final), final
    finally:
        stop.set()
        for task in viewers:
            task.cancel()
        await asyncio.gather(*viewers, return_exceptions=True)
        await watcher


def hold_one(ticket_type, n: int) -> None:
    from django.db import connections

    try:
        hold(ticket_type, 2, buyer=f"pool-test-{n}")
    finally:
        connections.close_all()
