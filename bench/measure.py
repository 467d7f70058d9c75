"""Shared pieces of `manage.py bench <scenario>`.

Benchmarks are not tests: they measure, print a table with medians and the ratio to a raw
baseline measured in the same run, and their latest figures go in BENCHMARKS.md. Each
scenario is a module with `HELP`, `add_arguments(parser)` and `run(out, **options)`.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from importlib import import_module

import httpx
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    return {
        "p50": percentile(seconds, 50) * 1000,
        "p95": percentile(seconds, 95) * 1000,
        "p99": percentile(seconds, 99) * 1000,
        "max": max(seconds, default=0.0) * 1000,
    }


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table, so output pastes straight into BENCHMARKS.md."""
    rows_list = [list(row) for row in rows]
    cells = [[_cell(value) for value in row] for row in rows_list]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]  # fmt: skip
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    # Words read left to right, numbers line up on the right.
    lines += [
        "| "
        + " | ".join(
            c.rjust(w) if _is_number(v) else c.ljust(w)
            for c, v, w in zip(cells_row, row, widths, strict=True)
        )
        + " |"
        for cells_row, row in zip(cells, rows_list, strict=True)
    ]
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ASGI_SERVERS = {
    # The production /ws/ server: uvloop, httptools, and 1012 on shutdown.
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "lodgetix.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--lifespan", "on", "--no-access-log",
        "--log-level", "warning",
    ],
    "daphne": lambda port: [
        sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
        "lodgetix.asgi:application",
    ],
}  # fmt: skip


def spawn_server(
    kind: str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[subprocess.Popen, str]:
    """Start an ASGI server on this checkout and configuration; return it and its URL once
    it answers. Its output goes to a temporary log, shown if it fails to come up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile(
        prefix=f"lodgetix-{kind}-", suffix=".log", delete=False
    ) as log:
        process = subprocess.Popen(
            ASGI_SERVERS[kind](port),
            cwd=settings.BASE_DIR,
            env={**os.environ, "DEBUG": "0", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/", timeout=2).status_code < 500:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    with open(log.name) as output:
        raise RuntimeError(f"{kind} did not come up:\n{output.read()[-4000:]}")


def session_store(session_key: str | None = None) -> SessionBase:
    """A session of the configured engine (Redis in the production shape), for benchmarks
    and tests that hand a server ready-made sessions."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)
