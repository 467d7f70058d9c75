"""Faults injected for real into the production shape, and what buyers and viewers saw.

A `Rig` runs the shape (`deployment.serve`: nginx, gunicorn, uvicorn, the sweeper under
supervisord) on a PostgreSQL cluster and a redis-server of its own, on free ports in a
temporary directory, so it can stop, pause and restart them without touching the host's
shared services. `run_fault` then, on a fresh Redis, a fresh shape and a fresh function:

1. opens the page and a live socket for each of N viewers (session cookie and Origin, as a
   browser does), and records every availability fragment each receives;
2. starts a buyer stream: a few buyers, each iteration a new person (GET the page for the
   CSRF cookie and a session, POST a one-seat hold), and a `/readyz` probe once a second;
3. after a quiet baseline, injects the fault, keeps it for the fault's duration, undoes it
   and awaits the recovery event (Redis answering PING, PostgreSQL accepting connections,
   the restarted child answering);
4. stops the holds (page loads go on), so the database stops changing, then measures how
   long each viewer's badge `availability-<id>` takes to equal the database;
5. runs `reconcile_inventory` against the rig's database.

The issue's targets (no bare 5xx, holds while Redis is down, every badge equal to the
database within 5 s of recovery, no drift, the other paths serving while one child is
dead) are `FaultResult.target_misses()`; `bench faults` prints them and tests/faults/
asserts them.

Everything started here is stopped in `finally` blocks, Ctrl-C included: the shape (and
any of its children still alive, found by the run directory in their environment), the
redis-server, the PostgreSQL cluster and the temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import psycopg
import websockets
from django.conf import settings

from bench.measure import child_pids, format_table, percentile
from bench.processes import HOST, RedisServer, ServerProcess, free_port, serve_command
from bench.wire import KeepAliveClient, WireError, WireResponse

# --- what a response was ---------------------------------------------------------------------

# Default error bodies: nginx's own pages, Django's with no 500.html, gunicorn's. A 5xx that
# carries none of them (and has a body) is the friendly "try again in a moment" page the
# hardening issue asks for; these markers are what its pages must not contain.
BARE_ERROR_MARKERS = (
    b"<center>nginx",
    b"Server Error (500)",
    b"Internal Server Error",
    b"<h1>Bad Gateway</h1>",
    b"<h1>Bad Request</h1>",
)
SEATS_BUSY_MARKER = b"selling fast"
HEAL_TARGET_SECONDS = 5.0
REQUEST_TIMEOUT = 15.0
PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)


def missing_binaries() -> list[str]:
    """What the rig needs to start its own services and is not installed here."""
    missing = []
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    if OwnPostgres.find_bin() is None:
        missing.append("PostgreSQL 15's initdb and pg_ctl (apt-get install postgresql-15)")
    return missing


def is_bare_error(body: bytes) -> bool:
    """Whether a 5xx body is a server's default page (or nothing) rather than ours."""
    return not body.strip() or any(marker in body for marker in BARE_ERROR_MARKERS)


def now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class Answer:
    """One HTTP request the buyers made: when, what for, and what came back."""

    kind: str  # "page", "hold", "readyz"
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (timeout, connection refused or reset)
    outcome: str  # what a person saw: "303 held", "409 try again", "502 bare", ...

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def bare(self) -> bool:
        return self.outcome.endswith(" bare")

    @property
    def failed(self) -> bool:
        """No usable answer: a 5xx, or none at all."""
        return self.status is None or self.server_error


def outcome_of(kind: str, response: WireResponse) -> str:
    status = response.status
    if status >= 500:
        return f"{status} {'bare' if is_bare_error(response.body) else 'friendly'}"
    if kind == "hold":
        if status == 303:
            return "303 held"
        if status == 409:
            busy = SEATS_BUSY_MARKER in response.body
            return "409 try again" if busy else "409 refused"
    return str(status)


# --- the rig's own services ------------------------------------------------------------------


class FaultRigError(RuntimeError):
    """The rig could not be set up; the message says what failed."""


