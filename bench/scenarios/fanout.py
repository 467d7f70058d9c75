"""`manage.py bench fanout --viewers N`: live availability pushed to N open pages.

Three measurements in one run, on this machine's Redis:

1. raw Redis pub/sub: N subscriber connections, one PUBLISH per change - the transport
   floor for telling N receivers about a change;
2. channels-redis' core layer against its pub/sub layer: one group of N channels in one
   process, group_send per change - the choice of layer;
3. end to end: N real WebSocket clients on one function page's socket, served by an ASGI
   server subprocess; a stream of real holds in this process; for every committed change,
   the time until each client has seen it (or something newer). Every client must end on
   the final counts.

Changes are sent at the same rate in all three, so latencies compare like for like.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import websockets
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.core.management.base import CommandError

from bench.data import delete_bench_function, make_bench_function
from bench.measure import format_table, latency_summary_ms
from bench.processes import asgi_server, on_production_services, raise_file_limit
from bench.wire import open_live_socket
from tickets.live.publisher import PUSH_INTERVAL
from tickets.models import TicketType
from tickets.services import holds
from tickets.signals import availability_changed

HELP = "N WebSocket viewers of one function and a stream of holds: commit -> receipt latency."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viewers", type=int, default=500, help="open pages (default 500)")
    parser.add_argument("--changes", type=int, default=200, help="holds to make (default 200)")
    parser.add_argument("--rate", type=float, default=40.0, help="holds per second (default 40)")
    parser.add_argument(
        "--server",
        choices=["uvicorn", "daphne"],
        default="uvicorn",
        help="ASGI server to start for the end-to-end part (default uvicorn)",
    )
    parser.add_argument("--url", help="use a running server (http://host:port) instead")
    parser.add_argument(
        "--skip-layers", action="store_true", help="skip the raw and layer comparisons"
    )


def run(out, *, viewers: int, changes: int, rate: float, server: str, url: str | None,
        skip_layers: bool, **options) -> None:  # fmt: skip
    if viewers < 1 or changes < 1 or rate <= 0:
        raise CommandError("--viewers and --changes must be at least 1, --rate above 0.")
    if not on_production_services():
        raise CommandError(
            "bench fanout measures the production shape: set DATABASE_URL to PostgreSQL "
            "and REDIS_URL to Redis (the in-memory layer cannot cross processes)."
        )
    raise_file_limit()
    rows = []
    if not skip_layers:
        # Group messages go out at the coalesced rate (one per PUSH_INTERVAL at most),
        # so that is the rate the transport and the layers are compared at.
        layer_rate = min(rate, 1 / PUSH_INTERVAL)
        layer_messages = max(20, round(changes * layer_rate / rate))
        out.write(
            f"Raw Redis pub/sub and channel layers: {viewers} receivers, "
            f"{layer_messages} messages at {layer_rate:g}/s..."
        )
        rows.append(asyncio.run(_raw_pubsub(viewers, layer_messages, layer_rate)))
        for layer_class, label in (
            (RedisChannelLayer, "channels-redis core layer"),
            (RedisPubSubChannelLayer, "channels-redis pub/sub layer"),
        ):
            measured = _layer(layer_class, label, viewers, layer_messages, layer_rate)
            rows.append(asyncio.run(measured))
    out.write(f"End to end through {url or server}, {viewers} WebSocket clients...")
    end_to_end, converged = _end_to_end(out, viewers, changes, rate, server, url)
    rows.append(end_to_end)

    out.write("")
    out.write(_table(rows, raw=None if skip_layers else rows[0]))
    out.write("")
    out.write(
        f"{changes} holds at {rate:g}/s; {converged}/{viewers} clients ended on the final "
        f"counts; CPU cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}"
    )
    if converged != viewers:
        raise CommandError(f"{viewers - converged} clients did not converge on the final state")


def _table(rows: list[Row], raw: Row | None) -> str:
    headers = ["path", "receivers", "msgs received/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
               "p99 / raw p99"]  # fmt: skip
    body = []
    for row in rows:
        ratio = (
            f"{row.latency['p99'] / raw.latency['p99']:.1f}x"
            if raw is not None and raw.latency["p99"]
            else "-"
        )
        body.append(
            [row.label, row.receivers, row.messages_per_second, row.latency["p50"],
             row.latency["p95"], row.latency["p99"], row.latency["max"], ratio]
        )  # fmt: skip
    return format_table(headers, body)


@dataclass
class Row:
    label: str
    receivers: int
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    duration: float = 1.0

    @property
    def latency(self) -> dict[str, float]:
        return latency_summary_ms(self.latencies)

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.duration


# --- 1. raw Redis pub/sub -------------------------------------------------------------------


async def _raw_pubsub(receivers: int, changes: int, rate: float) -> Row:
    channel = f"{settings.REDIS_PREFIX}:bench:raw:{uuid.uuid4().hex}"
    row = Row("raw Redis PUBLISH, a connection per receiver", receivers)
    clients = [aioredis.Redis.from_url(settings.REDIS_URL) for _ in range(receivers)]
    pubsubs = [client.pubsub() for client in clients]
    await _gather_in_batches(p.subscribe(channel) for p in pubsubs)
    sent: dict[int, float] = {}

    async def listen(pubsub) -> None:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            seq = int(message["data"])
            row.latencies.append(time.perf_counter() - sent[seq])
            row.messages += 1
            if seq == changes - 1:
                return

    publisher = aioredis.Redis.from_url(settings.REDIS_URL)

    async def send(seq: int) -> None:
        sent[seq] = time.perf_counter()
        await publisher.publish(channel, str(seq))

    listeners = [asyncio.create_task(listen(p)) for p in pubsubs]
    row.duration = await _send_paced(send, listeners, changes, rate, wait=30)
    await _gather_in_batches(p.aclose() for p in pubsubs)
    await _gather_in_batches(c.aclose() for c in clients)
    await publisher.aclose()
    return row


# --- 2. channel layers ---------------------------------------------------------------------


async def _layer(layer_class, label: str, receivers: int, changes: int, rate: float) -> Row:
    layer = layer_class(hosts=[settings.REDIS_URL], prefix=f"{settings.REDIS_PREFIX}:bench")
    group = f"bench-{uuid.uuid4().hex}"
    channels = [await layer.new_channel() for _ in range(receivers)]
    # channels-redis pools are small: keep concurrent calls well under their size.
    await _gather_in_batches((layer.group_add(group, c) for c in channels), size=20)
    row = Row(label, receivers)

    async def listen(channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            row.latencies.append(time.perf_counter() - message["sent"])
            row.messages += 1
            if message["seq"] == changes - 1:
                return

    async def send(seq: int) -> None:
        await layer.group_send(group, {"type": "bench", "seq": seq, "sent": time.perf_counter()})

    listeners = [asyncio.create_task(listen(c)) for c in channels]
    row.duration = await _send_paced(send, listeners, changes, rate, wait=60)
    await _gather_in_batches((layer.group_discard(group, c) for c in channels), size=20)
    with contextlib.suppress(Exception):
        await layer.flush()
    return row


# --- 3. end to end -----------------------------------------------------------------------


def _end_to_end(out, viewers, changes, rate, server, url) -> tuple[Row, int]:
    ticket_type = make_bench_function("fanout", capacity=changes + 10, low_stock_threshold=1)
    function = ticket_type.event.function
    try:
        with contextlib.ExitStack() as stack:
            if url is None:
                url = stack.enter_context(
                    asgi_server(server, env={"LIVE_MAX_SOCKETS_PER_IP": str(viewers * 2 + 100)})
                ).url
            row, converged = asyncio.run(
                _measure_clients(url, function, ticket_type, viewers, changes, rate)
            )
    finally:
        delete_bench_function(function)
    return row, converged


async def _measure_clients(url, function, ticket_type, viewers, changes, rate):
    version_pattern = re.compile(
        rf'id="availability-{ticket_type.pk}"[^>]*data-version="(\d+)"'.encode()
    )
    received: list[list[tuple[float, int]]] = [[] for _ in range(viewers)]
    snapshots = asyncio.Semaphore(100)
    ready = [asyncio.Event() for _ in range(viewers)]
    converged = [asyncio.Event() for _ in range(viewers)]
    target: list[int] = []  # the final version, once the stream is over

    async def client(index: int) -> None:
        async with snapshots:
            connection = await open_live_socket(url, f"/ws/functions/{function.slug}/")
            await connection.recv()  # the snapshot
        ready[index].set()
        try:
            async for message in connection:
                data = message if isinstance(message, bytes) else message.encode()
                match = version_pattern.search(data)
                if match:
                    version = int(match.group(1))
                    received[index].append((time.perf_counter(), version))
                    if target and version >= target[0]:
                        converged[index].set()
        except websockets.ConnectionClosed:
            pass

    tasks = [asyncio.create_task(client(i)) for i in range(viewers)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=300)

    commits: dict[int, float] = {}

    def record_commit(sender, *, availabilities, **kwargs) -> None:
        for availability in availabilities:
            if availability.ticket_type_id == ticket_type.pk:
                commits[availability.version] = time.perf_counter()

    availability_changed.connect(record_commit, dispatch_uid="bench-fanout")
    try:
        started = time.perf_counter()
        await asyncio.to_thread(_hold_stream, ticket_type, changes, rate)
        final_version = max(commits)
        for index, receipts in enumerate(received):
            if receipts and receipts[-1][1] >= final_version:
                converged[index].set()
        target.append(final_version)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in converged)), timeout=30)
        duration = time.perf_counter() - started
    finally:
        availability_changed.disconnect(dispatch_uid="bench-fanout")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    row = Row("end to end: commit -> browser socket", viewers, duration=duration)
    ordered_commits = sorted(commits.items())
    for receipts in received:
        row.messages += len(receipts)
        row.latencies.extend(_commit_latencies(ordered_commits, receipts))
    return row, sum(1 for r in received if r and r[-1][1] == final_version)


def _commit_latencies(
    commits: list[tuple[int, float]], receipts: list[tuple[float, int]]
) -> list[float]:
    """For each commit, the time until this client saw that version or a newer one."""
    latencies = []
    index = 0
    for version, committed_at in commits:
        while index < len(receipts) and receipts[index][1] < version:
            index += 1
        if index == len(receipts):
            break
        latencies.append(receipts[index][0] - committed_at)
    return latencies


def _hold_stream(ticket_type: TicketType, changes: int, rate: float) -> None:
    started = time.perf_counter()
    for n in range(changes):
        holds.hold_tickets(
            holds.HoldRequest(
                buyer_key=f"bench-fanout-{n}",
                function=ticket_type.event.function,
                ticket_type_id=ticket_type.pk,
                quantity=1,
            )
        )
        delay = started + (n + 1) / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    # Let the publisher's last coalesced push go out.
    time.sleep(0.5)


# --- helpers ---------------------------------------------------------------------------


async def _send_paced(
    send: Callable[[int], Awaitable[None]],
    listeners: list[asyncio.Task],
    changes: int,
    rate: float,
    wait: float,
) -> float:
    """Send `changes` messages at `rate`, give the listeners `wait` seconds to receive the
    last, stop them; the seconds it all took."""
    started = time.perf_counter()
    for seq in range(changes):
        await send(seq)
        await _pace(started, seq + 1, rate)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*listeners), timeout=wait)
    duration = time.perf_counter() - started
    for task in listeners:
        task.cancel()
    return duration


async def _pace(started: float, sent: int, rate: float) -> None:
    delay = started + sent / rate - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def _gather_in_batches(coroutines, size: int = 200) -> None:
    """Await coroutines a batch at a time; created lazily so none is left un-awaited."""
    batch = []
    for coroutine in coroutines:
        batch.append(coroutine)
        if len(batch) == size:
            await asyncio.gather(*batch)
            batch = []
    await asyncio.gather(*batch)
