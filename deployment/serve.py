"""`make serve`: check, prepare, then become supervisord running deployment/supervisord.conf.

The shape itself (nginx in front of gunicorn and uvicorn, the sweeper beside them), its
start and stop order and the restarting of a child that dies are in supervisord.conf and
nginx.conf.template; this only does what has to happen before supervisord starts:
refuse to start without PostgreSQL, Redis or nginx, or with migrations unapplied or static
files not collected; render nginx.conf and the "try again" pages into the run directory;
set the LODGETIX_SERVE_* variables the config expands.

Migrating and collecting static files are steps of a deploy (`make migrate`, `make
static`), not of every start: they were 13.6 s of a 13.6 s restart, and on several hosts
sharing one database the schema should change once, on purpose, before the new code
starts - not by each host racing at boot. A start only checks them (about a second).
"""

from __future__ import annotations

import argparse
import os
import pwd
import resource
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOYMENT_DIR = BASE_DIR / "deployment"
# As in settings.py: local state (run directories, collected static files).
VAR_DIR = Path(os.environ.get("LODGETIX_VAR_DIR", BASE_DIR / "var"))
NGINX_INSTALL_HINT = "apt-get install nginx-light   (Debian; the full `nginx` package works too)"
# Sockets wait on the event loop, so one ASGI process holds thousands of them; nginx needs
# two descriptors per proxied socket. Capped by the machine's hard limit.
WANTED_OPEN_FILES = 65536
# Both the collected files and the processes must use the hashed, compressed storage; only
# nginx talks to the workers, so they may trust its X-Real-IP.
SHAPE_ENV = {"STATIC_COLLECTED": "1", "LODGETIX_BEHIND_PROXY": "1"}


class ServeError(Exception):
    """The shape cannot start; the message says what to do."""


@dataclass(frozen=True)
class ServeConfig:
    """The one place the shape's defaults live: the command line takes its own from here."""

    host: str = "127.0.0.1"
    port: int = 8000
    # gthread: a thread blocked on PostgreSQL releases the GIL, so a few threads keep a
    # core busy while some wait. One process per core and four threads each: measured
    # back to back in `bench rush`, 2 x 4 gave the most holds/s and the lowest p99 (more
    # threads only fight over the GIL: 2 x 8 and 2 x 16 were slower; BENCHMARKS.md).
    http_workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    http_threads: int = 4
    # What uvicorn serves on /ws/ (tests swap in a probe; production never changes it).
    asgi_app: str = "lodgetix.asgi:application"
    # Sockets, configs, pid files, logs. One directory per port, so two shapes of one
    # checkout (a bench beside a dev server) never unlink each other's sockets.
    run_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.run_dir is None:
            chosen = os.environ.get("LODGETIX_SERVE_RUN_DIR") or VAR_DIR / f"serve-{self.port}"
            object.__setattr__(self, "run_dir", Path(chosen).resolve())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def check_environment(environ: Mapping[str, str]) -> None:
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


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


class _NginxTemplate(Template):
    # Case-sensitive, upper case only: nginx's own $variables are lower case and stay as
    # they are (safe_substitute leaves them), so the template needs no $$ escaping.
    flags = 0
    idpattern = r"[A-Z][A-Z0-9_]*"