def _await(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            raise FaultRigError(f"{what} within {timeout:g} s")
        time.sleep(poll)


class OwnPostgres:
    """A PostgreSQL cluster initialised in `root`, on a free port, with trust auth for
    role `postgres`. As root it runs as the `postgres` OS user (PostgreSQL refuses root).

    It listens on 127.0.0.1 and on each address of `listen_also`, and trusts connections
    from each network of `trusted` (CIDR): hosts in network namespaces (bench/netns.py)
    reach it over their links, where 127.0.0.1 is their own."""

    DATABASE = "lodgetix_faults"

    def __init__(
        self, root: Path, listen_also: tuple[str, ...] = (), trusted: tuple[str, ...] = ()
    ) -> None:
        self.listen = (HOST, *listen_also)
        self.trusted = trusted
        self.port = free_port()
        self.data = root / "pg"
        self.log = root / "pglog" / "postgres.log"
        self.bin = self.find_bin()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.started = False

    @staticmethod
    def find_bin() -> Path | None:
        """The directory of initdb and pg_ctl (Debian keeps them off the PATH)."""
        found = next((d for d in PG_BIN_DIRS if (d / "pg_ctl").exists()), None)
        if found is None and shutil.which("pg_ctl"):
            found = Path(shutil.which("pg_ctl")).resolve().parent
        return found

    def url(self, database: str = DATABASE, host: str = HOST) -> str:
        return f"postgres://postgres@{host}:{self.port}/{database}"

    def conninfo(self, database: str = DATABASE) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={database} connect_timeout=3"

    def _run(self, *command: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            user=self.user, capture_output=True, text=True, timeout=timeout,
            start_new_session=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise FaultRigError(f"{command[0]} failed:\n{result.stdout}{result.stderr}")

    def init(self) -> None:
        if self.bin is None:
            raise FaultRigError("PostgreSQL's initdb/pg_ctl are not installed (postgresql-15)")
        for directory in (self.data, self.log.parent):
            directory.mkdir(mode=0o700)
            if self.user:
                shutil.chown(directory, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
        if self.trusted:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.writelines(f"host all all {network} trust\n" for network in self.trusted)

    def start(self) -> None:
        # Durability off: this cluster is thrown away, and fsyncs would take the shared
        # machine's disk from the services it runs beside.
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses={','.join(self.listen)} "
            "-c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB "
            "-c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip
        self.started = True

    def stop(self, mode: str = "fast") -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.started = False

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.conninfo(), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.DATABASE}"')


# --- the shape ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """The function a fault is measured on."""

    slug: str
    function_id: int
    ticket_type_ids: tuple[int, ...]

    @property
    def page(self) -> str:
        return f"/functions/{self.slug}/"

    @property
    def hold(self) -> str:
        return f"/functions/{self.slug}/hold/"

    @property
    def socket(self) -> str:
        return f"/ws/functions/{self.slug}/"


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def processes_with_env(entry: str) -> list[int]:
    """Processes whose environment holds `entry` (NAME=value): the shape's children carry
    its run directory, which no other process on the host has."""
    found = []
    needle = entry.encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except (OSError, ValueError):
            continue
    return found


class Shape:
    """The production shape on the rig's services, in a run directory of its own; with
    `netns`, inside that network namespace, nginx listening on `host` (its address there)."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        http_workers: int,
        *,
        host: str = HOST,
        netns: str | None = None,
    ) -> None:
        self.port = free_port()
        self.run_dir = root / f"serve-{self.port}"
        self.http_workers = http_workers
        self.env = {**env, "LODGETIX_SERVE_RUN_DIR": str(self.run_dir)}
        command = [*serve_command(self.port), "--host", host, "--http-workers", str(http_workers)]
        self.process = ServerProcess(
            "production shape (faults)",
            # `ip netns exec` enters the namespace and execs: the pid stays supervisord's.
            ["ip", "netns", "exec", netns, *command] if netns else command,
            host=host,
            port=self.port,
            env=self.env,
            new_session=True,
            # Today every start migrates and collects static files; on a busy 2-core
            # machine that alone can take a minute.
            start_timeout=180,
            stop_timeout=45,
        )
        self.url = self.process.url
        self.ws_url = self.url.replace("http://", "ws://", 1)

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        # A stopped (SIGSTOP) child would ignore supervisord's SIGTERM until it is killed.
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.process.stop()
        # Whatever outlived supervisord (killed, it would orphan its children) goes now.
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def leftovers(self) -> list[int]:
        mine = os.getpid()
        return [p for p in processes_with_env(f"LODGETIX_SERVE_RUN_DIR={self.run_dir}")
                if p != mine]  # fmt: skip

    def output(self) -> str:
        return self.process.output()

    def close(self) -> None:
        self.stop()
        self.process.log.unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self.process.running

    # supervisord's children, found in /proc (cheaper than a supervisorctl per poll).
    def _children(self) -> list[tuple[int, list[str]]]:
        if not self.process.pid:
            return []
        return [(pid, _cmdline(pid)) for pid in child_pids(self.process.pid)]

    def program_pid(self, program: str) -> int | None:
        """The pid of supervisord's child running `program` ("uvicorn", "gunicorn" - the
        master -, "release_expired_holds"), or None while there is none."""
        for pid, argv in self._children():
            if any(program in part for part in argv):
                return pid
        return None

    def gunicorn_workers(self) -> list[int]:
        master = self.program_pid("gunicorn")
        return sorted(child_pids(master)) if master else []


# --- the rig ---------------------------------------------------------------------------------


class Rig:
    """Own PostgreSQL (migrated, static files collected) for the whole rig; a fresh Redis
    and a fresh shape per fault (`fresh_services`), so one fault's damage is not the next
    one's. A context manager: leaving it stops everything and removes its directory."""

    def __init__(
        self,
        *,
        http_workers: int = 2,
        keep_dir: bool = False,
        listen_also: tuple[str, ...] = (),
        trusted: tuple[str, ...] = (),
    ) -> None:
        self.http_workers = http_workers
        self.listen_also, self.trusted = listen_also, trusted
        self.keep_dir = keep_dir
        self.root: Path | None = None
        self.postgres: OwnPostgres | None = None
        self.secret_key = secrets.token_urlsafe(40)

    def __enter__(self) -> Self:
        self.root = Path(tempfile.mkdtemp(prefix="lodgetix-faults-"))
        try:
            # The postgres OS user must reach its data directory inside.
            self.root.chmod(0o711)
            self.postgres = OwnPostgres(self.root, self.listen_also, self.trusted)
            self.postgres.init()
            self.postgres.start()
            self.postgres.create_database()
            # Separate steps, before any start (the hardening makes the shape refuse to
            # start without them; today it repeats them, harmlessly).
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("collectstatic", "--noinput", "-v", "0", STATIC_COLLECTED="1")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.postgres is not None:
                with contextlib.suppress(FaultRigError, subprocess.TimeoutExpired):
                    self.postgres.stop("immediate")
        finally:
            if self.root is not None and not self.keep_dir:
                shutil.rmtree(self.root, ignore_errors=True)

    def env(self, redis_url: str = "") -> dict[str, str]:
        """The environment of everything the rig runs: its own database and Redis, its own
        var/ (secret key, collected static files), plain HTTP on loopback."""
        return {
            "DJANGO_SETTINGS_MODULE": "lodgetix.settings",
            "DATABASE_URL": self.postgres.url(),
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": "lodgetix-faults",
            "SECRET_KEY": self.secret_key,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LODGETIX_VAR_DIR": str(self.root / "var"),
            # Plain HTTP on loopback: no HTTPS redirect or secure-only cookies once
            # production defaults turn them on.
            "LODGETIX_HTTPS": "off",
            # Every buyer and viewer comes from 127.0.0.1; a real crowd has many addresses.
            "HOLD_RATE_LIMIT_PER_IP": "off",
            "HOLD_SEATS_PER_IP": "off",
            "LIVE_MAX_SOCKETS_PER_IP": "100000",
            "HOLD_SWEEP_INTERVAL": "1",
        }

    def manage(self, *args: str, timeout: float = 300, **env: str) -> str:
        """`manage.py ARGS` on the rig's database (no Redis: it may be the thing broken)."""
        result = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
            cwd=settings.BASE_DIR, env={**os.environ, **self.env(), **env},
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0 and args[0] != "reconcile_inventory":
            raise FaultRigError(f"manage.py {' '.join(args)} failed:\n{result.stdout}"
                                f"{result.stderr[-4000:]}")  # fmt: skip
        return result.stdout + result.stderr

    def seed(self, capacity: int = 100_000) -> Seeded:
        code = (
            "import json; from bench.data import make_bench_function; "
            f"t = make_bench_function('faults', {capacity}, low_stock_threshold=1); "
            "print('SEEDED', json.dumps([t.event.function.slug, t.event.function_id, t.pk]))"
        )
        output = self.manage("shell", "-c", code)
        line = next(line for line in output.splitlines() if line.startswith("SEEDED "))
        slug, function_id, ticket_type = json.loads(line.removeprefix("SEEDED "))
        return Seeded(slug, function_id, (ticket_type,))

    def drift(self) -> tuple[int, str]:
        """Ticket types `reconcile_inventory` finds drifted, and its report; any drift is
        then repaired, so the next fault is not blamed for this one's."""
        output = self.manage("reconcile_inventory")
        match = re.search(r"Checked \d+ ticket types: (\d+) drifted", output)
        drifted = int(match.group(1)) if match else -1
        if drifted:
            self.manage("reconcile_inventory", "--fix")
        return drifted, output

    @contextlib.contextmanager
    def fresh_services(self) -> Iterator[tuple[RedisServer, Shape]]:
        redis = RedisServer(log=self.root / "redis.log")
        shape: Shape | None = None
        try:
            redis.start()
            shape = Shape(self.root, self.env(redis.url), self.http_workers)
            shape.start()
            yield redis, shape
        finally:
            if shape is not None:
                shape.close()
            redis.stop()


# --- buyers, readers, viewers ------------------------------------------------------------------

AVAILABILITY = re.compile(rb'id="availability-(\d+)"[^>]*?data-available="(\d+)"')
LIVE = re.compile(rb'id="live-indicator"[^>]*?data-live="(true|false)"')


@dataclass
class Traffic:
    """The buyer stream and the /readyz probe, and every answer they got."""

    shape: Shape
    seeded: Seeded
    buyers: int
    pause: float
    answers: list[Answer] = field(default_factory=list)
    holding: bool = True  # False: buyers only load pages (the database stops changing)
    running: bool = True
    holds_in_flight: int = 0
    _hold_starts: dict[int, float] = field(default_factory=dict)

    def oldest_hold_in_flight(self) -> float:
        """Seconds the longest-waiting hold in flight has waited (0 with none)."""
        return now() - min(self._hold_starts.values(), default=now())

    async def _request(
        self, client: KeepAliveClient, kind: str, call: Awaitable[WireResponse]
    ) -> WireResponse | None:
        started = now()
        try:
            response = await call
        except TimeoutError:
            await client.close()
            self.answers.append(Answer(kind, started, now(), None, "timeout"))
            return None
        except (OSError, WireError):
            await client.close()
            self.answers.append(Answer(kind, started, now(), None, "no answer"))
            return None
        self.answers.append(
            Answer(kind, started, now(), response.status, outcome_of(kind, response))
        )
        return response

    async def buyer(self) -> None:
        csrf: str | None = None
        ticket_types = self.seeded.ticket_type_ids
        while self.running:
            # A new person each time: a connection, a page load, a session of their own.
            client = KeepAliveClient(self.shape.url, timeout=REQUEST_TIMEOUT)
            try:
                page = await self._request(client, "page", client.get(self.seeded.page))
                cookies = page.cookies() if page is not None else {}
                # The CSRF cookie outlives a failed page load (it is not the session's):
                # a person whose reload failed still clicks on the page they have.
                csrf = cookies.get("csrftoken", csrf)
                if self.holding and self.running and csrf:
                    cookies["csrftoken"] = csrf
                    headers = {
                        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
                        "X-CSRFToken": csrf,
                    }
                    fields = {"ticket_type": random.choice(ticket_types), "quantity": 1}
                    self.holds_in_flight += 1
                    token = object()
                    self._hold_starts[id(token)] = now()
                    try:
                        await self._request(
                            client, "hold", client.post_form(self.seeded.hold, fields, headers)
                        )
                    finally:
                        self.holds_in_flight -= 1
                        del self._hold_starts[id(token)]
            finally:
                await client.close()
            await asyncio.sleep(self.pause)

    async def readyz(self) -> None:
        while self.running:
            client = KeepAliveClient(self.shape.url, timeout=5)
            try:
                await self._request(client, "readyz", client.get("/readyz"))
            finally:
                await client.close()
            await asyncio.sleep(1.0)

    def between(self, start: float, end: float, *kinds: str) -> list[Answer]:
        return [a for a in self.answers
                if start <= a.started <= end and (not kinds or a.kind in kinds)]  # fmt: skip


# live.js's reconnect cap (tickets/static/tickets/live.js), in seconds.
RECONNECT_CAP = 3.0


@dataclass
class Viewer:
    """One open function page: its cookies, its badges as last swapped in, and every
    socket event, with the reconnects of live.js (full jitter, capped at 3 s)."""

    shape: Shape
    seeded: Seeded
    cookie: str = ""
    badges: dict[int, int] = field(default_factory=dict)
    receipts: list[float] = field(default_factory=list)
    closes: list[tuple[float, int | None]] = field(default_factory=list)
    refusals: list[tuple[float, str]] = field(default_factory=list)
    not_live: list[float] = field(default_factory=list)  # told, or the socket dropped
    running: bool = True
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def open_page(self) -> None:
        client = KeepAliveClient(self.shape.url, timeout=30)
        try:
            response = await client.get(self.seeded.page)
        finally:
            await client.close()
        if response.status != 200:
            raise FaultRigError(f"a viewer's page load answered {response.status}")
        self.cookie = "; ".join(f"{k}={v}" for k, v in response.cookies().items())

    def _take(self, data: bytes) -> None:
        at = now()
        for ticket_type, available in AVAILABILITY.findall(data):
            self.badges[int(ticket_type)] = int(available)
            self.receipts.append(at)
        for live in LIVE.findall(data):
            if live == b"false":
                self.not_live.append(at)
        if all(t in self.badges for t in self.seeded.ticket_type_ids):
            self.ready.set()

    async def run(self) -> None:
        retries = 0
        url = self.shape.ws_url + self.seeded.socket
        while self.running:
            try:
                async with websockets.connect(
                    url, origin=self.shape.url, additional_headers={"Cookie": self.cookie},
                    compression=None, open_timeout=10, max_size=2**20,
                ) as connection:  # fmt: skip
                    retries = 0
                    async for message in connection:
                        self._take(message if isinstance(message, bytes) else message.encode())
                # A clean close (1000, 1001) ends the loop without raising.
                self.closes.append((now(), connection.close_code))
                self.not_live.append(now())
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                self.closes.append((now(), code))
                self.not_live.append(now())
                if code == 4001:  # htmx does not reconnect after "too many tabs"
                    return
            except websockets.InvalidStatus as refused:
                self.refusals.append((now(), str(refused.response.status_code)))
                self.not_live.append(now())
            except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
                self.refusals.append((now(), type(error).__name__))
                self.not_live.append(now())
            if not self.running:
                return
            await asyncio.sleep(random.random() * min(RECONNECT_CAP, 0.5 * 2**retries))
            retries += 1


# --- the faults --------------------------------------------------------------------------------


@dataclass
class Plan:
    """How long each part lasts (seconds) and how much load; CI sizes by default."""

    viewers: int = 50
    buyers: int = 4
    buyer_pause: float = 0.3
    baseline: float = 2.0
    duration: float = 4.0
    heal_window: float = 10.0
    # How long a hung sweeper may go unnoticed by /readyz before the suite gives up.
    notice_deadline: float = 30.0


@dataclass
class Window:
    """When the fault began, when the broken part was back, and when the run stopped
    changing the database (the later of recovery and the end of the fault's duration)."""

    fault: float
    recovered: float
    end: float


@dataclass
class Context:
    rig: Rig
    redis: RedisServer
    shape: Shape
    seeded: Seeded
    plan: Plan
    traffic: Traffic
    viewers: list[Viewer]
    notes: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    async def until(self, predicate: Callable[[], bool], within: float, what: str) -> float:
        """Await `predicate` (run off the event loop), polling; the time it came true."""
        deadline = now() + within
        while not await asyncio.to_thread(predicate):
            if now() > deadline:
                raise FaultRigError(f"{what} within {within:g} s")
            await asyncio.sleep(0.1)
        return now()

    def socket_answers(self) -> bool:
        """A new live socket through nginx gets its snapshot."""

        async def probe() -> bool:
            async with websockets.connect(
                self.shape.ws_url + self.seeded.socket, origin=self.shape.url,
                compression=None, open_timeout=3,
            ) as connection:  # fmt: skip
                return b"availability-" in (await asyncio.wait_for(connection.recv(), 3)).encode()

        try:
            return asyncio.run(probe())
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            return False

    # The rig's database, read directly (the shape may be what is broken).
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.rig.postgres.conninfo(), autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]

    def lapse_holds(self) -> int:
        """Make every pending registration of the function (and its holds) expired now, as
        if their minutes had run out: the sweeper's work to do."""
        self.query(
            "UPDATE tickets_hold SET expires_at = now() - interval '1 second' "
            "WHERE status = 'active' AND ticket_type_id = ANY(%s)",
            (list(self.seeded.ticket_type_ids),),
        )
        return self.query(
            "UPDATE tickets_registration SET expires_at = now() - interval '1 second' "
            "WHERE status = 'pending' AND function_id = %s",
            (self.seeded.function_id,),
        )[0][0]

    def lapsed_still_reserved(self) -> int:
        return self.query(
            "SELECT count(*) FROM tickets_hold WHERE status = 'active' "
            "AND expires_at <= now() AND ticket_type_id = ANY(%s)",
            (list(self.seeded.ticket_type_ids),),
        )[0][0]


