"""common.loops: the wait between passes of a --loop command ends when it is stopped."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management.base import CommandError

from common import loops


def test_a_wait_lasts_its_seconds_when_nobody_stops_it() -> None:
    started = time.monotonic()
    assert loops.sleep_unless_stopped(threading.Event(), 0.3) is False
    assert time.monotonic() - started >= 0.3


def test_a_wait_ends_soon_after_it_is_stopped() -> None:
    stopped = threading.Event()
    threading.Timer(0.1, stopped.set).start()
    started = time.monotonic()
    assert loops.sleep_unless_stopped(stopped, 30) is True
    assert time.monotonic() - started < 5


def test_a_wait_without_seconds_ends_only_when_stopped() -> None:
    stopped = threading.Event()
    started = time.monotonic()  # before the timer starts, or it could count short
    threading.Timer(0.3, stopped.set).start()
    assert loops.sleep_unless_stopped(stopped) is True
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("interval", [0, -1])
def test_an_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(CommandError, match="--interval"):
        loops.check_interval(interval)
