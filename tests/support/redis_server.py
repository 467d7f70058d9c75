"""A redis-server of a test's own (bench.processes.RedisServer), on a free port, to stop,
start, pause and resume.

Faults are injected into this one only: the shared Redis (REDIS_URL, 6379) serves every
other test and engineer and is never stopped. Nothing is persisted, so a server started
again on the same port comes back empty, as a Redis restarted without persistence does.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from unittest import mock

import pytest
from redis.connection import AbstractConnection

from bench import processes
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


class RedisServer(processes.RedisServer):
    """bench's own redis-server, skipped (or failed, in CI) where the binary is missing."""

    def __init__(self, port: int | None = None) -> None:
        require_redis_server()
        super().__init__(port)


def unreachable_redis_url() -> str:
    """A Redis URL with nothing listening: a stopped Redis."""
    return f"redis://{HOST}:{free_port()}/0"


@contextlib.contextmanager
def redis_round_trips() -> Iterator[list[bytes]]:
    """What each round trip of this process's synchronous Redis clients sent meanwhile,
    one entry per send (a pipeline is one), counted on the connection itself."""
    sent: list[bytes] = []
    real_send = AbstractConnection.send_packed_command

    def counted_send(connection, command, check_health=True):
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        return real_send(connection, command, check_health)

    with mock.patch.object(AbstractConnection, "send_packed_command", counted_send):
        yield sent