class Fault:
    """One fault: `run` injects it, keeps it for the plan's duration, undoes it and awaits
    recovery. `other_paths` names what must keep serving meanwhile (a killed child)."""

    name: ClassVar[str]
    description: ClassVar[str]
    other_paths: ClassVar[str | None] = None

    async def run(self, ctx: Context) -> Window:
        raise NotImplementedError


class _Outage(Fault):
    """A service of the rig made unavailable for the plan's duration, then mended: the
    fault counts from when `inflict` has returned (the service is down, or hung, by then)
    until `mend` has (it answers again). Each is a method of the service's helper, which
    waits for what it does (RedisServer PINGs; pg_ctl -w)."""

    service: ClassVar[str]  # "redis" (ctx.redis) or "postgres" (ctx.rig.postgres)
    inflict: ClassVar[str]
    mend: ClassVar[str]

    async def run(self, ctx: Context) -> Window:
        helper = ctx.redis if self.service == "redis" else ctx.rig.postgres
        # A stopped server is down once it has exited: a hold that began before did not
        # succeed without it.
        await asyncio.to_thread(getattr(helper, self.inflict))
        fault = now()
        try:
            await asyncio.sleep(ctx.plan.duration)
        finally:
            await asyncio.to_thread(getattr(helper, self.mend))
        recovered = now()
        return Window(fault, recovered, recovered)


