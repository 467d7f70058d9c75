"""ASGI servers started in a subprocess on the test database, for browser and shutdown tests.

The subprocess gets the same channel layer configuration as the test process (in-memory
on the embedded default, Redis in CI's services run).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench.processes import ASGI_SERVERS, ServerProcess, database_url, free_port, loopback_env


def database_url_of_this_run() -> str:
    """A DATABASE_URL for the database this test run created."""
    return database_url(connection.settings_dict)


class AsgiServer(ServerProcess):
    """An ASGI server (daphne, as `make run` serves; or uvicorn, the production /ws/ server)
    serving lodgetix.asgi in a subprocess; can be stopped and started again."""

    def __init__(
        self,
        kind: str = "daphne",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        ready_path: str = "/",
    ) -> None:
        port = port or free_port()
        super().__init__(kind, ASGI_SERVERS[kind](port), port=port, ready_path=ready_path)
        self.kind = kind
        self.extra_env = extra_env or {}

    def start(self, timeout: float = 30) -> AsgiServer:
        # Read at each start: the test's settings and database are those of that moment.
        self.env = {
            # DEBUG off as in production, over plain HTTP on 127.0.0.1 (loopback_env).
            **loopback_env(),
            "DATABASE_URL": database_url_of_this_run(),
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "0",
            "HOLD_SWEEP_INTERVAL": "1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **self.extra_env,
        }
        return super().start(timeout)


def embedded_command_env(sqlite_file: Path) -> dict[str, str]:
    """The environment of a `manage.py` command run on the embedded default (a SQLite file
    of its own, no Redis), whatever this run's own services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "REDIS_PREFIX"}
    }
    return env | loopback_env() | {"DATABASE_URL": f"sqlite:///{sqlite_file}"}
