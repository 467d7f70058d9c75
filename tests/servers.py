"""ASGI servers started in a subprocess on the test database, for browser and shutdown tests.

The subprocess gets the same channel layer configuration as the test process (in-memory
on the embedded default, Redis in CI's services run).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

from deployment.serve import database_url
from lodgetix.benchmarking import ASGI_SERVERS, free_port

BASE_DIR = Path(settings.BASE_DIR)


def database_url_of_this_run() -> str:
    """A DATABASE_URL for the database this test run created."""
    return database_url(connection.settings_dict)


class AsgiServer:
    """An ASGI server (daphne, as `make run` serves; or uvicorn, the production /ws/ server)
    serving lodgetix.asgi in a subprocess; can be stopped and started again."""

    def __init__(
        self,
        kind: str = "daphne",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"lodgetix-{kind}-", suffix=".log")[1])

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lodgetix.settings",
            "DATABASE_URL": database_url_of_this_run(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "0",
            "DB_CONN_MAX_AGE": "0",
            "HOLD_SWEEP_INTERVAL": "1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **self.extra_env,
        }

    def start(self, timeout: float = 30) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ASGI_SERVERS[self.kind](self.port),
                cwd=BASE_DIR,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not come up:\n{self.log.read_text()[-4000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill() if kill else self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text()