class RedisStopped(_Outage):
    name = "redis-stopped"
    description = "redis-server stopped, started again on the same port (empty)"
    service, inflict, mend = "redis", "stop", "start"


class RedisPaused(_Outage):
    name = "redis-paused"
    description = "redis-server hung (SIGSTOP), then resumed (SIGCONT)"
    service, inflict, mend = "redis", "pause", "resume"


class PostgresRestarted(_Outage):
    name = "postgres-restarted"
    description = "PostgreSQL stopped (fast), down for the duration, started again"
    service, inflict, mend = "postgres", "stop", "start"


class _ChildKilled(Fault):
    """SIGKILL one child; supervisord (or gunicorn's master) starts another."""

    program: ClassVar[str]

    def victim(self, ctx: Context) -> int | None:
        return ctx.shape.program_pid(self.program)

    async def choose_victim(self, ctx: Context) -> int | None:
        return self.victim(ctx)

    def back(self, ctx: Context, killed: int) -> bool:
        pid = self.victim(ctx)
        return pid is not None and pid != killed

    async def after_kill(self, ctx: Context) -> None:
        """Anything to do while it is down (before awaiting it back)."""

    async def run(self, ctx: Context) -> Window:
        killed = await self.choose_victim(ctx)
        if killed is None:
            raise FaultRigError(f"no {self.program} process to kill")
        fault = now()
        os.kill(killed, signal.SIGKILL)
        await self.after_kill(ctx)
        recovered = await ctx.until(lambda: self.back(ctx, killed), 60, f"{self.name}: not back")
        await asyncio.sleep(max(0.0, fault + ctx.plan.duration - now()))
        return Window(fault, recovered, max(recovered, now()))


