"""`manage.py bench checkin`: scans through the check-in endpoint on the production shape,
beside the raw `INSERT ... ON CONFLICT DO NOTHING` in the same run; and how long after a
scan the other doors' counts move, with `--doors` door pages open.

1. Raw: `--clients` PostgreSQL connections insert one check-in each per ticket of a twin
   event, in plain SQL (the statement the service runs), committing each.
2. Throughput: `--clients` signed-in door sessions POST `code=` for every ticket of the
   bench event through nginx -> gunicorn (each a real scan: the lookup, the insert, the
   audit entry, the push).
3. Live: `--doors` staff sockets of the event are open (as many door pages); one scan at a
   time, every `--interval` seconds, `--probes` times; for each scan, the time from sending
   the POST until each socket receives the count that includes it.

Figures go in BENCHMARKS.md; a run also fails when any scan was not answered `ok` or the
database holds a different number of check-ins than scans made.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import TextIO

import psycopg
import websockets
from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.utils import timezone

from bench.data import delete_bench_function, make_bench_function, timed_on_connections
from bench.measure import MachineCpuMeter, format_table, latency_summary_ms, median
from bench.scenarios.rush import _production_shape
from bench.wire import KeepAliveClient, open_live_socket
from tickets.models import CheckIn, Event, Hold, Registration, Ticket, TicketType

HELP = (
    "Scans/s through the check-in endpoint beside a raw INSERT ... ON CONFLICT DO NOTHING, "
    "and the time until other doors' counts move with N door pages open."
)
SEATS_PER_REGISTRATION = 10


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--tickets", type=int, default=2000, help="Tickets to scan (2000).")
    parser.add_argument("--clients", type=int, default=16, help="Scans in flight (16).")
    parser.add_argument("--doors", type=int, default=20, help="Door pages open (20).")
    parser.add_argument("--probes", type=int, default=30, help="Timed single scans (30).")
    parser.add_argument(
        "--interval", type=float, default=0.5, help="Seconds between timed scans (0.5)."
    )
    parser.add_argument("--url", help="A running production shape on this database.")


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def add(self, started: float, result: str) -> None:
        self.latencies.append(time.perf_counter() - started)
        self.results[result] = self.results.get(result, 0) + 1

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def run(
    out: TextIO,
    *,
    tickets: int,
    clients: int,
    doors: int,
    probes: int,
    interval: float,
    url: str | None,
    **options,
) -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise CommandError("bench checkin needs DATABASE_URL=postgres://... and REDIS_URL")
    if min(tickets, clients, doors, probes) < 1:
        raise CommandError("--tickets, --clients, --doors and --probes must be at least 1.")
    ticket_type = make_bench_function("checkin", tickets + probes)
    function = ticket_type.event.function
    twin = Event.objects.create(
        function=function,
        slug="twin",
        name="Twin (raw SQL)",
        starts_at=ticket_type.event.starts_at,
        ends_at=ticket_type.event.ends_at,
        status=Event.Status.PUBLISHED,
    )
    twin_type = TicketType.objects.create(event=twin, name="Seat", price=0, capacity=tickets)
    try:
        codes = _issue_tickets(ticket_type, tickets + probes)
        _issue_tickets(twin_type, tickets)
        twin_ids = list(Ticket.objects.filter(event=twin).values_list("pk", flat=True))
        out.write(f"checkin: {tickets} tickets, {clients} at a time, {doors} door pages\n")
        cpu = MachineCpuMeter()
        raw = asyncio.run(_raw(twin.pk, twin_ids, clients))
        raw_cpu = cpu.busy_share()
        with _production_shape(url) as base_url:
            sessions = _door_sessions(clients)
            cpu = MachineCpuMeter()
            http = asyncio.run(
                _scans(base_url, ticket_type.event_id, codes[:tickets], sessions, clients)
            )
            http_cpu = cpu.busy_share()
            live = asyncio.run(
                _live(base_url, ticket_type.event_id, codes[tickets:], sessions[0], doors, interval)
            )
        _report(out, clients=clients, doors=doors, raw=raw, http=http, live=live)
        out.write(
            f"\nmachine: {os.cpu_count()} cores, CPU busy {raw_cpu:.0%} during raw, "
            f"{http_cpu:.0%} during HTTP; load average {os.getloadavg()[0]:.2f}\n"
        )
        _verify(ticket_type.event_id, tickets + probes, http, live)
        out.write("verdict: every scan checked in once, the database agrees\n")
    finally:
        CheckIn.objects.filter(event__function=function).delete()
        Ticket.objects.filter(event__function=function).delete()
        delete_bench_function(function)


def _issue_tickets(ticket_type: TicketType, count: int) -> list[str]:
    """Confirmed registrations of ten seats each, their tickets issued (no wizard: rows)."""
    now = timezone.now()
    registrations = Registration.objects.bulk_create(
        Registration(
            function=ticket_type.event.function,
            registration_type=Registration.Type.DELEGATION,
            status=Registration.Status.CONFIRMED,
            step=Registration.Step.CONFIRMATION,
            furthest_step=Registration.Step.CONFIRMATION,
            buyer_key=f"bench-checkin-{uuid.uuid4().hex}",
            expires_at=now + datetime.timedelta(minutes=15),
            confirmation_number=f"B{uuid.uuid4().hex[:10].upper()}",
            payment_status=Registration.PaymentStatus.PAID,
            confirmed_at=now,
        )
        for _ in range(-(-count // SEATS_PER_REGISTRATION))
    )
    holds = Hold.objects.bulk_create(
        Hold(
            registration=registration,
            ticket_type=ticket_type,
            seats=min(SEATS_PER_REGISTRATION, count - i * SEATS_PER_REGISTRATION),
            unit_price=ticket_type.price,
            status=Hold.Status.CONFIRMED,
            expires_at=now,
        )
        for i, registration in enumerate(registrations)
    )
    issued = Ticket.objects.bulk_create(
        Ticket(hold=hold, event_id=ticket_type.event_id)
        for hold in holds
        for _ in range(hold.seats)
    )
    return [ticket.code for ticket in issued]


# --- raw baseline -----------------------------------------------------------------------------

RAW_INSERT = (
    f"INSERT INTO {CheckIn._meta.db_table} (ticket_id, event_id, door, at, by_id) "
    "VALUES (%s, %s, %s, now(), NULL) ON CONFLICT DO NOTHING RETURNING ticket_id"
)


async def _raw(event_id: int, ticket_ids: list[int], concurrency: int) -> Outcome:
    outcome = Outcome()
    queue = iter(ticket_ids)

    async def door(conn: psycopg.AsyncConnection, index: int) -> None:
        for ticket_id in queue:
            started = time.perf_counter()
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(RAW_INSERT, (ticket_id, event_id, f"door {index % 2}"))
                inserted = await cursor.fetchone() is not None
            outcome.add(started, "ok" if inserted else "already")

    outcome.elapsed = await timed_on_connections(concurrency, door)
    return outcome


# --- through the endpoint ---------------------------------------------------------------------


@dataclass(frozen=True)
class DoorSession:
    cookie_header: str
    csrf_token: str
    door: str


def _door_sessions(count: int) -> list[DoorSession]:
    """Signed-in staff sessions with `tickets.check_in`, two doors between them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(f"bench-door-{uuid.uuid4().hex[:8]}", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="check_in"))
    sessions = []
    for index in range(count):
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        token = uuid.uuid4().hex  # a CSRF secret (32 characters) of our own choosing
        sessions.append(
            DoorSession(
                cookie_header=f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={token}",
                csrf_token=token,
                door=("North", "South")[index % 2],
            )
        )
    return sessions


