"""`manage.py bench scaleout`: the production shape on two app hosts sharing one
PostgreSQL and one Redis, and what that shows, with figures.

Two network namespaces on this machine are the hosts, A and B (bench/netns.py), each
linked to the host namespace by a veth pair. Each runs the production shape
(`deployment.serve`: nginx, gunicorn, uvicorn, the sweeper under supervisord), nginx on
its own address. Both use one PostgreSQL cluster and one redis-server of the bench's own
(bench/faults.py, `Rig`), listening on the host end of each link, with one SECRET_KEY and
one REDIS_PREFIX: sessions, presence and the channel layer are in that Redis. The
buyers and viewers are this process, in the host namespace, connecting to each host's
nginx at its address, as people on the network would.

In order:

1. viewers open the function page and its live socket, half on A and half on B;
   presence: how long until every viewer, on either host, counts everyone on both;
2. live path: one person at a time holds a seat, alternately on A and B; the time from
   the hold's request to the fragment on each viewer, split into the same host (the raw
   baseline: what one host does) and the other host (what the second host adds);
3. oversell: buyers on both hosts at once on a function of few seats, each host's
   buyers alone asking for all of them; granted = held in the database, never above
   the capacity;
4. host A killed (SIGKILL to every process of its shape): B keeps serving (page loads and
   holds, its viewers get the fragments), and how long until A's people are gone from
   B's viewers' presence, against the presence TTL (three heartbeats);
5. `reconcile_inventory`: no drift.

Everything the bench made goes in `finally` blocks, Ctrl-C included: both shapes, the
redis-server, the PostgreSQL cluster, the temporary directory, the links and namespaces.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import random
import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import psycopg
from django.conf import settings
from django.core.management.base import CommandError

from bench.faults import (
    REQUEST_TIMEOUT,
    Answer,
    FaultRigError,
    Rig,
    Seeded,
    Shape,
    Traffic,
    Viewer,
    missing_binaries,
    now,
    outcome_of,
)
from bench.measure import format_table, percentile
from bench.netns import AppHosts, NetnsError, unavailable
from bench.processes import RedisServer, raise_file_limit
from bench.wire import KeepAliveClient, WireError
from tickets.live.publisher import PUSH_INTERVAL

OWN_DATABASE = True  # the rig's own PostgreSQL (bench.faults.Rig), migrated there
HELP = (
    "Two app hosts (network namespaces) running the production shape on one PostgreSQL "
    "and one Redis: no oversell through both, cross-host live latency, presence across "
    "hosts, and host A killed."
)

LIVE_CAPACITY = 100_000  # the live-path function's seats: never the limit
LIVE_GOAL_P99 = 0.5  # seconds, hold to fragment on any viewer (docs/design.md §4)
PRESENCE_TOTAL = re.compile(rb'id="presence"[^>]*?data-total="(\d+)"')
# A ghost leaves at the TTL after its last heartbeat; the count is then taken and pushed
# on the hub's next tick (a push interval), so this much after the TTL still counts.
PRESENCE_SLACK = 1.0


@dataclass
class Plan:
    """How much of each; CI-sized by default."""

    viewers: int = 2  # per host
    holds: int = 10  # live-path holds, alternately on A and B
    seats: int = 6  # the scarce function's capacity
    buyers: int = 3  # per host, on the scarce function
    holds_after_kill: int = 3  # on B, once A is dead
    heartbeat: int = 1  # presence heartbeat, seconds (TTL: three of them)
    http_workers: int = 1  # per host


@dataclass
class HostViewer(Viewer):
    """A viewer on one host; it also keeps when each badge value and presence count came."""

    host: str = ""
    presence: int | None = None
    availability_seen: list[tuple[float, int, int]] = field(default_factory=list)

    def _take(self, data: bytes) -> None:
        at = now()
        super()._take(data)
        for ticket_type, available in re.findall(rb'id="availability-(\d+)"[^>]*?'
                                                 rb'data-available="(\d+)"', data):  # fmt: skip
            self.availability_seen.append((at, int(ticket_type), int(available)))
        for total in PRESENCE_TOTAL.findall(data):
            self.presence = int(total)

    def first_at_or_below(self, ticket_type: int, available: int, since: float) -> float | None:
        for at, seen_type, seen in self.availability_seen:
            if at >= since and seen_type == ticket_type and seen <= available:
                return at
        return None


@dataclass
class ScaleResult:
    hosts: tuple[str, ...]
    names: tuple[str, ...]  # the run's namespaces and links
    viewers_per_host: int
    presence_converged: float | None = None  # s until every viewer counted both hosts
    presence_shown: dict[str, list[int | None]] = field(default_factory=dict)
    same_host: list[float] = field(default_factory=list)  # s, hold request to fragment
    cross_host: list[float] = field(default_factory=list)
    hold_answers: list[float] = field(default_factory=list)  # s, hold request to its 303
    live_missed: int = 0  # fragments never seen within the wait
    live_holds: Counter = field(default_factory=Counter)
    seats: int = 0
    granted: dict[str, int] = field(default_factory=dict)  # 303s per host
    attempts: dict[str, int] = field(default_factory=dict)
    scarce_outcomes: Counter = field(default_factory=Counter)
    held_in_db: int = -1
    reserved: int = -1
    sold: int = -1
    after_kill_holds: Counter = field(default_factory=Counter)
    after_kill_pages: Counter = field(default_factory=Counter)
    after_kill_latency: list[float] = field(default_factory=list)
    after_kill_missed: int = 0
    vanished_after: float | None = None  # s from the kill until B counted only B
    ttl: float = 0.0
    drift: int = -1
    leftovers: list[str] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    notes: list[str] = field(default_factory=list)

    @property
    def granted_total(self) -> int:
        return sum(self.granted.values())

    def target_misses(self) -> list[str]:
        """What the issue asks that this run did not show, each said in a sentence."""
        misses = []
        if self.granted_total > self.seats or self.reserved + self.sold > self.seats:
            misses.append(
                f"oversold: {self.granted_total} seats granted, reserved {self.reserved} + sold "
                f"{self.sold} of {self.seats}"
            )
        if self.held_in_db != self.granted_total or self.reserved != self.held_in_db:
            misses.append(
                f"granted {self.granted_total} seats, the database holds {self.held_in_db} "
                f"(reserved {self.reserved})"
            )
        if not all(self.granted.values()):
            misses.append(f"not both hosts granted holds: {self.granted}")
        if not self.cross_host or self.live_missed:
            misses.append(
                f"{self.live_missed} fragments never reached a viewer; "
                f"{len(self.cross_host)} cross-host measured"
            )
        elif percentile(self.cross_host, 99) > LIVE_GOAL_P99:
            misses.append(
                f"cross-host live p99 {percentile(self.cross_host, 99) * 1000:.0f} ms is above "
                f"{LIVE_GOAL_P99 * 1000:.0f} ms"
            )
        if self.presence_converged is None:
            misses.append(
                f"presence never counted both hosts on every viewer: {self.presence_shown}"
            )
        wanted = self.after_kill_holds.total()
        if not wanted or self.after_kill_holds["303 held"] != wanted or self.after_kill_missed:
            misses.append(
                f"with A dead, B's holds: {_counts(self.after_kill_holds)}; pages: "
                f"{_counts(self.after_kill_pages)}; {self.after_kill_missed} fragments missed"
            )
        if set(self.after_kill_pages) != {"200"}:
            misses.append(f"with A dead, B's page loads: {_counts(self.after_kill_pages)}")
        if self.vanished_after is None or self.vanished_after > self.ttl + PRESENCE_SLACK:
            seen = "never" if self.vanished_after is None else f"{self.vanished_after:.1f} s"
            misses.append(f"A's people left B's presence after {seen}, TTL {self.ttl:g} s")
        if self.drift:
            misses.append(f"reconcile_inventory: {self.drift} ticket type(s) drifted")
        if self.leftovers:
            misses.append(f"left behind: {', '.join(self.leftovers)}")
        return misses

    def rows(self) -> list[list[object]]:
        same, cross = self.same_host, self.cross_host
        ratio = f"{_p(cross, 50) / _p(same, 50):.2f}x" if same and cross and _p(same, 50) else "-"
        held = ", ".join(f"{h} {n}" for h, n in self.granted.items())
        tried = ", ".join(f"{h} {n}" for h, n in self.attempts.items())
        # Each host's viewers, by the count they show: "on A: 20 x 40" is 20 showing 40.
        shown = "; ".join(
            f"on {h}: " + ", ".join(f"{n} x {v}" for v, n in sorted(Counter(counts).items(),
                                                                   key=str))
            for h, counts in self.presence_shown.items()
        )  # fmt: skip
        return [
            ["hold request -> its 303 (context)", len(self.hold_answers),
             _ms(self.hold_answers, 50), _ms(self.hold_answers, 99), "-", "-"],
            ["live: hold -> fragment, same host (baseline)", len(same),
             _ms(same, 50), _ms(same, 99), "-", "-"],
            ["live: hold -> fragment, other host", len(cross), _ms(cross, 50), _ms(cross, 99),
             f"p99 <= {LIVE_GOAL_P99 * 1000:.0f} ms", ratio],
            ["oversell: holds through both at once", sum(self.attempts.values()),
             f"granted {self.granted_total} ({held})",
             f"db held {self.held_in_db}, reserved {self.reserved}, sold {self.sold}",
             f"<= {self.seats} seats, = db", f"asked: {tried}"],
            ["presence across hosts", 2 * self.viewers_per_host,
             _s(self.presence_converged), shown, f"= {2 * self.viewers_per_host}", "-"],
            ["A killed: B serves", self.after_kill_holds.total(),
             f"holds: {_counts(self.after_kill_holds)}", f"pages: {_counts(self.after_kill_pages)}",
             "all served", f"live p99 {_ms(self.after_kill_latency, 99)} ms"],
            ["A killed: A's people leave presence", self.viewers_per_host,
             _s(self.vanished_after), f"TTL {self.ttl:g} s", f"<= TTL + {PRESENCE_SLACK:g} s",
             "-"],
            ["reconcile_inventory", "-", f"drift {self.drift}", "-", "0", "-"],
        ]  # fmt: skip


HEADERS = ["check", "n", "p50 / figure", "p99 / figure", "target", "ratio / notes"]


def format_result(result: ScaleResult) -> str:
    return format_table(HEADERS, result.rows())


def _p(values: list[float], p: float) -> float:
    return percentile(values, p) if values else 0.0


def _ms(values: list[float], p: float) -> str:
    return f"{_p(values, p) * 1000:,.0f}" if values else "-"


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def _counts(counter: Counter) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items())) or "none"


# --- preflight ---------------------------------------------------------------------------------


def missing_requirements() -> list[str]:
    """What this machine lacks for the bench, each with what to do (nginx: the shape's
    start refuses without it, saying so)."""
    missing = missing_binaries()
    reason = unavailable()
    if reason:
        missing.append(reason)
    return missing


# --- one run -----------------------------------------------------------------------------------


def run_scaleout(plan: Plan | None = None) -> ScaleResult:
    """Build the two hosts, measure, and take everything down again."""
    plan = plan or Plan()
    missing = missing_requirements()
    if missing:
        raise NetnsError("; ".join(missing))
    raise_file_limit()
    network = AppHosts(2)
    result = ScaleResult(
        hosts=tuple(h.letter for h in network.hosts),
        names=network.names,
        viewers_per_host=plan.viewers,
        seats=plan.seats,
        ttl=3.0 * plan.heartbeat,
    )
    root: str | None = None
    try:
        with (
            network,
            Rig(
                http_workers=plan.http_workers,
                listen_also=network.gateways,
                trusted=(str(network.network),),
            ) as rig,
        ):
            root = str(rig.root)
            live = rig.seed(capacity=LIVE_CAPACITY)
            scarce = rig.seed(capacity=plan.seats)
            with _hosts(rig, network, plan) as shapes:
                asyncio.run(_measure(rig, network, shapes, live, scarce, plan, result))
            result.drift, _report = rig.drift()
    finally:
        result.leftovers = network.leftovers()
    if root is not None:
        result.leftovers += [f"process {pid}" for pid in _processes_mentioning(root)]
    result.load = os.getloadavg()
    return result


def _processes_mentioning(text: str) -> list[int]:
    """Processes with `text` in their command line or environment (the run's directory:
    every process the run started has one or the other)."""
    needle = text.encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (
                needle in (entry / "cmdline").read_bytes()
                or needle in (entry / "environ").read_bytes()
            ):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return [pid for pid in found if pid != os.getpid()]


@contextmanager
def _hosts(rig: Rig, network: AppHosts, plan: Plan) -> Iterator[dict[str, Shape]]:
    """The shared Redis and a shape on each host, started side by side."""
    redis = RedisServer(log=rig.root / "redis.log", bind_also=network.gateways)
    shapes: dict[str, Shape] = {}
    addresses = ",".join(h.address for h in network.hosts)
    # Not `with`: on Ctrl-C its exit would wait for the starts; closing the shapes first
    # (in `finally`) ends them.
    pool = concurrent.futures.ThreadPoolExecutor(len(network.hosts))
    try:
        redis.start()
        for host in network.hosts:
            env = {
                **rig.env(f"redis://{host.gateway}:{redis.port}/0"),
                "DATABASE_URL": rig.postgres.url(host=host.gateway),
                "ALLOWED_HOSTS": addresses,
                "PRESENCE_HEARTBEAT": str(plan.heartbeat),
            }
            shapes[host.letter] = Shape(
                rig.root, env, plan.http_workers, host=host.address, netns=host.netns
            )
        for started in [pool.submit(shape.start) for shape in shapes.values()]:
            started.result()
        yield shapes
    finally:
        for shape in shapes.values():
            shape.close()
        pool.shutdown(wait=True, cancel_futures=True)
        redis.stop()


async def _until(predicate: Callable[[], bool], within: float) -> float | None:
    """When `predicate` came true (polled every 20 ms; the figures use the viewers'
    receipt times, not this), or None if it did not within `within` seconds."""
    deadline = now() + within
    while not predicate():
        if now() > deadline:
            return None
        await asyncio.sleep(0.02)
    return now()


@dataclass(frozen=True)
class HoldTry:
    """A new person loaded the page and held one seat."""

    outcome: str  # what they saw: "303 held", "409 refused", "timeout", ...
    page: str  # what the page load answered
    sent: float  # when the hold request was sent
    answered: float


async def _hold(shape: Shape, seeded: Seeded) -> HoldTry:
    client = KeepAliveClient(shape.url, timeout=REQUEST_TIMEOUT)
    sent = now()
    page = "no answer"
    try:
        response = await client.get(seeded.page)
        page = str(response.status)
        cookies = response.cookies()
        if "csrftoken" not in cookies:
            return HoldTry(f"page {page}", page, sent, now())
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-CSRFToken": cookies["csrftoken"],
        }
        fields = {"ticket_type": seeded.ticket_type_ids[0], "quantity": 1}
        sent = now()
        response = await client.post_form(seeded.hold, fields, headers)
        return HoldTry(outcome_of("hold", response), page, sent, now())
    except TimeoutError:
        return HoldTry("timeout", page, sent, now())
    except (OSError, WireError):
        return HoldTry("no answer", page, sent, now())
    finally:
        await client.close()


async def _measure(
    rig: Rig,
    network: AppHosts,
    shapes: dict[str, Shape],
    live: Seeded,
    scarce: Seeded,
    plan: Plan,
    result: ScaleResult,
) -> None:
    viewers = [
        HostViewer(shape, live, host=letter)
        for letter, shape in shapes.items()
        for _ in range(plan.viewers)
    ]
    tasks: dict[str, list[asyncio.Task]] = {letter: [] for letter in shapes}
    try:
        for viewer in viewers:
            await viewer.open_page()
            tasks[viewer.host].append(asyncio.create_task(viewer.run()))
        everyone = len(viewers)
        opened = now()
        ready = await _until(lambda: all(v.ready.is_set() for v in viewers), 60)
        if ready is None:
            raise FaultRigError("not every viewer got a snapshot within 60 s")
        counted = await _until(lambda: all(v.presence == everyone for v in viewers), 30)
        result.presence_converged = None if counted is None else counted - opened
        result.presence_shown = {h: [v.presence for v in viewers if v.host == h] for h in shapes}

        await _live_path(shapes, viewers, live, plan, result)
        await _oversell(rig, shapes, scarce, plan, result)

        # Host A dies: its viewers' sockets drop (they stop reconnecting, as closed tabs).
        dead, alive = list(shapes)
        for viewer in viewers:
            if viewer.host == dead:
                viewer.running = False
        killed = now()  # the first SIGKILL: the figure counts the kill's own time too
        await asyncio.to_thread(network.kill, network.hosts[0], shapes[dead].process.pid)
        survivors = [v for v in viewers if v.host == alive]
        expected = LIVE_CAPACITY - result.live_holds["303 held"]
        for _ in range(plan.holds_after_kill):
            tried, seen = await _hold_seen(shapes[alive], live, survivors, expected - 1)
            result.after_kill_holds[tried.outcome] += 1
            result.after_kill_pages[tried.page] += 1
            if tried.outcome == "303 held":
                expected -= 1
            result.after_kill_missed += sum(1 for _v, latency in seen if latency is None)
            result.after_kill_latency += [latency for _v, latency in seen if latency is not None]
        gone = await _until(
            lambda: all(v.presence == len(survivors) for v in survivors),
            result.ttl * 2 + 15,
        )
        result.vanished_after = None if gone is None else gone - killed
        if gone is None:
            result.notes.append(f"B's viewers show {[v.presence for v in survivors]}")
    finally:
        for viewer in viewers:
            viewer.running = False
        every = [t for host_tasks in tasks.values() for t in host_tasks]
        for task in every:
            task.cancel()
        await asyncio.gather(*every, return_exceptions=True)


async def _live_path(
    shapes: dict[str, Shape], viewers: list[HostViewer], live: Seeded, plan: Plan,
    result: ScaleResult,
) -> None:  # fmt: skip
    """One hold at a time, alternately on each host; the next once every viewer has shown
    this one (or 5 s passed), so each fragment belongs to one hold."""
    letters = list(shapes)
    expected = LIVE_CAPACITY
    for index in range(plan.holds):
        source = letters[index % len(letters)]
        # At a random moment against the pushes, as independent buyers' holds come: sent
        # right after the last fragment, every hold would wait out the push interval
        # that fragment began (measured: 200 ms each, on either host alike).
        await asyncio.sleep(random.uniform(0, 2 * PUSH_INTERVAL))
        tried, seen = await _hold_seen(shapes[source], live, viewers, expected - 1)
        result.live_holds[tried.outcome] += 1
        if tried.outcome != "303 held":
            continue
        expected -= 1
        result.hold_answers.append(tried.answered - tried.sent)
        for viewer, latency in seen:
            if latency is None:
                result.live_missed += 1
            else:
                (result.same_host if viewer.host == source else result.cross_host).append(latency)


async def _hold_seen(
    shape: Shape, live: Seeded, viewers: list[HostViewer], available_after: int
) -> tuple[HoldTry, list[tuple[HostViewer, float | None]]]:
    """A hold, and for each viewer the seconds from its request until the viewer showed
    `available_after` or fewer (None: not within 5 s); no viewers' figures if it failed."""
    tried = await _hold(shape, live)
    if tried.outcome != "303 held":
        return tried, []
    ticket_type = live.ticket_type_ids[0]

    def shown() -> bool:
        return all(v.badges.get(ticket_type, available_after + 1) <= available_after
                   for v in viewers)  # fmt: skip

    await _until(shown, 5)
    seen = []
    for viewer in viewers:
        at = viewer.first_at_or_below(ticket_type, available_after, tried.sent)
        seen.append((viewer, None if at is None else at - tried.sent))
    return tried, seen


