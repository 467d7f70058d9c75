"""`manage.py bench capture`: interaction batches through the real HTTP endpoint.

Senders post batches (50 events by default) to `POST /analytics/events/` of a server this
command starts on the configured database, all at once, each on its own keep-alive
connection with its own CSRF cookie; the figure is events stored per second, end to end.
In the same run the same rows are COPYed straight into a scratch copy of the table, with
as many connections as there were senders and one transaction per batch: the raw
baseline, and the ratio between the two.

The server is gunicorn with gthread workers (WSGI). The capture view is synchronous and
database-bound; served through ASGI, Django runs such a view on one thread per process
(docs/design.md §9), which would measure that bottleneck instead of capture. HTTP in
production is served by WSGI workers too (docs/design.md §7).

The senders use the standard library's http.client rather than httpx: this machine's two
cores are shared by senders, server and PostgreSQL, and a lighter client leaves more of
them to what is being measured. The run writes its own rows and deletes them afterwards.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from analytics.models import Interaction
from analytics.services import capture, context, storage
from analytics.services.capture import Batch, Sender
from bench.measure import CPU_COMPONENTS, ComponentCpuMeter, format_table, latency_summary_ms
from bench.processes import ServerProcess, free_port
from tickets.models import Function

HELP = "Interaction batches through POST /analytics/events/ against raw COPY (PostgreSQL)."

SCRATCH_TABLE = "bench_capture_raw"
GOAL_EVENTS_PER_SECOND = 20_000


def add_arguments(parser) -> None:
    parser.add_argument("--events", type=int, default=100_000, help="Events in all.")
    parser.add_argument("--batch-size", type=int, default=50, help="Events per batch.")
    parser.add_argument("--senders", type=int, default=16, help="Concurrent senders.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument("--threads", type=int, default=8, help="Threads per worker.")


@dataclass(frozen=True)
class Timing:
    seconds: float
    latencies: list[float]  # per batch, seconds
    cpu: dict[str, float | None]  # CPU seconds by component; None where unreadable
    statuses: dict[int, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # accepted, duplicates, rejected


def run(
    out,
    *,
    events: int,
    batch_size: int,
    senders: int,
    workers: int,
    threads: int,
    **options,
) -> None:
    _check_arguments(events, batch_size, senders, workers, threads)
    if connection.vendor != "postgresql":
        raise CommandError(
            "bench capture compares the endpoint with raw COPY and needs PostgreSQL: "
            "set DATABASE_URL=postgres://..."
        )
    page_url = _page_url()
    # Its own action, so that this run counts and deletes only its own rows.
    action = f"bench.capture_{uuid.uuid4().hex[:12]}"
    batches = [
        [_event(action, page_url) for _ in range(min(batch_size, events - start))]
        for start in range(0, events, batch_size)
    ]
    warm_up = [[_event(action, page_url)] for _ in range(senders)]
    load_before = os.getloadavg()
    # Bounds the scans below to this run's time range (the time-range index).
    since = timezone.now() - datetime.timedelta(minutes=1)
    ours = Interaction.objects.filter(action=action, occurred_at__gte=since)
    try:
        with gunicorn_server(workers=workers, threads=threads) as server:
            out.write(f"Serving on {server.url} (gunicorn, {workers} x {threads} threads)")
            _post_all(server, warm_up, senders)  # connections, imports, caches
            http = _post_all(server, batches, senders)
        stored = ours.count()
        expected = events + len(warm_up)
        if stored != expected:
            raise CommandError(
                f"The server stored {stored:,} of {expected:,} events (statuses "
                f"{http.statuses}, {http.answers}); is it on the same database as this "
                "command?"
            )
        raw = _copy_raw(_rows_of(batches, page_url), senders)
    finally:
        ours.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
    load_after = os.getloadavg()

    label = f"POST /analytics/events/ ({senders} senders, gunicorn {workers}x{threads})"
    out.write(
        format_table(
            ["path", "events", "batches", "seconds", "events/s", "p50 ms", "p95 ms", "p99 ms"],
            [
                _speed_row(label, events, http),
                _speed_row(f"raw COPY ({senders} connections)", events, raw),
            ],
        )
    )
    out.write("")
    out.write(f"endpoint / raw COPY: {raw.seconds / http.seconds:.2f}")
    endpoint_rate = events / http.seconds
    out.write(
        f"goal: {GOAL_EVENTS_PER_SECOND:,} events/s stored end to end - "
        + ("met" if endpoint_rate >= GOAL_EVENTS_PER_SECOND else "not met")
    )
    out.write("")
    # Throughput on a shared machine swings with the neighbours; CPU per event does not
    # much, and says where the time goes.
    cores = os.cpu_count() or 1
    out.write(
        format_table(
            [
                "CPU seconds per 1,000 events",
                *CPU_COMPONENTS,
                "total",
                f"events/s if {cores} cores did only this",
            ],
            [_cpu_row("endpoint", events, http, cores), _cpu_row("raw COPY", events, raw, cores)],
        )
    )
    out.write("")
    out.write(
        "load average (1/5/15 min) before: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + " ".join(f"{x:.2f}" for x in load_after)
        + f"; {cores} cores"
    )


def _check_arguments(*values: int) -> None:
    names = ("--events", "--batch-size", "--senders", "--workers", "--threads")
    for name, value in zip(names, values, strict=True):
        if value < 1:
            raise CommandError(f"{name} must be at least 1 (got {value}).")
    if values[1] > capture.MAX_EVENTS:
        raise CommandError(
            f"--batch-size can be at most {capture.MAX_EVENTS} (the endpoint's limit)."
        )


def _page_url() -> str:
    """A function page, so that capture resolves the function as it does for real pages."""
    function = Function.objects.filter(published=True).first()
    path = function.get_absolute_url() if function else "/"
    return f"http://127.0.0.1{path}"


def _event(action: str, page_url: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "action": action,
        "data": {"field": "attendees-0-first_name", "type": "text"},
        "timestamp": timezone.now().isoformat(),
        "page_url": page_url,
    }


def _speed_row(label: str, events: int, timing: Timing) -> list[object]:
    latency = latency_summary_ms(timing.latencies)
    return [
        label,
        events,
        len(timing.latencies),
        round(timing.seconds, 2),
        round(events / timing.seconds),
        latency["p50"],
        latency["p95"],
        latency["p99"],
    ]


def _cpu_row(label: str, events: int, timing: Timing, cores: int) -> list[object]:
    per_thousand = {
        name: None if seconds is None else seconds * 1000 / events
        for name, seconds in timing.cpu.items()
    }
    known = [value for value in per_thousand.values() if value is not None]
    total = sum(known)
    return [
        label,
        *("n/a" if per_thousand.get(name) is None else f"{per_thousand[name]:.3f}"
          for name in CPU_COMPONENTS),
        f"{total:.3f}",
        round(cores * 1000 / total) if total else "n/a",
    ]  # fmt: skip


# --- through HTTP ---------------------------------------------------------------------------


def gunicorn_server(*, workers: int, threads: int) -> ServerProcess:
    """gunicorn serving lodgetix.wsgi on a free port, with this process's environment;
    enter it to run it."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "lodgetix.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
    ]  # fmt: skip
    env = {
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Each sender posts far faster than any page: lift the per-visitor limit (the
        # check itself still runs on every request).
        "ANALYTICS_BATCHES_PER_MINUTE": str(10**9),
        "ANALYTICS_BATCHES_PER_MINUTE_PER_IP": str(10**9),
    }
    return ServerProcess("gunicorn", command, port=port, env=env, start_timeout=30)


def _get(port: int, path: str) -> tuple[int, SimpleCookie]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        return response.status, cookies
    finally:
        conn.close()


def _post_all(server: ServerProcess, batches: Sequence[list[dict]], senders: int) -> Timing:
    """Post every batch, `senders` at a time, each sender on one keep-alive connection."""
    port = server.port
    path = reverse("analytics:events")
    shares = [batches[i::senders] for i in range(senders)]
    start_together = threading.Barrier(senders + 1, timeout=60)

    def sender(share: Sequence[list[dict]]) -> tuple[list[float], list[int]]:
        _, cookies = _get(port, "/")
        token = cookies[settings.CSRF_COOKIE_NAME].value
        headers = {
            "Content-Type": "application/json",
            "Cookie": f"{settings.CSRF_COOKIE_NAME}={token}",
            "X-CSRFToken": token,
        }
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, statuses, answers = [], [], {"accepted": 0, "duplicates": 0, "rejected": 0}
        start_together.wait()
        try:
            for events in share:
                body = json.dumps(
                    {"sent_at": datetime.datetime.now(datetime.UTC).isoformat(), "events": events}
                )
                sent = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                latencies.append(time.perf_counter() - sent)
                statuses.append(response.status)
                if response.status == 202:
                    counts = json.loads(answer)
                    answers["accepted"] += counts["accepted"]
                    answers["duplicates"] += counts["duplicates"]
                    answers["rejected"] += len(counts["rejected"])
        finally:
            conn.close()
        return latencies, statuses, answers

    meter = ComponentCpuMeter(server_pid=server.pid)
    with ThreadPoolExecutor(max_workers=senders) as pool:
        futures = [pool.submit(sender, share) for share in shares]
        start_together.wait()
        meter.start()
        started = time.perf_counter()
        results = [future.result() for future in futures]
        seconds = time.perf_counter() - started
        cpu = meter.stop()
    statuses: dict[int, int] = {}
    answers: dict[str, int] = {}
    for _, codes, counts in results:
        for code in codes:
            statuses[code] = statuses.get(code, 0) + 1
        for name, count in counts.items():
            answers[name] = answers.get(name, 0) + count
    return Timing(
        seconds=seconds,
        latencies=[latency for latencies, _, _ in results for latency in latencies],
        cpu=cpu,
        statuses=statuses,
        answers=answers,
    )


# --- the raw baseline -------------------------------------------------------------------------


def _rows_of(batches: Sequence[list[dict]], page_url: str) -> list[list[storage.InteractionRow]]:
    """The rows the endpoint stored for these batches, built here without HTTP."""
    now = timezone.now()
    sender = Sender(session_id="", visitor_id="bench", user_id=None, user_agent="bench")
    built = []
    for events in batches:
        rows = capture.check_batch(Batch(sent_at=now, events=events), sender, now).rows
        context.attach_references(rows, buyer_key=None)
        built.append(rows)
    return built


def _copy_raw(batches: Sequence[list[storage.InteractionRow]], connections_used: int) -> Timing:
    """COPY each batch in its own transaction into a scratch copy of the table (same
    columns, indexes and constraints), from `connections_used` connections at once."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
        cursor.execute(
            f"CREATE TABLE {SCRATCH_TABLE} (LIKE {Interaction._meta.db_table} INCLUDING ALL)"
        )
    shares = [batches[i::connections_used] for i in range(connections_used)]
    start_together = threading.Barrier(connections_used + 1, timeout=60)
    # Copiers keep their connections until the CPU of their backends has been read.
    all_done = threading.Barrier(connections_used + 1, timeout=600)

    def copier(share: Sequence[list[storage.InteractionRow]]) -> list[float]:
        latencies = []
        try:
            with connection.cursor() as cursor:  # this thread's own connection, autocommit
                cursor.execute("SELECT 1")
                start_together.wait()
                for rows in share:
                    sent = time.perf_counter()
                    storage.copy_rows(cursor, SCRATCH_TABLE, rows)
                    latencies.append(time.perf_counter() - sent)
            all_done.wait()
            all_done.wait()
        finally:
            connections.close_all()
        return latencies

    meter = ComponentCpuMeter()
    with ThreadPoolExecutor(max_workers=connections_used) as pool:
        futures = [pool.submit(copier, share) for share in shares]
        start_together.wait()
        meter.start()
        started = time.perf_counter()
        all_done.wait()
        seconds = time.perf_counter() - started
        cpu = meter.stop()
        all_done.wait()
        results = [future.result() for future in futures]
    return Timing(
        seconds=seconds,
        latencies=[latency for latencies in results for latency in latencies],
        cpu=cpu,
    )