async def _scans(
    base_url: str, event_id: int, codes: list[str], sessions: list[DoorSession], concurrency: int
) -> Outcome:
    path = f"/staff/checkin/{event_id}/"
    outcome = Outcome()
    queue = iter(codes)
    result_pattern = re.compile(rb'"result": "(\w+)"')

    async def door(session: DoorSession) -> None:
        client = KeepAliveClient(base_url)
        headers = {
            "Cookie": session.cookie_header,
            "X-CSRFToken": session.csrf_token,
            "Origin": base_url,
        }
        try:
            for code in queue:
                started = time.perf_counter()
                response = await client.post_form(
                    path, {"code": code, "door": session.door}, headers
                )
                match = result_pattern.search(response.body)
                outcome.add(started, match.group(1).decode() if match else str(response.status))
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(door(s) for s in sessions[:concurrency]))
    outcome.elapsed = time.perf_counter() - started
    return outcome


# --- the other doors' counts ------------------------------------------------------------------


@dataclass
class Live:
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    scans: Outcome = field(default_factory=Outcome)


async def _live(
    base_url: str,
    event_id: int,
    codes: list[str],
    session: DoorSession,
    doors: int,
    interval: float,
) -> Live:
    count_pattern = re.compile(rf'id="checkin-count-{event_id}"[^>]*data-checked-in="(\d+)"')
    live = Live()
    seen: list[dict[int, float]] = [{} for _ in range(doors)]
    sockets = []
    for _ in range(doors):
        socket = await open_live_socket(
            base_url, f"/ws/staff/events/{event_id}/?page=door", cookie=session.cookie_header
        )
        snapshot = await socket.recv()
        sockets.append(socket)
    base = int(count_pattern.search(snapshot).group(1))

    async def listen(index: int, socket) -> None:
        try:
            async for message in socket:
                match = count_pattern.search(message)
                if match:
                    seen[index].setdefault(int(match.group(1)), time.perf_counter())
        except websockets.ConnectionClosed:
            pass

    listeners = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]
    client = KeepAliveClient(base_url)
    headers = {
        "Cookie": session.cookie_header,
        "X-CSRFToken": session.csrf_token,
        "Origin": base_url,
    }
    sent_at = {}
    try:
        for n, code in enumerate(codes, start=1):
            started = time.perf_counter()
            sent_at[base + n] = started
            response = await client.post_form(
                f"/staff/checkin/{event_id}/", {"code": code, "door": "North"}, headers
            )
            live.scans.add(started, "ok" if b'"result": "ok"' in response.body else "other")
            await asyncio.sleep(interval)
        await asyncio.sleep(2.0)  # the last pushes in flight
    finally:
        await client.close()
        for task in listeners:
            task.cancel()
        for socket in sockets:
            await socket.close()
    for count, at in sent_at.items():
        for receipts in seen:
            arrived = min((t for c, t in receipts.items() if c >= count), default=None)
            if arrived is None:
                live.missed += 1
            else:
                live.latencies.append(arrived - at)
    return live