async def _page_load(shape: Shape, seeded: Seeded) -> None:
    client = KeepAliveClient(shape.url, timeout=REQUEST_TIMEOUT)
    try:
        await client.get(seeded.page)
    finally:
        await client.close()


async def _oversell(
    rig: Rig, shapes: dict[str, Shape], scarce: Seeded, plan: Plan, result: ScaleResult
) -> None:
    """Buyers on both hosts at once until each host's alone have asked for every seat."""
    # Each host has served the page once, so neither host's buyers start with a cold one
    # (at CI size, the faster host's could otherwise take every seat before the other's
    # first hold, and the run would show one host, not two, contending).
    await asyncio.gather(*(_page_load(shape, scarce) for shape in shapes.values()))
    streams = {letter: Traffic(shape, scarce, plan.buyers, 0.0) for letter, shape in shapes.items()}
    tasks = [asyncio.create_task(t.buyer()) for t in streams.values() for _ in range(plan.buyers)]

    def holds(traffic: Traffic) -> list[Answer]:
        return [a for a in traffic.answers if a.kind == "hold"]

    try:
        done = await _until(lambda: all(len(holds(t)) >= plan.seats for t in streams.values()),
                            120)  # fmt: skip
        if done is None:
            result.notes.append("the oversell buyers did not finish within 120 s")
    finally:
        for traffic in streams.values():
            traffic.running = False
        await asyncio.gather(*tasks, return_exceptions=True)
    for letter, traffic in streams.items():
        answers = holds(traffic)
        result.attempts[letter] = len(answers)
        result.granted[letter] = sum(1 for a in answers if a.outcome == "303 held")
        result.scarce_outcomes.update(a.outcome for a in answers)
    ticket_type = scarce.ticket_type_ids[0]
    with psycopg.connect(rig.postgres.conninfo(), autocommit=True) as conn:
        result.reserved, result.sold = conn.execute(
            "SELECT reserved, sold FROM tickets_tickettype WHERE id = %s", (ticket_type,)
        ).fetchone()
        (result.held_in_db,) = conn.execute(
            "SELECT coalesce(sum(seats), 0) FROM tickets_hold "
            "WHERE ticket_type_id = %s AND status = 'active'",
            (ticket_type,),
        ).fetchone()