class UvicornKilled(_ChildKilled):
    name = "uvicorn-killed"
    description = "the uvicorn child SIGKILLed; supervisord restarts it"
    other_paths = "HTTP keeps answering while uvicorn is dead"
    program = "uvicorn"

    def back(self, ctx: Context, killed: int) -> bool:
        return super().back(ctx, killed) and ctx.socket_answers()


class GunicornWorkerKilled(_ChildKilled):
    name = "gunicorn-worker-killed"
    description = "one gunicorn worker SIGKILLed (not the master); the master forks another"
    other_paths = "live sockets keep working while a gunicorn worker is dead"
    program = "gunicorn"

    def victim(self, ctx: Context) -> int | None:
        workers = ctx.shape.gunicorn_workers()
        return workers[0] if workers else None

    async def choose_victim(self, ctx: Context, within: float = 5.0) -> int | None:
        """A worker with a request on it, if one can be caught: killed idle, a worker takes
        no request with it. The victim is frozen (SIGSTOP) first and killed once a hold has
        waited 0.3 s (on it: the other worker answers in milliseconds), or after `within`.
        Measured at 4 and 16 buyers, none was caught: nginx reuses its most recent
        kept-alive connection and the running worker accepts new ones, so the frozen one
        got no request (the fact "holds in flight at the kill" says so per run)."""
        victim = self.victim(ctx)
        if victim is None:
            return None
        os.kill(victim, signal.SIGSTOP)
        deadline = now() + within
        while now() < deadline:
            if ctx.traffic.oldest_hold_in_flight() >= 0.3:
                break
            await asyncio.sleep(0.02)
        ctx.facts["holds in flight at the kill"] = ctx.traffic.holds_in_flight
        return victim

    def back(self, ctx: Context, killed: int) -> bool:
        workers = ctx.shape.gunicorn_workers()
        return killed not in workers and len(workers) >= ctx.shape.http_workers


