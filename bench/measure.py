"""What every `manage.py bench <scenario>` measures with and prints.

Benchmarks are not tests: they measure, print a table with medians and the ratio to a raw
baseline measured in the same run, and their latest figures go in BENCHMARKS.md. Each
scenario is a module of bench/scenarios/ with `HELP`, `add_arguments(parser)` and
`run(out, **options)`; servers they start come from bench/processes.py.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


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
