"""`make serve`: the production shape on one host, as one foreground command.

    nginx :PORT ─┬─ /ws/      ─▶ uvicorn   (ASGI: lodgetix.asgi, WebSockets only)
                 ├─ /static/  ─▶ files collected into var/static (hashed, pre-compressed)
                 └─ the rest  ─▶ gunicorn  (WSGI: lodgetix.wsgi, gthread workers)
    release_expired_holds --loop   (the sweeper, broadcasting through Redis)

Why this shape (README, "Production shape"): a database-bound Django view serves ~3x more
requests per second under WSGI threads than under ASGI, where every sync view of a process
runs on one thread; sockets, which mostly wait, belong on an event loop; nginx routes by
path in C, buffers slow clients and serves static files without touching Python.

Every process is a child of this one. Ctrl-C or SIGTERM stops them together: uvicorn,
gunicorn and the sweeper first - uvicorn closes every WebSocket with 1012, "service
restart", on which htmx reconnects, and gunicorn finishes the requests it has - and nginx
once they are gone, so the close frames still reach the browsers through it. If any
child dies, the rest are stopped and this exits non-zero, so a supervisor (systemd, a
container runtime) restarts the whole shape rather than running half of it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
# As in settings.py: local state (sockets, nginx.conf, collected static files).
VAR_DIR = Path(os.environ.get("LODGETIX_VAR_DIR", BASE_DIR / "var"))
PYTHON = sys.executable
NGINX_INSTALL_HINT = "apt-get install nginx-light   (Debian; the full `nginx` package works too)"
# Sockets wait on the event loop, so one ASGI process holds thousands of them; nginx needs
# two descriptors per proxied socket. Capped by the machine's hard limit.
WANTED_OPEN_FILES = 65536
GRACE_SECONDS = 10.0


class ServeError(Exception):
    """The shape cannot start; the message says what to do."""


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # gthread: a thread blocked on PostgreSQL releases the GIL, so a few threads keep a
    # core busy while some wait. One process per core and four threads each: measured
    # back to back in `bench rush`, 2 x 4 gave the most holds/s and the lowest p99 (more
    # threads only fight over the GIL: 2 x 8 and 2 x 16 were slower; BENCHMARKS.md).
    http_workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    http_threads: int = 4
    # Sockets, nginx.conf and its temp files. One directory per port, so two shapes of one
    # checkout (a bench beside a dev server) never unlink each other's sockets.
    run_dir: Path | None = None
    # What uvicorn serves on /ws/ (tests swap in a probe; production never changes it).
    asgi_app: str = "lodgetix.asgi:application"
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.run_dir is None:
            chosen = os.environ.get("LODGETIX_SERVE_RUN_DIR") or VAR_DIR / f"serve-{self.port}"
            object.__setattr__(self, "run_dir", Path(chosen))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def http_socket(self) -> Path:
        return self.run_dir / "http.sock"

    @property
    def ws_socket(self) -> Path:
        return self.run_dir / "ws.sock"


def check_environment(environ: dict[str, str]) -> None:
    """Refuse to start without what the shape needs, saying what is missing."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not environ.get(name)]
    if missing:
        raise ServeError(
            f"make serve runs the production shape and needs {' and '.join(missing)}, e.g.\n"
            "  DATABASE_URL=postgres://user@127.0.0.1:5432/lodgetix "
            "REDIS_URL=redis://127.0.0.1:6379/0 make serve\n"
            "For the embedded default (SQLite, no Redis) use `make run`."
        )
    if not environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise ServeError("make serve needs PostgreSQL: DATABASE_URL must be postgres://...")
    if nginx_binary() is None:
        raise ServeError(
            f"make serve routes HTTP and /ws/ through nginx; install it:\n  {NGINX_INSTALL_HINT}"
        )


