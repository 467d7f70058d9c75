"""A redis-server of a test's own, on a free port, to stop, start, pause and resume.

Faults are injected into this one only: the shared Redis (REDIS_URL, 6379) serves every
other test and engineer and is never stopped. Nothing is persisted, so a server started
again on the same port comes back empty, as a Redis restarted without persistence does.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest

from bench.processes import HOST, free_port
from tests.conftest import REQUIRE_SERVICES


def require_redis_server() -> str:
    """The redis-server binary; skip without one, or fail where services are required."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    reason = "missing service: redis-server (apt-get install redis-server)"
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (LODGETIX_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.binary = require_redis_server()
        self.port = port or free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
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
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def pause(self) -> None:
        """Hung, not dead: connections are accepted by the kernel and never answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def unreachable_redis_url() -> str:
    """A Redis URL with nothing listening: a stopped Redis."""
    return f"redis://{HOST}:{free_port()}/0"
