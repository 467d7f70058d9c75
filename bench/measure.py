"""What every `manage.py bench <scenario>` measures with and prints.

Benchmarks are not tests: they measure, print a table with medians and the ratio to a raw
baseline measured in the same run, and their latest figures go in BENCHMARKS.md. Each
scenario is a module of bench/scenarios/ with `HELP`, `add_arguments(parser)` and
`run(out, **options)`; servers they start come from bench/processes.py.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.db import connection


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


# --- CPU ------------------------------------------------------------------------------------
# Two meters, for two questions: how busy was the whole machine (was the figure taken on a
# quiet machine?), and where did the CPU go (which component costs what per unit of work?).


class MachineCpuMeter:
    """Share of the whole machine's CPU time spent busy since creation, all processes
    together (from /proc/stat; 0.0 where it cannot be read)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[int, int]:
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return 0, 0
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    def busy_share(self) -> float:
        busy, total = self._sample()
        spent = total - self.start[1]
        return (busy - self.start[0]) / spent if spent else 0.0


CPU_COMPONENTS = ("web server", "PostgreSQL", "senders")


class ComponentCpuMeter:
    """CPU seconds used between start() and stop() by each component: the web server's
    workers (the children of `server_pid`), this database's PostgreSQL backends and this
    process (the senders), read from /proc.

    PostgreSQL backends are found in pg_stat_activity; /proc is Linux's, and a process
    that cannot be read (another host, other permissions) makes its component None.
    """

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self._before = self._snapshot()

    def stop(self) -> dict[str, float | None]:
        after = self._snapshot()
        used: dict[str, float | None] = {}
        for name in CPU_COMPONENTS:
            start, end = self._before[name], after[name]
            if start is None or end is None:
                used[name] = None
            else:
                used[name] = sum(end[pid] - start.get(pid, 0.0) for pid in end)
        return used

    def _snapshot(self) -> dict[str, dict[int, float] | None]:
        server = child_pids(self.server_pid) if self.server_pid else []
        return {
            "web server": process_cpu_seconds(server) if server else {},
            "PostgreSQL": process_cpu_seconds(database_backend_pids()),
            "senders": {os.getpid(): time.process_time()},
        }


def process_cpu_seconds(pids: Sequence[int]) -> dict[int, float] | None:
    """User + system CPU seconds of each process; None if any of them cannot be read."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return cpu


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                children.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return children


def database_backend_pids() -> list[int]:
    """The other client backends connected to this database (not this connection's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]