def database_url(db: Mapping[str, object]) -> str:
    """The DATABASE_URL of a Django database settings dict: how a parent (a test run, a
    bench) points the processes it starts at the database it uses itself."""
    if str(db["ENGINE"]).endswith("sqlite3"):
        return f"sqlite:///{Path(str(db['NAME'])).resolve()}"
    user = quote(str(db.get("USER") or ""))
    password = f":{quote(str(db['PASSWORD']))}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(str(db['NAME']))}"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def nginx_config(config: ServeConfig) -> str:
    """nginx.conf for this host: one port, routed by path."""
    run = config.run_dir
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    static_root = VAR_DIR / "static"
    open_files = open_files_limit()
    return f"""# Written by lodgetix/serve.py on every start; edit that, not this.
{user}
worker_processes 1;
worker_rlimit_nofile {open_files};
pid {run}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {open_files // 2}; }}
http {{
    access_log off;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    client_max_body_size 1m;

    upstream http_workers {{
        server unix:{config.http_socket};
        keepalive 64;
    }}
    upstream asgi {{
        server unix:{config.ws_socket};
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    server {{
        listen {config.host}:{config.port} backlog=4096;
        server_name _;

        location /ws/ {{
            proxy_pass http://asgi;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            # uvicorn (--proxy-headers) makes this the socket's scope["client"], which the
            # live path's per-address socket limit counts.
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Live sockets are quiet between pushes; uvicorn pings every 20 s.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_buffering off;
        }}
        location /static/ {{
            alias {static_root}/;
            # collectstatic wrote hashed names and .gz twins: cache forever, send gzip.
            gzip_static on;
            expires max;
            add_header Cache-Control "public, immutable";
            access_log off;
        }}
        location / {{
            proxy_pass http://http_workers;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            list(self.argv),
            cwd=BASE_DIR,
            env=env,
            # Own process group: the terminal's Ctrl-C reaches only this supervisor, which
            # stops the children in the order that lets WebSockets close cleanly.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int | None = None) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum or self.stop_signal)

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# uvicorn on uvloop with the sans-I/O websockets protocol; on shutdown it closes every
# socket with 1012. It trusts X-Forwarded-* from nginx, the only thing on its socket.
UVICORN_OPTIONS = (
    "--loop uvloop --ws websockets-sansio --lifespan on --no-access-log "
    f"--proxy-headers --forwarded-allow-ips * --timeout-graceful-shutdown {int(GRACE_SECONDS)}"
).split()
# Its control socket defaults to one path per user, so two shapes on a host would collide.
GUNICORN_OPTIONS = (
    "--worker-class gthread --keep-alive 75 --backlog 4096 --no-control-socket "
    f"--graceful-timeout {int(GRACE_SECONDS)}"
).split()


def children(config: ServeConfig) -> list[Child]:
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    asgi = [PYTHON, "-m", "uvicorn", config.asgi_app, "--uds", str(config.ws_socket)]
    http = [PYTHON, "-m", "gunicorn", "lodgetix.wsgi:application"]
    http += ["--bind", f"unix:{config.http_socket}", *GUNICORN_OPTIONS]
    http += ["--workers", str(config.http_workers), "--threads", str(config.http_threads)]
    nginx = [nginx_binary() or "nginx", "-c", str(config.run_dir / "nginx.conf")]
    nginx += ["-p", str(config.run_dir), "-g", "daemon off;"]
    return [
        Child("asgi", [*asgi, *UVICORN_OPTIONS]),
        Child("http", http),
        Child("sweeper", [*manage, "release_expired_holds", "--loop"]),
        # SIGQUIT: nginx finishes open requests, then exits.
        Child("nginx", nginx, stop_signal=signal.SIGQUIT),
    ]


def prepare(config: ServeConfig, env: dict[str, str]) -> None:
    """Migrate, collect static files, write nginx.conf."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (config.http_socket, config.ws_socket):
        stale.unlink(missing_ok=True)
    (config.run_dir / "nginx.conf").write_text(nginx_config(config))
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]):
        subprocess.run([*manage, *command], cwd=BASE_DIR, env=env, check=True)
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )


def serve(config: ServeConfig, *, ready_timeout: float = 60.0) -> int:
    """Run the shape in the foreground until a signal or a child dies; the exit status."""
    env = {**os.environ, **config.env, "STATIC_COLLECTED": "1", "LODGETIX_BEHIND_PROXY": "1"}
    check_environment(env)
    prepare(config, env)
    procs = children(config)
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for child in procs:
        child.start(env)
    status = 0
    try:
        if _wait_until_ready(config, procs, ready_timeout, lambda: stopping):
            print(
                f"LodgeTix Live (production shape) at {config.url}/  - Ctrl-C stops it", flush=True
            )
        while not stopping:
            dead = next((c for c in procs if not c.running), None)
            if dead is not None:
                print(
                    f"serve: {dead.name} exited ({dead.process.returncode}); stopping",
                    file=sys.stderr,
                )
                status = 1
                break
            time.sleep(0.2)
    finally:
        stop_all(procs)
        # Sockets, nginx.conf and temp files are rewritten on every start; a bench's shape on
        # a random port would otherwise leave one directory behind per run.
        shutil.rmtree(config.run_dir, ignore_errors=True)
    return status


def stop_all(procs: Sequence[Child]) -> None:
    """ASGI and HTTP workers first (sockets get 1012), nginx once they are gone."""
    by_name = {c.name: c for c in procs}
    deadline = time.monotonic() + GRACE_SECONDS + 2
    first = [c for c in procs if c.name != "nginx"]
    for child in first:
        child.signal()
    for child in first:
        child.wait(deadline)
    if "nginx" in by_name:
        by_name["nginx"].signal()
        by_name["nginx"].wait(time.monotonic() + GRACE_SECONDS)


def _wait_until_ready(config, procs, timeout: float, stopping) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if any(not c.running for c in procs):
            return False
        if config.http_socket.exists() and config.ws_socket.exists():
            with (
                contextlib.suppress(OSError),
                socket.create_connection((config.host, config.port), 0.5),
            ):
                return True
        time.sleep(0.1)
    return False


def open_files_limit() -> int:
    """What this process and its children may open: as many as wanted, up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(WANTED_OPEN_FILES, hard)
    return max(soft, ceiling)


def _die_with_parent() -> None:
    """Linux: children get SIGTERM if this supervisor is killed outright (SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_config(argv: Sequence[str] | None = None) -> ServeConfig:
    """The shape the command line asks for; bad arguments exit 2 with argparse's message."""
    parser = argparse.ArgumentParser(description="Run the production shape (README).")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    # Defaults from ServeConfig, so the command and the dataclass cannot drift apart (they
    # once did: the command ran 2 x 8 threads while the measurements chose 2 x 4).
    parser.add_argument("--http-workers", type=_positive_int, default=ServeConfig().http_workers)
    parser.add_argument("--http-threads", type=_positive_int, default=ServeConfig.http_threads)
    parser.add_argument("--asgi-app", default=ServeConfig.asgi_app, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return ServeConfig(
        host=args.host,
        port=args.port,
        http_workers=args.http_workers,
        http_threads=args.http_threads,
        asgi_app=args.asgi_app,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    try:
        return serve(config)
    except ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(
            f"serve: {' '.join(map(str, error.cmd[1:3]))} failed ({error.returncode})",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
