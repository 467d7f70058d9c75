"""`manage.py bench rush --buyers N --seats S`: a sales opening on one hot ticket type.

N buyers at a time - real HTTP clients, each buyer with its own CSRF cookie and, after its
first hold, its own session - race for S seats of one ticket type through the production
shape (`make serve`: nginx, gunicorn, uvicorn, the sweeper). Individuals ask for 1-4
seats, lodges for 1-4 tables of 10; together they want more than S, so the run ends sold
out. Each buyer first loads the function page (outside the clock, as a person reads it
before clicking), then all POST their hold; only the POSTs are timed.

In the same run, the raw baseline: the guarded UPDATE + INSERT of a hold in plain SQL over
N PostgreSQL connections, for the same list of asks, on a twin ticket type. The HTTP figure
is reported as a ratio of it, because absolute figures drift between runs and machines.

`--demo`: the same rush on a throwaway copy of the demo function (seed_demo's Grand
Proclamation, a function of its own named bench-demo-..., removed afterwards, so a seeded
demo and anyone's data stay untouched): 900 one-seat buyers for its 600 ceremony seats,
each loading the function page (six events, seven ticket types) first. The raw baselines
run on a twin in a bench function of their own, so that page lists nothing extra.

Afterwards `reconcile_inventory` must find no drift, and the seats granted to clients must
equal the seats the database holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from bench.data import delete_bench_function, make_bench_function, timed_on_connections
from bench.measure import MachineCpuMeter, format_table, latency_summary_ms
from bench.processes import (
    ServerProcess,
    database_url,
    free_port,
    run_deploy_steps,
    serve_command,
)
from bench.wire import KeepAliveClient, WireError, WireResponse
from tickets.management.commands import seed_demo
from tickets.models import SEATS_PER_LODGE_TABLE, Function, Hold, Registration, TicketType
from tickets.services.exceptions import SeatsBusy

HELP = (
    "N concurrent buyers race over HTTP for S seats of one ticket type on the production "
    "shape, beside the raw guarded-UPDATE baseline in plain SQL."
)
DEFAULT_DEMAND = 1.25
DEMO_DEMAND = 1.5  # 900 buyers for the demo's 600 ceremony seats
DEMO_CEREMONY_SEATS = next(
    tts[0][2] for slug, *_, tts in seed_demo.EVENTS if slug == seed_demo.CEREMONY_EVENT_SLUG
)
MAX_ASK = 4  # seats for an individual, tables for a lodge
# After the mixed asks, this many one-seat buyers take whatever crumbs a refused big ask
# left behind, so a run that works always ends with exactly S seats granted.
CRUMB_BUYERS = MAX_ASK * SEATS_PER_LODGE_TABLE + 10
SERVER_START_TIMEOUT = 90.0


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--buyers", type=int, default=64, help="Buyers at a time (default 64).")
    parser.add_argument(
        "--seats",
        type=int,
        help="Seats of the hot ticket type (required; with --demo, the ceremony's seats, "
        "default 600).",
    )
    parser.add_argument(
        "--url",
        help="Base URL of a running production shape on this database (started with "
        "HOLD_RATE_LIMIT_PER_IP=off and HOLD_SEATS_PER_IP=off: every bench buyer comes "
        "from one address). Without it the bench starts `deployment.serve` on a free port "
        "and stops it afterwards.",
    )
    parser.add_argument(
        "--demand",
        type=float,
        help="Seats wanted by all buyers together, as a multiple of --seats (default 1.25; "
        "with --demo 1.5: 900 buyers for the 600 ceremony seats).",
    )
    parser.add_argument(
        "--lodges",
        type=float,
        default=0.05,
        help="Share of buyers that are lodges buying tables of 10 (default 0.05).",
    )
    parser.add_argument("--seed", type=int, default=7, help="Random seed for the asks.")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="The embedded default instead (`make run`: runserver on SQLite, no Redis): "
        "--buyers one-seat buyers all at once; no raw baseline. Run without DATABASE_URL "
        "and REDIS_URL.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="Race for the ceremony seats of a throwaway copy of the demo function "
        "(seed_demo's Grand Proclamation: six events, seven ticket types on its page), one "
        "seat per buyer. The copy is a function of its own (bench-demo-...), removed "
        "afterwards; a seeded demo function in the database is never touched.",
    )
    parser.add_argument(
        "--pgbench-seconds",
        type=int,
        default=10,
        help="Seconds of `pgbench` running the same hot-row transaction at --buyers clients "
        "on another twin ticket type, in the same run (default 10; 0 skips it).",
    )


@dataclass(frozen=True)
class Ask:
    quantity: int
    lodge: bool

    @property
    def seats(self) -> int:
        return self.quantity * SEATS_PER_LODGE_TABLE if self.lodge else self.quantity


@dataclass
class Outcome:
    """What one side of the run did: per-attempt latency and result."""

    latencies: list[float] = field(default_factory=list)
    results: Counter = field(default_factory=Counter)
    # The same latencies by answer: a refusal must stay cheap however full the page is.
    latencies_by_status: dict[str, list[float]] = field(default_factory=dict)
    # When each answer of a kind arrived: past a sell-out the 409s come back to back, so
    # the time between them is what a refusal costs the server.
    finished_by_status: dict[str, list[float]] = field(default_factory=dict)
    granted_seats: int = 0
    granted_holds: int = 0
    elapsed: float = 0.0

    @property
    def holds_per_second(self) -> float:
        return self.granted_holds / self.elapsed if self.elapsed else 0.0

    @property
    def attempts_per_second(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def run(
    out: TextIO,
    *,
    buyers: int,
    seats: int | None,
    url: str | None,
    demand: float | None,
    lodges: float,
    seed: int,
    pgbench_seconds: int,
    embedded: bool = False,
    demo: bool = False,
    **options,
) -> None:
    if pgbench_seconds < 0:
        raise CommandError("--pgbench-seconds must be 0 (skip) or more.")
    if embedded and demo:
        raise CommandError("--demo runs on the production shape; it does not go with --embedded.")
    if seats is None:
        if not demo:
            raise CommandError("--seats is required (the seats of the hot ticket type).")
        seats = DEMO_CEREMONY_SEATS
    if embedded:
        run_embedded(out, buyers=buyers, seats=seats)
        return
    if demand is None:
        demand = DEMO_DEMAND if demo else DEFAULT_DEMAND
    _check_arguments(buyers=buyers, seats=seats, demand=demand, lodges=lodges, url=url)
    if demo:
        # Everyone wants one ceremony seat, as in a rush for a ceremony.
        asks = [Ask(quantity=1, lodge=False)] * math.ceil(seats * demand)
        hot, twin = _demo_ticket_types(seats)
    else:
        asks = plan_asks(seats, demand=demand, lodge_share=lodges, rng=random.Random(seed))
        hot, twin = _bench_ticket_types(seats)
    function = hot.event.function
    baseline_function = twin.event.function
    where = f" (the ceremony of a copy of the demo function, {function.slug})" if demo else ""
    out.write(
        f"rush: {len(asks)} buyers ({sum(a.lodge for a in asks)} lodges) want "
        f"{sum(a.seats for a in asks)} seats of {seats}{where}, {buyers} at a time\n"
    )
    try:
        cpu = MachineCpuMeter()
        raw = asyncio.run(raw_baseline(twin, raw_registration(twin), asks, concurrency=buyers))
        raw_cpu = cpu.busy_share()
        pgbench = run_pgbench(twin, asks, buyers, pgbench_seconds) if pgbench_seconds else None
        with _production_shape(url) as base_url:
            visitors = asyncio.run(load_the_page(base_url, function, len(asks), buyers))
            listed = TicketType.objects.filter(event__function=function).count()
            out.write(
                f"{len(visitors)} buyers have loaded the page ({listed} ticket types); "
                f"racing at {base_url}\n"
            )
            out.flush()
            cpu = MachineCpuMeter()
            client_cpu = time.process_time()
            http = asyncio.run(http_rush(base_url, function, hot, asks, visitors, buyers))
            client_cpu = time.process_time() - client_cpu
            http_cpu = cpu.busy_share()
        _report(out, seats=seats, buyers=buyers, raw=raw, http=http, hot=hot, pgbench=pgbench)
        out.write(
            f"\nmachine: {os.cpu_count()} cores, CPU busy {raw_cpu:.0%} during raw, "
            f"{http_cpu:.0%} during HTTP; load average {os.getloadavg()[0]:.2f}; the HTTP "
            f"clients used {client_cpu / len(asks) * 1000:.1f} ms of CPU per request\n"
        )
        _verify(out, seats=seats, demand=demand, http=http, hot=hot)
    finally:
        delete_bench_function(function)
        if baseline_function != function:  # --demo: the baselines' function of their own
            delete_bench_function(baseline_function)


def run_embedded(out: TextIO, *, buyers: int, seats: int) -> None:
    """A small function's sale on `make run`'s shape: `buyers` one-seat buyers at once."""
    if buyers < 1 or seats < 1:
        raise CommandError("--buyers and --seats must be at least 1.")
    if connection.vendor != "sqlite" or settings.REDIS_URL:
        raise CommandError(
            "bench rush --embedded runs on the embedded default: unset DATABASE_URL and REDIS_URL"
        )
    asks = [Ask(quantity=1, lodge=False)] * buyers
    hot = make_bench_function("rush", seats)
    function = hot.event.function
    out.write(f"rush (embedded): {buyers} buyers want one seat each of {seats}, all at once\n")
    try:
        with _embedded_shape() as base_url:
            visitors = asyncio.run(load_the_page(base_url, function, buyers, buyers))
            http = asyncio.run(http_rush(base_url, function, hot, asks, visitors, buyers))
        _report(out, seats=seats, buyers=buyers, raw=None, http=http, hot=hot)
        out.write(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}\n")
        _verify(out, seats=seats, demand=buyers / seats, http=http, hot=hot)
    finally:
        delete_bench_function(function)


def plan_asks(seats: int, *, demand: float, lodge_share: float, rng: random.Random) -> list[Ask]:
    """Asks adding up to `demand` x `seats`, then the crumb-takers."""
    asks: list[Ask] = []
    wanted = 0
    while wanted < demand * seats:
        ask = Ask(quantity=rng.randint(1, MAX_ASK), lodge=rng.random() < lodge_share)
        asks.append(ask)
        wanted += ask.seats
    return asks + [Ask(quantity=1, lodge=False)] * CRUMB_BUYERS


# --- raw baseline ---------------------------------------------------------------------------

RAW_RESERVE = (
    f"UPDATE {TicketType._meta.db_table} SET reserved = reserved + %s, version = version + 1 "
    "WHERE id = %s AND capacity - reserved - sold >= %s RETURNING reserved"
)
RAW_INSERT_HOLD = (
    f"INSERT INTO {Hold._meta.db_table} "
    "(registration_id, ticket_type_id, seats, tables, unit_price, status, expires_at, created_at) "
    "VALUES (%s, %s, %s, %s, %s, 'active', %s, now())"
)


def raw_registration(ticket_type: TicketType) -> Registration:
    """The registration the raw baseline's holds hang on (a hold needs one)."""
    return Registration.objects.create(
        function=ticket_type.event.function,
        buyer_key=f"bench-raw-{ticket_type.pk}",
        expires_at=timezone.now() + datetime.timedelta(minutes=15),
    )


