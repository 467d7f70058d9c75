"""`manage.py bench dashboard --dashboards N --holds H`: staff dashboards open during a
rush of holds.

Two rushes of H one-seat holds, `--clients` at a time, through the hold service in this
process (each commit publishes as a worker's would, through Redis), one after the other in
the same run, each on a function of its own:

1. **without dashboards**: nobody watches the first function, so its holds cost the
   dashboard nothing but a cache read per coalesced push;
2. **with dashboards**: N staff dashboards (real WebSockets on
   `/ws/staff/functions/<slug>/`, a signed-in staff session each) are open on the second
   function, served by an ASGI server subprocess. Measured: from each hold's commit to the
   first dashboard message whose `data-held` includes it, on every dashboard.

Cost per hold: CPU seconds of this process (the holds and the dashboard's reads and
renders), the ASGI server (the forwarding to N sockets) and this database's PostgreSQL
backends, divided by H, for each rush; the difference is what the dashboards add.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import websockets
from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections, connections
from django.test import Client

from bench.data import delete_bench_function, make_bench_function
from bench.measure import database_backend_pids, format_table, latency_summary_ms
from bench.processes import asgi_server, on_production_services, raise_file_limit
from bench.wire import open_live_socket
from tickets.models import TicketType
from tickets.services import holds
from tickets.services.availability import TicketAvailability
from tickets.signals import availability_changed

HELP = "N staff dashboards open during a rush of holds: commit -> figure, and cost per hold."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dashboards", type=int, default=20, help="dashboards open (20)")
    parser.add_argument("--holds", type=int, default=400, help="holds per rush (400)")
    parser.add_argument("--clients", type=int, default=6, help="holds in flight (6)")
    parser.add_argument(
        "--server", choices=["uvicorn", "daphne"], default="uvicorn", help="ASGI server"
    )


@dataclass
class Rush:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float | None] = field(default_factory=dict)
    # (reserved after the commit) -> when it committed
    commits: dict[int, float] = field(default_factory=dict)

    def cpu_ms_per_hold(self) -> float | None:
        if any(v is None for v in self.cpu.values()) or not self.latencies:
            return None
        return 1000 * sum(self.cpu.values()) / len(self.latencies)


def run(out, *, dashboards: int, holds: int, clients: int, server: str, **options) -> None:
    if min(dashboards, holds, clients) < 1:
        raise CommandError("--dashboards, --holds and --clients must be at least 1.")
    if not on_production_services():
        raise CommandError(
            "bench dashboard measures the production shape: set DATABASE_URL to PostgreSQL "
            "and REDIS_URL to Redis (the in-memory layer cannot cross processes)."
        )
    raise_file_limit()
    quiet = make_bench_function("dash-quiet", capacity=holds)
    watched = make_bench_function("dash-live", capacity=holds)
    cookie = _staff_session()
    try:
        with asgi_server(server, env={"LIVE_MAX_SOCKETS_PER_IP": str(dashboards + 50)}) as proc:
            out.write(f"Rush of {holds} holds, {clients} at a time, without dashboards...")
            base = _rush(quiet, holds, clients, proc.pid)
            out.write(f"...and with {dashboards} dashboards open on {server}...")
            live, seen, pushes = asyncio.run(
                _with_dashboards(proc.url, watched, cookie, dashboards, holds, clients, proc.pid)
            )
    finally:
        for function in (quiet.event.function, watched.event.function):
            delete_bench_function(function)
    figure = _commit_to_figure(live.commits, seen)
    out.write("")
    out.write(_table(base, live, figure, dashboards, pushes))
    out.write("")
    out.write(
        f"{dashboards} dashboards, {holds} holds per rush, {clients} in flight; CPU cores: "
        f"{os.cpu_count()}; load average {os.getloadavg()[0]:.2f} (a shared machine: the "
        "ratio is the figure, not the absolute cost)"
    )
    missed = dashboards * holds - len(figure)
    if missed:
        raise CommandError(f"{missed} held figures never reached a dashboard")


def _staff_session() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(f"bench-dash-{uuid.uuid4().hex[:8]}", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _hold(ticket_type: TicketType) -> float:
    started = time.perf_counter()
    try:
        holds.hold_tickets(
            holds.HoldRequest(
                buyer_key=f"bench-dash-{uuid.uuid4().hex}",
                function=ticket_type.event.function,
                ticket_type_id=ticket_type.pk,
                quantity=1,
            )
        )
    finally:
        close_old_connections()
    return time.perf_counter() - started


def _cpu_now(server_pid: int | None) -> dict[str, float | None]:
    from bench.measure import process_cpu_seconds

    server = process_cpu_seconds([server_pid]) if server_pid else None
    database = process_cpu_seconds(database_backend_pids())
    return {
        "this process": time.process_time(),
        "ASGI server": sum(server.values()) if server is not None else None,
        "PostgreSQL": sum(database.values()) if database is not None else None,
    }


def _rush(ticket_type: TicketType, count: int, clients: int, server_pid: int | None) -> Rush:
    rush = Rush()

    def record(sender, *, availabilities: list[TicketAvailability], **kwargs) -> None:
        at = time.perf_counter()
        for a in availabilities:
            if a.ticket_type_id == ticket_type.pk:
                rush.commits.setdefault(a.reserved, at)

    availability_changed.connect(record, dispatch_uid=f"bench-dashboard-{ticket_type.pk}")
    before = _cpu_now(server_pid)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(clients) as pool:
            rush.latencies = list(pool.map(lambda _: _hold(ticket_type), range(count)))
        rush.elapsed = time.perf_counter() - started
        time.sleep(1.0)  # the last coalesced pushes: their cost belongs to this rush
    finally:
        availability_changed.disconnect(dispatch_uid=f"bench-dashboard-{ticket_type.pk}")
    after = _cpu_now(server_pid)
    rush.cpu = {
        name: None if before[name] is None or after[name] is None else after[name] - before[name]
        for name in before
    }
    return rush


async def _with_dashboards(url, ticket_type, cookie, count, holds_, clients, server_pid):
    slug = ticket_type.event.function.slug
    held = re.compile(rf'id="dash-ticket-type-{ticket_type.pk}"[^>]*data-held="(\d+)"'.encode())
    seen: list[list[tuple[float, int]]] = [[] for _ in range(count)]
    pushes = [0] * count
    ready = [asyncio.Event() for _ in range(count)]

    async def dashboard(index: int) -> None:
        socket = await open_live_socket(
            url, f"/ws/staff/functions/{slug}/", cookie=cookie, max_size=2**22
        )
        await socket.recv()  # the snapshot
        ready[index].set()
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in socket:
                data = message if isinstance(message, bytes) else message.encode()
                match = held.search(data)
                if match:
                    pushes[index] += 1
                    seen[index].append((time.perf_counter(), int(match.group(1))))

    tasks = [asyncio.create_task(dashboard(i)) for i in range(count)]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=120)
        live = await asyncio.to_thread(_rush_in_thread, ticket_type, holds_, clients, server_pid)
        await asyncio.sleep(1.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return live, seen, statistics.median(pushes) if pushes else 0


def _rush_in_thread(ticket_type, count, clients, server_pid) -> Rush:
    try:
        return _rush(ticket_type, count, clients, server_pid)
    finally:
        connections.close_all()


def _commit_to_figure(commits: dict[int, float], seen: list[list[tuple[float, int]]]):
    latencies = []
    for reserved, committed in commits.items():
        for receipts in seen:
            first = next((t for t, held in receipts if held >= reserved), None)
            if first is not None:
                latencies.append(first - committed)
    return latencies


def _table(base: Rush, live: Rush, figure: list[float], dashboards: int, pushes) -> str:
    b, w, f = (latency_summary_ms(x) for x in (base.latencies, live.latencies, figure))
    base_cost, live_cost = base.cpu_ms_per_hold(), live.cpu_ms_per_hold()
    extra = (
        f"{live_cost - base_cost:+.2f}" if base_cost is not None and live_cost is not None else "-"
    )

    def cost(rush: Rush) -> str:
        parts = ", ".join(
            f"{name} {1000 * v / len(rush.latencies):.2f}"
            for name, v in rush.cpu.items()
            if v is not None
        )
        return parts or "-"

    headers = ["rush", "holds", "holds/s", "hold p50 ms", "hold p99 ms", "CPU ms/hold", "of which"]
    rows = [
        ["without dashboards", len(base.latencies), len(base.latencies) / base.elapsed,
         b["p50"], b["p99"], base_cost if base_cost is not None else "-", cost(base)],
        [f"with {dashboards} dashboards", len(live.latencies), len(live.latencies) / live.elapsed,
         w["p50"], w["p99"], live_cost if live_cost is not None else "-", cost(live)],
        ["extra per hold (ms CPU)", "", "", "", "", extra, ""],
    ]  # fmt: skip
    latency = format_table(
        ["commit -> dashboard's held figure", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms",
         "pushes per dashboard"],
        [["every hold, on every dashboard", len(figure), f["p50"], f["p95"], f["p99"], f["max"],
          pushes]],
    )  # fmt: skip
    return format_table(headers, rows) + "\n\n" + latency