class SweeperKilled(_ChildKilled):
    name = "sweeper-killed"
    description = "the sweeper SIGKILLed while holds lapse; supervisord restarts it"
    other_paths = "HTTP and live sockets keep serving while the sweeper is dead"
    program = "release_expired_holds"

    async def after_kill(self, ctx: Context) -> None:
        ctx.facts["lapsed"] = await asyncio.to_thread(ctx.lapse_holds)

    async def run(self, ctx: Context) -> Window:
        window = await super().run(ctx)
        await _await_released(ctx, since=window.recovered)
        window.end = max(window.end, now())
        return window


class SweeperHung(Fault):
    name = "sweeper-hung"
    description = "the sweeper hung (SIGSTOP) while holds lapse, until /readyz notices"
    other_paths = "HTTP and live sockets keep serving while the sweeper is hung"

    async def run(self, ctx: Context) -> Window:
        pid = ctx.shape.program_pid("release_expired_holds")
        if pid is None:
            raise FaultRigError("no sweeper process to hang")
        fault = now()
        os.kill(pid, signal.SIGSTOP)
        try:
            ctx.facts["lapsed"] = await asyncio.to_thread(ctx.lapse_holds)
            # Hung for at least the duration, and until /readyz says it is not ready (a
            # heartbeat gone stale) or the notice deadline passes.
            deadline = fault + max(ctx.plan.duration, ctx.plan.notice_deadline)
            while now() < deadline:
                if now() >= fault + ctx.plan.duration and _readyz_noticed(ctx, fault):
                    break
                await asyncio.sleep(0.5)
            noticed = _readyz_noticed(ctx, fault)
            ctx.facts["noticed_after"] = noticed - fault if noticed is not None else None
            ctx.facts["still_reserved"] = await asyncio.to_thread(ctx.lapsed_still_reserved)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        recovered = now()
        await _await_released(ctx, since=recovered)
        return Window(fault, recovered, max(recovered, now()))


def _readyz_noticed(ctx: Context, since: float) -> float | None:
    """When /readyz first answered "not ready" (a status other than 200, and other than
    404: no /readyz at all) since `since`."""
    for answer in ctx.traffic.between(since, now(), "readyz"):
        if answer.status not in (200, 404, None):
            return answer.finished
    return None


async def _await_released(ctx: Context, since: float, within: float = 15.0) -> None:
    """Await the lapsed holds' release by the sweeper; record how long it took."""
    with contextlib.suppress(FaultRigError):
        await ctx.until(lambda: ctx.lapsed_still_reserved() == 0, within, "lapsed holds kept")
        ctx.facts["released_after"] = now() - since
        return
    ctx.facts["released_after"] = None
    ctx.facts["kept_after_recovery"] = await asyncio.to_thread(ctx.lapsed_still_reserved)


_ALL_FAULTS = (RedisStopped, RedisPaused, UvicornKilled, GunicornWorkerKilled,
               PostgresRestarted, SweeperKilled, SweeperHung)  # fmt: skip
FAULTS: dict[str, type[Fault]] = {fault.name: fault for fault in _ALL_FAULTS}


# --- the result --------------------------------------------------------------------------------