async def raw_baseline(
    ticket_type: TicketType, registration: Registration, asks: list[Ask], concurrency: int
) -> Outcome:
    """The database alone: BEGIN; guarded UPDATE; INSERT hold; COMMIT per ask."""
    outcome = Outcome()
    queue = iter(asks)

    async def buyer(conn: psycopg.AsyncConnection, index: int) -> None:
        for ask in queue:
            started = time.perf_counter()
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(RAW_RESERVE, (ask.seats, ticket_type.pk, ask.seats))
                granted = await cursor.fetchone() is not None
                if granted:
                    await cursor.execute(
                        RAW_INSERT_HOLD,
                        (
                            registration.pk,
                            ticket_type.pk,
                            ask.seats,
                            ask.quantity if ask.lodge else None,
                            ticket_type.price,
                            registration.expires_at,
                        ),
                    )
            _record(outcome, ask, started, "granted" if granted else "not enough")

    outcome.elapsed = await timed_on_connections(concurrency, buyer)
    return outcome


# --- pgbench ---------------------------------------------------------------------------------

PGBENCH_SCRIPT = f"""\\set seats random(1, {MAX_ASK})
BEGIN;
WITH granted AS (
  UPDATE {TicketType._meta.db_table} SET reserved = reserved + :seats, version = version + 1
   WHERE id = :ticket_type AND capacity - reserved - sold >= :seats RETURNING id, price)
INSERT INTO {Hold._meta.db_table}
  (registration_id, ticket_type_id, seats, tables, unit_price, status, expires_at, created_at)
  SELECT ':registration', id, :seats, NULL, price, 'active', now() + interval '15 minutes', now()
    FROM granted;
END;
"""


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    tps: float
    latency_ms: float
    transactions: int

    @property
    def holds_per_second(self) -> float:
        return self.tps


