"""`manage.py runserver` (lodgetix/management/commands/runserver.py): daphne's, with a
listen backlog a rush of buyers fits in while the one process is busy."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands

from bench.processes import ASGI_SERVERS, HOST, ServerProcess, free_port
from lodgetix.management.commands.runserver import LISTEN_BACKLOG, with_backlog
from tests.support.servers import embedded_command_env

# More than Twisted's default backlog of 50, as the embedded rush has 60 buyers at once.
AT_ONCE = 120


def test_runserver_is_the_projects():
    assert get_commands()["runserver"] == "lodgetix"


TCP = "tcp:port=8000:interface=127.0.0.1"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (TCP, f"{TCP}:backlog={LISTEN_BACKLOG}"),
        (f"{TCP}:backlog=10", f"{TCP}:backlog=10"),
        ("unix:/tmp/lodgetix.sock", "unix:/tmp/lodgetix.sock"),
        ("fd:fileno=3", "fd:fileno=3"),
    ],
)
def test_tcp_endpoints_get_the_backlog_and_only_they(endpoint, expected):
    assert with_backlog(endpoint) == expected


@contextlib.contextmanager
def paused(server: ServerProcess) -> Iterator[None]:
    """The server's process stopped (as a busy one accepts nothing), then let go."""
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def connections_the_kernel_took(port: int, count: int, within: float) -> int:
    """How many of `count` connections opened at once finish their handshake within
    `within` seconds (stops early once all have). A full listen queue drops the rest,
    whose clients try again only after TCP's one-second SYN timeout."""
    pending = set()
    for _ in range(count):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        client.connect_ex((HOST, port))
        pending.add(client)
    opened = []
    deadline = time.monotonic() + within
    try:
        while pending and (left := deadline - time.monotonic()) > 0:
            _, writable, _ = select.select([], list(pending), [], left)
            for client in writable:
                pending.discard(client)
                if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    opened.append(client)
                else:
                    client.close()
        return len(opened)
    finally:
        for client in [*pending, *opened]:
            client.close()


def embedded_server(command: list[str], port: int, tmp_path: Path) -> ServerProcess:
    return ServerProcess(
        "embedded runserver",
        command,
        port=port,
        env=embedded_command_env(tmp_path / "embedded.sqlite3") | {"DEBUG": "1"},
        ready_path="/healthz",  # no tables needed to answer
    )


def test_a_rush_beyond_fifty_connections_waits_in_the_queue_not_a_second(tmp_path):
    port = free_port()
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    command = [sys.executable, manage, "runserver", "--noreload", f"{HOST}:{port}"]
    with embedded_server(command, port, tmp_path) as server, paused(server):
        # Every one is taken at once; the deadline is there only so a failure ends.
        assert connections_the_kernel_took(port, AT_ONCE, within=5.0) == AT_ONCE


def test_control_daphnes_own_backlog_drops_the_connections_beyond_fifty(tmp_path):
    # The same rush against daphne as it ships: the harness sees the full queue.
    port = free_port()
    with embedded_server(ASGI_SERVERS["daphne"](port), port, tmp_path) as server, paused(server):
        took = connections_the_kernel_took(port, AT_ONCE, within=0.5)
    assert 40 <= took <= 60, took  # Twisted's 50 (the kernel takes one more than asked)