@dataclass
class FaultResult:
    name: str
    answers: list[Answer]
    window: Window
    viewers: int
    heal_times: list[float | None]  # per viewer; None: never equal to the database
    not_live_viewers: int  # told "not live" (or disconnected) during the fault
    drift: int
    other_paths: str | None = None
    other_paths_misses: list[str] = field(default_factory=list)
    # One hold after healing: the seconds until each viewer showed it (None: never).
    after_change: list[float | None] = field(default_factory=list)
    socket_refusals: Counter = field(default_factory=Counter)  # handshakes during the fault
    facts: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> list[Answer]:
        """The buyers' page loads and holds (not the /readyz probe: 503 is its job)."""
        return [a for a in self.answers if a.kind != "readyz"]

    @property
    def server_errors(self) -> list[Answer]:
        return [a for a in self.requests if a.server_error]

    @property
    def bare_errors(self) -> list[Answer]:
        return [a for a in self.server_errors if a.bare]

    def saw(self, kind: str) -> Counter:
        return Counter(a.outcome for a in self.requests if a.kind == kind)

    @property
    def during(self) -> list[Answer]:
        """Requests begun while the fault lasted (injection to recovery)."""
        window = self.window
        return [a for a in self.requests if window.fault <= a.started <= window.recovered]

    def saw_during(self, kind: str) -> Counter:
        return Counter(a.outcome for a in self.during if a.kind == kind)

    def latency_during(self) -> str:
        seconds = [a.finished - a.started for a in self.during]
        if not seconds:
            return "-"
        return f"{percentile(seconds, 50) * 1000:,.0f} / {max(seconds) * 1000:,.0f}"

    @property
    def held_during_fault(self) -> int:
        return sum(
            1
            for a in self.requests
            if a.outcome == "303 held" and self.window.fault <= a.started <= self.window.recovered
        )

    @property
    def converged(self) -> int:
        return sum(1 for t in self.heal_times if t is not None)

    @property
    def healed_in_time(self) -> int:
        return sum(1 for t in self.heal_times if t is not None and t <= HEAL_TARGET_SECONDS)

    def heal(self, p: float) -> float | None:
        times = [t for t in self.heal_times if t is not None]
        if not times:
            return None
        return percentile(times, p) if p < 100 else max(times)

    @property
    def readyz(self) -> Counter:
        answers = [a for a in self.answers if a.kind == "readyz"
                   and self.window.fault <= a.started <= self.window.recovered]  # fmt: skip
        return Counter(str(a.status) if a.status else a.outcome for a in answers)

    def target_misses(self, *, holds_during_fault: bool = False) -> list[str]:
        """The issue's targets this run missed, each said in a sentence."""
        misses = []
        if self.bare_errors:
            kinds = Counter(a.outcome for a in self.bare_errors)
            misses.append(f"{len(self.bare_errors)} bare 5xx (a default error page, not a "
                          f"friendly one): {_counts(kinds)}")  # fmt: skip
        if holds_during_fault and not self.held_during_fault:
            misses.append(f"no hold succeeded during the fault: {_counts(self.saw('hold'))}")
        if self.healed_in_time < self.viewers:
            misses.append(
                f"{self.viewers - self.healed_in_time} of {self.viewers} viewers' badges were "
                f"not equal to the database within {HEAL_TARGET_SECONDS:g} s of recovery "
                f"({self.viewers - self.converged} never within the window)"
            )
        reached = sum(1 for t in self.after_change if t is not None and t <= HEAL_TARGET_SECONDS)
        if reached < self.viewers:
            misses.append(
                f"a change after recovery reached {reached} of {self.viewers} viewers within "
                f"{HEAL_TARGET_SECONDS:g} s"
            )
        if self.drift:
            misses.append(f"reconcile_inventory found {self.drift} ticket type(s) drifted")
        misses.extend(self.other_paths_misses)
        if "released_after" in self.facts and self.facts["released_after"] is None:
            misses.append(
                f"{self.facts.get('kept_after_recovery')} lapsed holds still reserved after "
                "the sweeper came back"
            )
        if "noticed_after" in self.facts and self.facts["noticed_after"] is None:
            misses.append("/readyz never reported the hung sweeper as not ready")
        return misses

    def row(self) -> list[object]:
        errors = len(self.server_errors)
        p50, worst = self.heal(50), self.heal(100)
        heal = "never" if p50 is None else f"{p50:.1f} / {worst:.1f}"
        other = "-" if self.other_paths is None else (
            "yes" if not self.other_paths_misses else "NO")  # fmt: skip
        extra = [f"{k} {_fact(v)}" for k, v in self.facts.items()]
        if self.socket_refusals:
            extra.append(f"sockets refused: {_counts(self.socket_refusals)}")
        reached = [t for t in self.after_change if t is not None]
        change = f"{len(reached)}/{self.viewers}" + (f" in {max(reached):.1f} s" if reached else "")
        return [
            self.name,
            len(self.requests),
            f"{errors} ({len(self.bare_errors)} bare)",
            f"holds: {_counts(self.saw_during('hold'))}; pages: {_counts(self.saw_during('page'))}",
            self.latency_during(),
            self.drift,
            heal,
            f"{self.converged}/{self.viewers} ({self.healed_in_time} in 5 s)",
            change,
            f"{self.viewers - self.not_live_viewers}/{self.viewers}",
            other,
            _counts(self.readyz) or "-",
            "; ".join([*extra, *self.notes]) or "-",
        ]


HEADERS = ["fault", "requests", "5xx", "what buyers saw during the fault",
           "p50 / max ms during", "drift", "heal p50 / max s", "converged",
           "change after", "shown LIVE during", "others served", "/readyz during",
           "notes"]  # fmt: skip


def format_results(results: list[FaultResult]) -> str:
    return format_table(HEADERS, [r.row() for r in results])


def _counts(counter: Counter) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items()))


def _fact(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f} s"
    return "never" if value is None else str(value)


# --- one run -----------------------------------------------------------------------------------


def run_fault(rig: Rig, name: str, plan: Plan | None = None) -> FaultResult:
    """Measure one fault (a name of FAULTS) on a fresh Redis, shape and function."""
    plan = plan or Plan()
    fault = FAULTS[name]()
    seeded = rig.seed()
    with rig.fresh_services() as (redis, shape):
        result = asyncio.run(_measure(rig, redis, shape, seeded, fault, plan))
        if not shape.running:
            result.notes.append("the shape exited")
    result.drift, _report = rig.drift()
    return result