def run_pgbench(
    raw_twin: TicketType, asks: list[Ask], clients: int, seconds: int
) -> PgbenchResult | str:
    """`pgbench -n -c <clients> -j 2 -T <seconds>` of the raw baseline's transaction (the
    guarded UPDATE + the hold INSERT) on a third twin (beside the raw baseline's) with
    seats to spare, so every transaction takes seats; the result, or why it could not run."""
    if shutil.which("pgbench") is None:
        return "pgbench not found"
    twin = TicketType.objects.create(
        event=raw_twin.event,
        name="Twin (pgbench)",
        price=raw_twin.price,
        capacity=10**9,
        position=raw_twin.position + 1,
    )
    registration = raw_registration(twin)
    db = connection.settings_dict
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        command = ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds)]
        command += ["-D", f"ticket_type={twin.pk}", "-D", f"registration={registration.pk}"]
        command += ["-f", script.name, "-h", db.get("HOST") or "127.0.0.1"]
        if db.get("PORT"):
            command += ["-p", str(db["PORT"])]
        if db.get("USER"):
            command += ["-U", str(db["USER"])]
        env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
        done = subprocess.run(
            [*command, str(db["NAME"])], capture_output=True, text=True, env=env, check=False
        )
    if done.returncode != 0:
        return f"pgbench failed: {done.stderr.strip()[-300:]}"
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.M)
    latency = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.M)
    transactions = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    if not (tps and latency and transactions):
        return f"pgbench said: {done.stdout.strip()[-300:]}"
    return PgbenchResult(clients, float(tps[1]), float(latency[1]), int(transactions[1]))


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """A buyer after loading the function page: the cookies it was given, and its token."""

    cookie_header: str
    csrf_token: str


