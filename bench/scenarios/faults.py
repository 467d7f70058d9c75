"""`manage.py bench faults [--fault NAME|all] [--seconds N] [--viewers N]`: the hardening
issue's fault suite on the production shape, with a table of what buyers and viewers saw.

The shape runs on a PostgreSQL cluster and a redis-server of the bench's own (bench/
faults.py), so breaking them touches nothing else on the host; the environment's
DATABASE_URL and REDIS_URL are not used by the shape. Needs PostgreSQL 15's binaries,
redis-server and nginx. Exits non-zero when a target of the issue is missed.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from django.core.management.base import CommandError

from bench.faults import FAULTS, FaultResult, Plan, Rig, format_results, run_fault

OWN_DATABASE = True  # the rig's own PostgreSQL (bench.faults.Rig), migrated there
HELP = (
    "Break the production shape's dependencies and children for real (Redis stopped or "
    "paused, uvicorn, a gunicorn worker or the sweeper killed, PostgreSQL restarted) under "
    "a buyer stream and live viewers; 5xx, drift and viewer healing per fault."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fault", choices=[*FAULTS, "all"], default="all", help="Which fault (default all)."
    )
    parser.add_argument(
        "--seconds", type=float, default=12.0, help="How long each fault lasts (default 12)."
    )
    parser.add_argument("--viewers", type=int, default=50, help="Live viewers (default 50).")
    parser.add_argument("--buyers", type=int, default=4, help="Buyers at a time (default 4).")


def run(out: TextIO, *, fault: str, seconds: float, viewers: int, buyers: int, **options) -> None:
    if seconds <= 0 or viewers < 1 or buyers < 1:
        raise CommandError("--seconds must be above 0, --viewers and --buyers at least 1.")
    plan = Plan(
        viewers=viewers,
        buyers=buyers,
        baseline=3.0,
        duration=seconds,
        heal_window=max(15.0, seconds),
    )
    names = list(FAULTS) if fault == "all" else [fault]
    results: list[FaultResult] = []
    misses: dict[str, list[str]] = {}
    with Rig() as rig:
        for name in names:
            out.write(f"{name}: {FAULTS[name].description} ({seconds:g} s)...\n")
            out.flush()
            result = run_fault(rig, name, plan)
            results.append(result)
            misses[name] = result.target_misses(holds_during_fault=name == "redis-stopped")
    out.write("\n" + format_results(results) + "\n\n")
    out.write(
        f"{viewers} viewers, {buyers} buyers; heal = seconds from recovery until a viewer's "
        f"badge equals the database. CPU cores: {os.cpu_count()}; load average "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    for name, missed in misses.items():
        out.write(f"{name}: {'targets met' if not missed else '; '.join(missed)}\n")
    if any(misses.values()):
        raise CommandError(
            f"{sum(1 for m in misses.values() if m)} of {len(misses)} faults missed a target"
        )