# --- the command -------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viewers", type=int, default=20, help="Viewers per host (default 20).")
    parser.add_argument(
        "--holds", type=int, default=60, help="Live-path holds, alternately on A and B (60)."
    )
    parser.add_argument("--seats", type=int, default=40, help="The scarce function's seats (40).")
    parser.add_argument("--buyers", type=int, default=6, help="Buyers per host at once (6).")
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=settings.PRESENCE_HEARTBEAT,
        help=f"Presence heartbeat of both hosts, seconds (default {settings.PRESENCE_HEARTBEAT}).",
    )
    parser.add_argument(
        "--http-workers", type=int, default=1, help="gunicorn workers per host (default 1)."
    )


def run(
    out: TextIO,
    *,
    viewers: int,
    holds: int,
    seats: int,
    buyers: int,
    heartbeat: int,
    http_workers: int,
    **options,
) -> None:
    if min(viewers, holds, seats, buyers, heartbeat, http_workers) < 1:
        raise CommandError(
            "--viewers, --holds, --seats, --buyers, --heartbeat and --http-workers must be "
            "at least 1."
        )
    plan = Plan(viewers, holds, seats, buyers, heartbeat=heartbeat, http_workers=http_workers)
    # A SIGTERM unwinds like Ctrl-C, through the finally blocks that take everything down.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        out.write(
            f"Two hosts, {viewers} viewers each, {holds} live holds, {seats} scarce seats...\n"
        )
        out.flush()
        result = run_scaleout(plan)
    except (NetnsError, FaultRigError) as error:
        raise CommandError(f"bench scaleout cannot run: {error}") from error
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.write("\n" + format_result(result) + "\n\n")
    out.write(
        f"Hosts {', '.join(result.hosts)}: network namespaces, the production shape each "
        f"({http_workers} gunicorn worker(s)), one PostgreSQL and one Redis. Live latency from "
        f"the hold request to the fragment on a viewer. Presence TTL {result.ttl:g} s "
        f"(heartbeat {heartbeat} s). Left behind: {', '.join(result.leftovers) or 'nothing'}. "
        f"CPU cores: {os.cpu_count()}; load average {result.load[0]:.2f}\n"
    )
    for note in result.notes:
        out.write(f"note: {note}\n")
    misses = result.target_misses()
    if misses:
        raise CommandError("missed: " + "; ".join(misses))
    out.write("every check met\n")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
