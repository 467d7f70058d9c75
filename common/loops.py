"""The skeleton of a management command that runs once, or with --loop until SIGTERM or
SIGINT (supervisord stops programs with SIGTERM, a terminal with Ctrl-C)."""

from __future__ import annotations

import signal
import threading
import time
from argparse import ArgumentParser

from django.core.management.base import CommandError

# How often a waiting loop looks whether it was told to stop: a signal handler runs only
# between bytecodes of the main thread, so the loop wakes now and then to let it.
STOP_POLL_SECONDS = 0.2


def add_loop_arguments(
    parser: ArgumentParser, *, default_interval: float, loop_help: str, interval_help: str
) -> None:
    parser.add_argument("--loop", action="store_true", help=loop_help)
    parser.add_argument(
        "--interval",
        type=float,
        default=default_interval,
        help=f"{interval_help} (default: %(default)s).",
    )


def check_interval(interval: float) -> None:
    if interval <= 0:
        raise CommandError("--interval must be a positive number of seconds.")


def stop_on_signals() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT (the handlers replace the defaults)."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    return stopped


def sleep_unless_stopped(stopped: threading.Event, seconds: float | None = None) -> bool:
    """Wait `seconds` (None: until stopped), or less when stopped; whether it was stopped."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stopped.is_set():
        if deadline is None:
            stopped.wait(STOP_POLL_SECONDS)
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            break
        stopped.wait(min(STOP_POLL_SECONDS, left))
    return stopped.is_set()