# --- report and verdict -----------------------------------------------------------------------


def _report(out: TextIO, *, clients: int, doors: int, raw: Outcome, http: Outcome, live: Live):
    rows = []
    for name, outcome in (("raw INSERT ... ON CONFLICT", raw), ("POST /staff/checkin/", http)):
        latency = latency_summary_ms(outcome.latencies)
        rows.append(
            [
                name,
                clients,
                round(outcome.per_second),
                median(outcome.latencies) * 1000,
                latency["p95"],
                latency["p99"],
                ", ".join(f"{k} {v}" for k, v in sorted(outcome.results.items())),
            ]
        )
    ratio = http.per_second / raw.per_second if raw.per_second else 0.0
    rows.append(["endpoint / raw", "", f"{ratio:.0%}", "", "", "", ""])
    out.write(
        format_table(
            ["path", "in flight", "scans/s", "median ms", "p95 ms", "p99 ms", "results"], rows
        )
        + "\n\n"
    )
    latency = latency_summary_ms(live.latencies)
    out.write(
        format_table(
            [
                "scan -> other doors' count",
                "door pages",
                "scans",
                "median ms",
                "p95 ms",
                "max ms",
                "missed",
            ],
            [
                [
                    "POST sent -> socket shows it",
                    doors,
                    len(live.scans.latencies),
                    median(live.latencies) * 1000,
                    latency["p95"],
                    latency["max"],
                    live.missed,
                ]
            ],
        )
        + "\n"
    )
    if live.scans.latencies:
        out.write(
            f"(the timed scans' own answers: median "
            f"{statistics.median(live.scans.latencies) * 1000:.1f} ms)\n"
        )


def _verify(event_id: int, expected: int, http: Outcome, live: Live) -> None:
    problems = []
    stored = CheckIn.objects.filter(event_id=event_id).count()
    if stored != expected:
        problems.append(f"{stored} check-ins stored for {expected} scans")
    others = {k: v for k, v in http.results.items() if k != "ok"}
    if others or live.scans.results.get("other"):
        problems.append(f"scans not answered ok: {others or live.scans.results}")
    if live.missed:
        problems.append(f"{live.missed} count pushes never arrived")
    if problems:
        raise CommandError("checkin failed: " + "; ".join(problems))