async def load_the_page(
    base_url: str, function: Function, count: int, concurrency: int
) -> list[Visitor]:
    """Each buyer loads the function page once and keeps the cookies it sets (the CSRF
    cookie, and the session when the page opens one)."""
    page = f"{base_url}{function.get_absolute_url()}"
    visitors: list[Visitor] = []
    remaining = iter(range(count))

    async def reader() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in remaining:
                client.cookies.clear()
                response = await client.get(page)
                response.raise_for_status()
                cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
                visitors.append(Visitor(cookies, client.cookies["csrftoken"]))

    await asyncio.gather(*(reader() for _ in range(concurrency)))
    return visitors


async def http_rush(
    base_url: str,
    function: Function,
    ticket_type: TicketType,
    asks: list[Ask],
    visitors: list[Visitor],
    concurrency: int,
) -> Outcome:
    """POST every ask at once, `concurrency` in flight; 303 means held.

    Each buyer sends the cookies its page load gave it and its own CSRF token. A worker's
    keep-alive connection carries one buyer after another (browsers would each open their
    own), because connection set-up is not what a rush is short of.
    """
    hold_path = f"{function.get_absolute_url()}hold/"
    busy_message = SeatsBusy.default_message.split(";")[0].encode()
    outcome = Outcome()
    queue = iter(zip(asks, visitors, strict=True))

    async def buyer() -> None:
        client = KeepAliveClient(base_url)
        try:
            for ask, visitor in queue:
                fields: dict[str, object] = {
                    "ticket_type": ticket_type.pk,
                    "quantity": ask.quantity,
                }
                if ask.lodge:
                    fields["registration_type"] = Registration.Type.LODGE
                headers = {"Cookie": visitor.cookie_header, "X-CSRFToken": visitor.csrf_token}
                started = time.perf_counter()
                try:
                    response = await client.post_form(hold_path, fields, headers)
                except (OSError, TimeoutError, WireError) as error:
                    await client.close()
                    _record(outcome, ask, started, f"transport: {type(error).__name__}")
                    continue
                _record(outcome, ask, started, _kind_of(response, busy_message))
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(buyer() for _ in range(concurrency)))
    outcome.elapsed = time.perf_counter() - started
    return outcome