async def _measure(
    rig: Rig, redis: RedisServer, shape: Shape, seeded: Seeded, fault: Fault, plan: Plan
) -> FaultResult:
    traffic = Traffic(shape, seeded, plan.buyers, plan.buyer_pause)
    viewers = [Viewer(shape, seeded) for _ in range(plan.viewers)]
    ctx = Context(rig, redis, shape, seeded, plan, traffic, viewers)
    tasks: list[asyncio.Task] = []
    try:
        opening = asyncio.Semaphore(10)

        async def open_page(viewer: Viewer) -> None:
            async with opening:
                await viewer.open_page()

        await asyncio.gather(*(open_page(v) for v in viewers))
        tasks += [asyncio.create_task(v.run()) for v in viewers]
        try:
            await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in viewers)), 90)
        except TimeoutError:
            ready = sum(v.ready.is_set() for v in viewers)
            raise FaultRigError(f"only {ready} of {len(viewers)} viewers got a snapshot") from None
        tasks += [asyncio.create_task(traffic.buyer()) for _ in range(plan.buyers)]
        tasks.append(asyncio.create_task(traffic.readyz()))
        await asyncio.sleep(plan.baseline)  # deliberate: the shape under load, unbroken

        window = await fault.run(ctx)

        # Holds stop, so the database stops changing once those in flight are done.
        traffic.holding = False
        heal_times = await _healing(ctx, window.end)
        # Then one more change: the live path must carry it too, not only the snapshot
        # or re-push that healed the viewers.
        changed = now()
        if await _one_hold(shape, seeded):
            after_change = await _healing(ctx, changed)
        else:
            after_change = [None] * len(viewers)
            ctx.notes.append("the hold after recovery failed")
    finally:
        traffic.running = False
        for viewer in viewers:
            viewer.running = False
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    not_live = sum(
        1 for v in viewers if any(window.fault <= t <= window.recovered + 1 for t in v.not_live)
    )
    result = FaultResult(
        name=fault.name,
        answers=traffic.answers,
        window=window,
        viewers=len(viewers),
        heal_times=heal_times,
        not_live_viewers=not_live,
        drift=0,
        other_paths=fault.other_paths,
        facts=ctx.facts,
        notes=ctx.notes,
    )
    result.after_change = after_change
    result.socket_refusals = Counter(
        why for v in viewers for t, why in v.refusals if window.fault <= t <= window.recovered
    )
    if fault.other_paths:
        result.other_paths_misses = _other_paths_misses(fault, window, traffic, viewers)
    return result


async def _one_hold(shape: Shape, seeded: Seeded) -> bool:
    """A new person holds one seat; whether it was held (303)."""
    client = KeepAliveClient(shape.url, timeout=REQUEST_TIMEOUT)
    try:
        page = await client.get(seeded.page)
        cookies = page.cookies()
        if "csrftoken" not in cookies:
            return False
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-CSRFToken": cookies["csrftoken"],
        }
        fields = {"ticket_type": seeded.ticket_type_ids[0], "quantity": 1}
        return (await client.post_form(seeded.hold, fields, headers)).status == 303
    except (OSError, TimeoutError, WireError):
        return False
    finally:
        await client.close()


async def _healing(ctx: Context, start: float) -> list[float | None]:
    """For each viewer, the seconds from `start` until its badges equalled the database
    for good (0 if they already did), or None if they did not by the end of the window.

    Polls the database and the badges every 100 ms; ends early once no hold is in flight
    and every viewer has been equal for a second with the database unchanged (holds in
    flight at recovery, or the sweeper, may still change it, which viewers must then show).
    """
    ticket_types = list(ctx.seeded.ticket_type_ids)
    sql = ("SELECT id, greatest(capacity - reserved - sold, 0) FROM tickets_tickettype "
           "WHERE id = ANY(%s)")  # fmt: skip
    equal_since: list[float | None] = [None] * len(ctx.viewers)
    last_state: dict[int, int] | None = None
    state_since = now()
    deadline = start + ctx.plan.heal_window
    conn: psycopg.AsyncConnection | None = None
    try:
        while True:
            try:
                if conn is None:
                    conn = await psycopg.AsyncConnection.connect(
                        ctx.rig.postgres.conninfo(), autocommit=True
                    )
                rows = await (await conn.execute(sql, (ticket_types,))).fetchall()
            except psycopg.Error:
                conn = None
                await asyncio.sleep(0.1)
                continue
            at = now()
            state = dict(rows)
            if state != last_state:
                last_state, state_since = state, at
            for index, viewer in enumerate(ctx.viewers):
                equal = all(viewer.badges.get(t) == state[t] for t in ticket_types)
                if not equal:
                    equal_since[index] = None
                elif equal_since[index] is None:
                    equal_since[index] = max(at, start)
            settled = all(t is not None and at - t >= 1.0 for t in equal_since)
            quiet = at - state_since >= 1.0 and not ctx.traffic.holds_in_flight
            if (settled and quiet) or at > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        if conn is not None:
            await conn.close()
    return [None if t is None else round(t - start, 2) for t in equal_since]


def _other_paths_misses(
    fault: Fault, window: Window, traffic: Traffic, viewers: list[Viewer]
) -> list[str]:
    misses = []
    http_checked = isinstance(fault, UvicornKilled | SweeperKilled | SweeperHung)
    sockets_checked = isinstance(fault, GunicornWorkerKilled | SweeperKilled | SweeperHung)
    if http_checked:
        during = traffic.between(window.fault, window.recovered, "page", "hold")
        failed = [a for a in during if a.failed]
        if not during or failed:
            misses.append(
                f"HTTP while {fault.name.split('-')[0]} was down: {len(during) - len(failed)} "
                f"answered, {len(failed)} failed ({_counts(Counter(a.outcome for a in failed))})"
            )
    if sockets_checked:
        closed = sum(1 for v in viewers if any(window.fault <= t <= window.end
                                               for t, _code in v.closes))  # fmt: skip
        pushed = sum(1 for v in viewers if any(window.fault < t <= window.end
                                               for t in v.receipts))  # fmt: skip
        if closed or pushed < len(viewers):
            misses.append(
                f"live sockets during the fault: {closed} of {len(viewers)} closed, "
                f"{pushed} of {len(viewers)} received a push"
            )
    return misses