def nginx_config(config: ServeConfig, open_files: int | None = None) -> str:
    """deployment/nginx.conf.template filled in for this host and port."""
    template = _NginxTemplate((DEPLOYMENT_DIR / "nginx.conf.template").read_text())
    open_files = open_files or open_files_limit()
    values = {
        # As root, nginx's workers would run as nobody, who may not read var/static.
        "USER_DIRECTIVE": f"user {current_user()};" if os.geteuid() == 0 else "",
        "OPEN_FILES": str(open_files),
        "WORKER_CONNECTIONS": str(open_files // 2),
        "RUN_DIR": str(config.run_dir),
        "HOST": config.host,
        "PORT": str(config.port),
        "STATIC_ROOT": str(VAR_DIR.resolve() / "static"),
    }
    # A placeholder without a value would otherwise reach nginx as a literal ${NAME}.
    unknown = set(template.get_identifiers()) - values.keys()
    if unknown:
        raise ServeError(f"nginx.conf.template names unknown values: {sorted(unknown)}")
    return template.safe_substitute(values)


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def open_files_limit() -> int:
    """As many open files as wanted, up to the hard limit (supervisord raises the soft one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(WANTED_OPEN_FILES, hard)
    return max(soft, ceiling)


def supervisor_env(config: ServeConfig, open_files: int) -> dict[str, str]:
    """What deployment/supervisord.conf expands as %(ENV_LODGETIX_SERVE_...)s."""
    return {
        "LODGETIX_SERVE_RUN_DIR": str(config.run_dir),
        "LODGETIX_SERVE_USER": current_user(),
        "LODGETIX_SERVE_PYTHON": sys.executable,
        "LODGETIX_SERVE_NGINX": nginx_binary() or "nginx",
        "LODGETIX_SERVE_ASGI_APP": config.asgi_app,
        "LODGETIX_SERVE_HTTP_WORKERS": str(config.http_workers),
        "LODGETIX_SERVE_HTTP_THREADS": str(config.http_threads),
        # A gunicorn thread never waits for a pooled connection (one each), so a wait
        # there means PostgreSQL is away: say so (503) after 5 s rather than 30.
        "LODGETIX_SERVE_HTTP_POOL_TIMEOUT": os.environ.get("DB_POOL_TIMEOUT") or "5",
        "LODGETIX_SERVE_OPEN_FILES": str(open_files),
    }


def check_migrated(env: Mapping[str, str]) -> None:
    """Refuse to start on a database whose migrations are not all applied."""
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--check", "--noinput"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unapplied migrations"])[-1]
        raise ServeError(
            "the database has unapplied migrations; apply them first (once per deploy):\n"
            f"  make migrate      ({detail})"
        )


def check_static_collected(static_root: Path) -> None:
    """Refuse to start without collected static files, or with ones older than the
    sources (the pages would name hashed files nginx cannot find)."""
    manifest = static_root / "staticfiles.json"
    if not manifest.exists():
        raise ServeError(f"static files are not collected into {static_root}; run:\n  make static")
    collected_at = manifest.stat().st_mtime
    # The apps' static folders (the collected copy lives under var/, not an app).
    newer = [
        path
        for path in BASE_DIR.glob("*/static/**/*")
        if path.is_file()
        and path.relative_to(BASE_DIR).parts[0] != VAR_DIR.name
        and path.stat().st_mtime > collected_at
    ]
    if newer:
        raise ServeError(
            f"static files changed since they were collected ({newer[0].relative_to(BASE_DIR)});"
            " run:\n  make static"
        )


def error_pages() -> dict[str, str]:
    """nginx's own "try again" pages (a worker down, a timeout), rendered from the same
    templates as Django's 500 and 503 (templates/friendly_error.html)."""
    from django.template import Context, Engine

    engine = Engine(dirs=[str(BASE_DIR / "templates")], debug=False)
    return {"502.html": engine.get_template("502.html").render(Context({}))}


def prepare(config: ServeConfig, env: Mapping[str, str], open_files: int) -> None:
    """Check the deploy steps were run; write nginx.conf and the error pages."""
    check_migrated(env)
    check_static_collected(VAR_DIR.resolve() / "static")
    config.run_dir.mkdir(parents=True, exist_ok=True)
    errors_dir = config.run_dir / "errors"
    errors_dir.mkdir(exist_ok=True)
    for name, html in error_pages().items():
        (errors_dir / name).write_text(html)
    (config.run_dir / "nginx.conf").write_text(nginx_config(config, open_files))


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
    """Prepare the shape and exec supervisord; returns only if it cannot start."""
    config = parse_config(argv)
    env = {**os.environ, **SHAPE_ENV}
    open_files = open_files_limit()
    try:
        check_environment(env)
        prepare(config, env, open_files)
    except ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"serve: {' '.join(map(str, error.cmd[1:3]))} failed ({error.returncode})",
              file=sys.stderr)  # fmt: skip
        return 1
    env.update(supervisor_env(config, open_files))
    print(f"LodgeTix Live (production shape) at {config.url}/  - Ctrl-C stops it", flush=True)
    # exec, not a child: supervisord gets the terminal's Ctrl-C and a supervisor's SIGTERM
    # itself, and nothing of ours stays behind to outlive it.
    supervisord = [sys.executable, "-m", "supervisor.supervisord"]
    os.execve(
        sys.executable, [*supervisord, "-n", "-c", str(DEPLOYMENT_DIR / "supervisord.conf")], env
    )
    return 1  # not reached: execve replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
