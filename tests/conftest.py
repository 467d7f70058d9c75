"""Shared test setup.

Service-backed tests carry a marker (postgres, redis, browser). On a bare machine they
skip with the reason; with LODGETIX_REQUIRE_SERVICES=1 (CI's services run) a missing
service fails them instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import types

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, connections

# A real SMTP server per test that asks for it (tests/support/smtp.py).
from tests.support.smtp import smtp_server  # noqa: F401

REQUIRE_SERVICES = os.environ.get("LODGETIX_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("LODGETIX_CHROMIUM", "/usr/bin/chromium")


def _missing_services(item: pytest.Item) -> list[str]:
    missing = []
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing.append("PostgreSQL (set DATABASE_URL=postgres://...)")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        missing.append("Redis (set REDIS_URL=redis://...)")
    if item.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return missing


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = _missing_services(item)
    if not missing:
        return
    reason = "missing service: " + ", ".join(missing)
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (LODGETIX_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def rate_limit_clock_stands_still(monkeypatch):
    """Rate-limit windows are fixed and restart on the minute, so a test's few requests
    that straddle an edge start a fresh count and get no 429 (CI saw it once). For a
    test the rate limits' clock stands still; only their module sees it, and a test that
    moves it (test_ratelimit's new window) patches it further."""
    from common import ratelimit

    now = time.time()
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: now))


@pytest.fixture
def fresh_rate_limits(monkeypatch):
    """The rate limits' Redis breaker and failure log as a fresh process has them: one
    tripped by another test's outage may still be open, or have said its line already."""
    from common import ratelimit

    monkeypatch.setattr(ratelimit, "_redis_breaker", ratelimit.Breaker())
    failures = ratelimit.FailureLog(ratelimit.logger, ratelimit._redis_failures.message)
    monkeypatch.setattr(ratelimit, "_redis_failures", failures)


@pytest.fixture
async def live_loop():
    """For tests that open live sockets in this process: publish from the test's own
    event loop (the in-memory layer is only safe from the loop its consumers run on)."""
    from tickets.live.publisher import publisher
    from tickets.live.registry import socket_caps

    loop = asyncio.get_running_loop()
    publisher.bind(loop)
    socket_caps.cache_clear()
    yield
    publisher.unbind(loop)
    socket_caps.cache_clear()
    # The consumers' queries ran on asgiref's sync thread; close its connections there so
    # the test database can be dropped at the end of the run.
    await database_sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def server_events_flushed_by_hand():
    """Server-side analytics events are written by a background thread in production;
    here nothing is written unless a test flushes, and nothing outlives its test."""
    from analytics.services.server_events import queue

    queue.background = False
    yield queue
    queue.discard()
