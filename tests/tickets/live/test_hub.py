"""A hub that loses its channel layer says so, and heals every socket when it returns.

For real, against the production /ws/ server: uvicorn in a subprocess whose Redis (channel
layer, caps, presence, sessions' cache) is a redis-server of this test's own, on its own
port, which the test stops and starts again. The shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets
from django.db import connection

from tests.support.factories import hold, make_event, make_function, make_ticket_type
from tests.support.html import elements_by_id
from tests.support.redis_server import RedisServer
from tests.support.servers import AsgiServer
from tickets.live.hub import PROBE_INTERVAL, PROBE_TIMEOUT

pytestmark = pytest.mark.django_db(transaction=True)

# The acceptance line: every viewer's badge equals the database within 5 s of recovery.
HEALED_WITHIN = 5.0


async def until(socket, predicate, within: float) -> dict:
    """Receive until a message satisfies predicate(fragments by id); fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the expected push never arrived"
        try:
            message = await asyncio.wait_for(socket.recv(), timeout=remaining)
        except TimeoutError:
            pytest.fail("the expected push never arrived")
        fragments = elements_by_id(message)
        if predicate(fragments):
            return fragments


def hold_and_close(*args, **kwargs) -> None:
    """A hold from a worker thread, whose connection must not outlive it (the test
    database is dropped at the end of the run)."""
    try:
        hold(*args, **kwargs)
    finally:
        connection.close()


def live_is(value: str):
    return lambda f: "live-indicator" in f and f["live-indicator"].attrs["data-live"] == value


async def outage_and_recovery(server: AsgiServer, redis: RedisServer, function, banquet):
    url = server.url.replace("http", "ws", 1) + f"/ws/functions/{function.slug}/"
    badge = f"availability-{banquet.pk}"
    async with websockets.connect(url, origin=server.url) as socket:
        snapshot = elements_by_id(await socket.recv())
        assert snapshot["live-indicator"].attrs["data-live"] == "true"
        version = int(snapshot[badge].attrs["data-version"])

        redis.stop()
        stopped = time.monotonic()
        # One probe interval to notice, one probe timeout at most to give up on it.
        await until(socket, live_is("false"), within=PROBE_INTERVAL + PROBE_TIMEOUT + 3)
        said_not_live = time.monotonic() - stopped

        # A sale while the layer is away: its push is published into the void.
        await asyncio.to_thread(hold_and_close, banquet, 3, buyer="during-the-outage")

        redis.start()
        restarted = time.monotonic()
        healed = await until(
            socket,
            lambda f: badge in f and int(f[badge].attrs["data-version"]) > version,
            within=HEALED_WITHIN,
        )
        healing = time.monotonic() - restarted
        if "live-indicator" not in healed:  # the same push, or the next one
            await until(socket, live_is("true"), within=HEALED_WITHIN - healing)
        # The badge shows the database: 3 held of 40.
        assert "37" in healed[badge].text
        return said_not_live, healing


def test_a_hub_that_loses_redis_says_not_live_and_heals_its_sockets_when_it_returns():
    function = make_function()
    banquet = make_ticket_type(make_event(function), capacity=40)
    redis = RedisServer().start()
    server = AsgiServer("uvicorn", extra_env={"REDIS_URL": redis.url})
    try:
        server.start()
        said_not_live, healing = asyncio.run(outage_and_recovery(server, redis, function, banquet))
    finally:
        server.stop()
        redis.stop()
    print(f"not live {said_not_live:.2f} s after Redis stopped; healed {healing:.2f} s "
          "after it started again")  # fmt: skip
    assert healing < HEALED_WITHIN