def _kind_of(response: WireResponse, busy_message: bytes) -> str:
    if response.status == 303:
        return "granted"
    if response.status == 409:
        return "409 busy" if busy_message in response.body else "409 not enough"
    return str(response.status)


def _record(outcome: Outcome, ask: Ask, started: float, kind: str) -> None:
    latency = time.perf_counter() - started
    outcome.latencies.append(latency)
    outcome.latencies_by_status.setdefault(kind.split()[0], []).append(latency)
    outcome.finished_by_status.setdefault(kind.split()[0], []).append(started + latency)
    outcome.results[kind] += 1
    if kind == "granted":
        outcome.granted_holds += 1
        outcome.granted_seats += ask.seats


# --- the production shape --------------------------------------------------------------------


@contextlib.contextmanager
def _production_shape(url: str | None) -> Iterator[str]:
    if url:
        yield url.rstrip("/")
        return
    port = free_port()
    env = {
        # The database this process uses (under tests, the test database).
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": settings.REDIS_PREFIX,
        # Every bench buyer comes from 127.0.0.1; a real crowd comes from many addresses.
        "HOLD_RATE_LIMIT_PER_IP": "off",
        "HOLD_SEATS_PER_IP": "off",
    }
    run_deploy_steps(env)
    shape = ServerProcess(
        "production shape",
        serve_command(port),
        port=port,
        env=env,
        new_session=True,
        start_timeout=SERVER_START_TIMEOUT,
        stop_timeout=30,
    )
    with shape:
        try:
            yield shape.url
        finally:
            shape.stop()
            output = shape.output()
            if "Traceback" in output or " ERROR " in output:
                # The whole log, tracebacks included: a summary line alone does not say
                # what broke.
                sys.stderr.write(f"production shape logged errors:\n{output[-20_000:]}\n")


