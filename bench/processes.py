"""Servers in subprocesses, for benchmarks and tests: start one, wait until it answers,
stop it.

`ServerProcess` is the one way this repository does that; the ASGI servers, gunicorn and
the production shape differ only in their command line (below) and environment.
"""

from __future__ import annotations

import configparser
import http.client
import itertools
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self
from urllib.parse import quote

from django.conf import settings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def production_ws_flags(conf: Path | None = None) -> list[str]:
    """The --ws-* flags uvicorn runs with in production, read from the one place they are
    set: its command in deployment/supervisord.conf (read as text: bench imports nothing
    of deployment)."""
    conf = conf or Path(settings.BASE_DIR) / "deployment" / "supervisord.conf"
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read(conf)
    words = shlex.split(parser["program:uvicorn"]["command"])
    flags = []
    for flag, value in itertools.pairwise(words):
        if flag.startswith("--ws") and not value.startswith("--"):
            flags += [flag, value]
    return flags


ASGI_SERVERS = {
    # The production /ws/ server: uvloop, httptools, 1012 on shutdown, and production's
    # frame limit and compression.
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "lodgetix.asgi:application",
        "--host", HOST, "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        *production_ws_flags(), "--lifespan", "on", "--no-access-log",
        "--log-level", "warning",
    ],
    "daphne": lambda port: [
        sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port),
        "lodgetix.asgi:application",
    ],
}  # fmt: skip


def loopback_env() -> dict[str, str]:
    """What every server started here gets beneath its own environment: this process's
    settings module and signing key, and plain HTTP - it listens on 127.0.0.1 and nobody
    reaches it through TLS, so no SSL redirect, secure cookies or HSTS (README,
    `LODGETIX_HTTPS`)."""
    return {
        "DJANGO_SETTINGS_MODULE": "lodgetix.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "LODGETIX_HTTPS": "off",
    }


def serve_command(port: int) -> list[str]:
    """The production shape (`make serve`: nginx, gunicorn, uvicorn, the sweeper) on `port`."""
    return [sys.executable, "-m", "deployment.serve", "--port", str(port)]


def run_deploy_steps(env: Mapping[str, str]) -> None:
    """`make migrate` and `make static`: what the production shape needs done before it
    starts (deployment/serve.py refuses to start without them)."""
    full_env = {**os.environ, **env}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=settings.BASE_DIR,
                   env=full_env, check=True)  # fmt: skip
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=settings.BASE_DIR,
                   env={**full_env, "STATIC_COLLECTED": "1"}, check=True)  # fmt: skip


def database_url(db: Mapping[str, object]) -> str:
    """The DATABASE_URL of a Django database settings dict: how a parent (a test run, a
    bench) points the servers it starts at the database it uses itself."""
    if str(db["ENGINE"]).endswith("sqlite3"):
        return f"sqlite:///{Path(str(db['NAME'])).resolve()}"
    user = quote(str(db.get("USER") or ""))
    password = f":{quote(str(db['PASSWORD']))}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(str(db['NAME']))}"


class ServerDidNotStart(RuntimeError):
    """The server exited, or did not answer in time; the message ends with its output."""


class ServerProcess:
    """A server on 127.0.0.1:`port`, run from this checkout as `command` in a subprocess.

    `start()` returns once `GET ready_path` (default `/`) answers 200 OK (within
    `start_timeout` seconds); `stop()` sends SIGTERM (SIGKILL with `kill=True`, or when it
    has not exited after `stop_timeout` seconds). Its stdout and
    stderr go to a log file, appended to across restarts: `output()` reads it, and a
    server that does not come up raises `ServerDidNotStart` with the end of it. As a
    context manager it starts (unless started), then stops and removes the log.

    `env` is laid over this process's environment and `loopback_env()`. `new_session`
    runs the server in a session of its own, so that a Ctrl-C meant for the caller does not
    reach it first.
    """

    READY_PROBE_TIMEOUT = 2.0

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        new_session: bool = False,
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        ready_path: str = "/",
        host: str = HOST,
    ) -> None:
        self.name = name
        # `/healthz` for a server whose database is meant to be away (fault tests).
        self.ready_path = ready_path
        self.command = list(command)
        self.port = port
        # Another address for a server in a network namespace (bench/netns.py).
        self.host = host
        self.url = f"http://{host}:{port}"
        self.env = {**loopback_env(), **(env or {})}
        self.new_session = new_session
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        prefix = f"lodgetix-{name.replace(' ', '-')}-"
        self.log = Path(tempfile.mkstemp(prefix=prefix, suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float | None = None) -> Self:
        timeout = self.start_timeout if timeout is None else timeout
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=settings.BASE_DIR,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerDidNotStart(
                    f"{self.name} exited with status {self.process.returncode} before it "
                    f"answered at {self.url}:\n{self.output()[-4000:]}"
                )
            if self.answers():
                return self
            time.sleep(0.1)
        self.stop(kill=True)
        raise ServerDidNotStart(
            f"{self.name} did not answer at {self.url} within {timeout:g} s:\n"
            f"{self.output()[-4000:]}"
        )

    def answers(self) -> bool:
        """Whether `GET ready_path` answers 200 OK now."""
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=self.READY_PROBE_TIMEOUT
        )
        try:
            connection.request("GET", self.ready_path)
            response = connection.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def send_signal(self, signum: int) -> None:
        if self.running:
            self.process.send_signal(signum)

    def stop(self, kill: bool = False) -> None:
        if not self.running:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop it and remove its log."""
        self.stop()
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        if not self.running:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def asgi_server(kind: str, env: Mapping[str, str] | None = None) -> ServerProcess:
    """An ASGI server (uvicorn or daphne) serving lodgetix.asgi with DEBUG off, for benches;
    start it (or enter it) to run it."""
    port = free_port()
    return ServerProcess(
        kind,
        ASGI_SERVERS[kind](port),
        port=port,
        env={"DEBUG": "0", **(env or {})},
        stop_timeout=20,
    )


class RedisServer:
    """A redis-server child of our own on a free port, without persistence: stopping it
    loses everything in it, as a crashed cache does. Faults (stop, pause) are injected
    into this one only, never into the shared Redis every other test and engineer uses.
    It listens on 127.0.0.1 and each address of `bind_also` (a network namespace's link)."""

    def __init__(
        self, port: int | None = None, log: Path | None = None, bind_also: Sequence[str] = ()
    ) -> None:
        self.bind = (HOST, *bind_also)
        self.port = port or free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Self:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerDidNotStart("redis-server is not installed (apt-get install redis-server)")
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", *self.bind, "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        finally:
            if self.log:
                output.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"redis-server on {self.port} did not answer PING")
            time.sleep(0.02)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """Hung, not dead: connections are accepted by the kernel and never answered."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def on_production_services() -> bool:
    """Whether this run reads PostgreSQL and Redis, as the production shape does (the
    embedded default's SQLite and in-memory layer cannot cross processes)."""
    return bool(settings.REDIS_URL) and "postgresql" in settings.DATABASES["default"]["ENGINE"]


def raise_file_limit() -> None:
    """Open files up to the hard limit: a bench holds a socket per viewer."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