@contextlib.contextmanager
def _embedded_shape() -> Iterator[str]:
    """`make run`'s server (daphne's runserver, one process) on this SQLite database."""
    port = free_port()
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "DEBUG": "1",  # as `make run` has it (no DATABASE_URL there)
        "REDIS_URL": "",
        "HOLD_RATE_LIMIT_PER_IP": "off",
        "HOLD_SEATS_PER_IP": "off",
    }
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    server = ServerProcess(
        "embedded default",
        [sys.executable, manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        port=port,
        env=env,
        new_session=True,
        start_timeout=SERVER_START_TIMEOUT,
        stop_timeout=30,
    )
    with server:
        try:
            yield server.url
        finally:
            server.stop()


# --- set-up, report, verdict ---------------------------------------------------------------


def _check_arguments(*, buyers: int, seats: int, demand: float, lodges: float, url) -> None:
    if buyers < 1:
        raise CommandError("--buyers must be at least 1.")
    if seats < 1:
        raise CommandError("--seats must be at least 1.")
    if demand <= 0:
        raise CommandError("--demand must be more than 0.")
    if not 0 <= lodges <= 1:
        raise CommandError("--lodges must be a share between 0 and 1.")
    if url is not None and not re.match(r"^https?://[^/]+/?$", url):
        raise CommandError("--url must be a base URL such as http://127.0.0.1:8000")
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise CommandError(
            "bench rush runs on the production shape: set DATABASE_URL=postgres://... and "
            "REDIS_URL=redis://..."
        )


def _bench_ticket_types(seats: int) -> tuple[TicketType, TicketType]:
    """The hot ticket type the HTTP buyers race for, and its twin for the raw baseline."""
    hot = make_bench_function("rush", seats)
    twin = TicketType.objects.create(
        event=hot.event, name="Twin (raw SQL)", price=hot.price, capacity=seats, position=1
    )
    return hot, twin


def _demo_ticket_types(seats: int) -> tuple[TicketType, TicketType]:
    """The ceremony seat of a throwaway copy of the demo function, and a twin for the raw
    baseline in a bench function of its own (so the page the buyers load lists the demo's
    seven ticket types, no more)."""
    stamp = uuid.uuid4().hex[:8]
    start = timezone.localtime(timezone.now() + datetime.timedelta(days=60)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    with transaction.atomic():
        function = Function.objects.create(
            slug=f"bench-demo-{stamp}",
            name=f"Grand Proclamation (bench copy {stamp})",
            venue="Sydney",
            starts_at=start,
            ends_at=start + datetime.timedelta(days=2, hours=12),
            published=True,
        )
        seed_demo.add_demo_events(function, start)
        hot = TicketType.objects.get(
            event__function=function, event__slug=seed_demo.CEREMONY_EVENT_SLUG
        )
        # A fresh row nobody holds yet: its capacity is set once, before the sale opens.
        TicketType.objects.filter(pk=hot.pk).update(capacity=seats)
        hot.refresh_from_db()
    twin = make_bench_function("rush-raw", seats)
    return hot, twin


def _report(
    out: TextIO,
    *,
    seats: int,
    buyers: int,
    raw: Outcome | None,
    http: Outcome,
    hot: TicketType,
    pgbench: PgbenchResult | str | None = None,
) -> None:
    rows = []
    for name, outcome in (("raw SQL", raw), ("HTTP", http)):
        if outcome is None:
            continue
        latency = latency_summary_ms(outcome.latencies)
        rows.append(
            [
                name,
                buyers,
                round(outcome.holds_per_second),
                round(outcome.attempts_per_second),
                latency["p50"],
                latency["p95"],
                latency["p99"],
                f"{outcome.granted_seats} / {seats}",
                _kinds(outcome.results),
            ]
        )
    for status, label in (("granted", "HTTP 303 (held)"), ("409", "HTTP 409 (refused)")):
        latencies = http.latencies_by_status.get(status)
        if latencies:
            latency = latency_summary_ms(latencies)
            finished = http.finished_by_status[status]
            apart = (max(finished) - min(finished)) / max(len(finished) - 1, 1) * 1000
            rows.append(
                [
                    label,
                    "",
                    "",
                    "",
                    latency["p50"],
                    latency["p95"],
                    latency["p99"],
                    "",
                    f"{len(latencies)} answers, {apart:.1f} ms apart",
                ]
            )
    if raw is not None:
        ratio = http.holds_per_second / raw.holds_per_second if raw.holds_per_second else 0.0
        rows.append(["HTTP / raw", "", f"{ratio:.0%}", "", "", "", "", "", ""])
    if isinstance(pgbench, PgbenchResult):
        rows.insert(
            1,
            [
                "pgbench",
                pgbench.clients,
                round(pgbench.tps),
                round(pgbench.tps),
                "",
                "",
                "",
                "",
                f"{pgbench.transactions} transactions, latency avg {pgbench.latency_ms:.1f} ms",
            ],
        )
        share = http.holds_per_second / pgbench.tps if pgbench.tps else 0.0
        rows.append(["HTTP / pgbench", "", f"{share:.0%}", "", "", "", "", "", ""])
    elif pgbench:
        out.write(f"(no pgbench row: {pgbench})\n")
    out.write(
        format_table(
            [
                "path",
                "buyers",
                "holds/s",
                "attempts/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "granted seats",
                "results",
            ],
            rows,
        )
        + "\n"
    )


def _kinds(results: Counter) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(results.items()))


def _verify(out: TextIO, *, seats: int, demand: float, http: Outcome, hot: TicketType) -> None:
    hot.refresh_from_db()
    problems = []
    if http.granted_seats > seats or hot.reserved > seats:
        problems.append(f"oversold: {http.granted_seats} seats granted of {seats}")
    if demand >= 1 and hot.reserved != seats:
        problems.append(f"not sold out: {hot.reserved} of {seats} seats held")
    if hot.reserved != http.granted_seats:
        problems.append(
            f"clients were granted {http.granted_seats} seats, the database holds {hot.reserved}"
        )
    server_errors = sum(n for kind, n in http.results.items() if kind.startswith("5"))
    if server_errors:
        problems.append(f"{server_errors} server errors (5xx)")
    try:
        call_command("reconcile_inventory", stdout=out)
    except CommandError as drift:
        problems.append(str(drift))
    if problems:
        raise CommandError("rush failed: " + "; ".join(problems))
    out.write("verdict: no oversell, sold out exactly, no drift, no 5xx\n")
