"""/healthz and /readyz (common/health.py), and the sweeper's heartbeat they read.

Faults are real: a server whose PostgreSQL (or SQLite file) cannot be reached, a Redis
port nobody listens on, a real sweeper process stopped with SIGSTOP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from bench.processes import free_port
from common import health
from tests.support.servers import AsgiServer, database_url_of_this_run


@pytest.fixture(autouse=True)
def no_beats_of_other_tests():
    """Beats live in Redis (services run) or this process (embedded): start from none."""
    health._local_beats.clear()
    if settings.REDIS_URL:
        health.health_redis_client().delete(health._beat_key("sweeper"))
    yield
    health._local_beats.clear()


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django refuses any database access in this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_when_the_database_redis_and_the_sweeper_are(client):
    health.beat("sweeper")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "database": "ok",
        "redis": "ok" if settings.REDIS_URL else "not_configured",
        "sweeper": "ok",
    }


@pytest.mark.django_db
def test_a_heartbeat_written_long_ago_is_a_stale_sweeper(client, settings):
    settings.SWEEPER_STALE_AFTER = 6
    health.beat("sweeper", at=time.time() - 7)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["sweeper"] == "stale"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_a_sweeper_that_never_beat_is_missing(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["sweeper"] == "missing"


def test_readyz_answers_post_with_405(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_sweeper_stopped_with_sigstop_turns_stale_and_recovers(client, settings):
    """The production sweeper (`release_expired_holds --loop`) beats into Redis; stopped
    mid-life, its beats stop and /readyz says so; continued, it is well again."""
    settings.SWEEPER_STALE_AFTER = 1.5
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": settings.REDIS_PREFIX,
        "SECRET_KEY": settings.SECRET_KEY,
        "SWEEPER_STALE_AFTER": "1.5",
    }
    sweeper = subprocess.Popen(
        [sys.executable, "manage.py", "release_expired_holds", "--loop", "--interval", "0.3"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert wait_for_sweeper(client, "ok", within=30) == "ok"
        sweeper.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        assert wait_for_sweeper(client, "stale", within=10) == "stale"
        noticed_after = time.monotonic() - stopped_at
        assert client.get("/readyz").status_code == 503
        # Noticed after about the threshold, not before and not much later.
        assert 1.0 <= noticed_after <= 4, noticed_after
        sweeper.send_signal(signal.SIGCONT)
        assert wait_for_sweeper(client, "ok", within=10) == "ok"
    finally:
        sweeper.send_signal(signal.SIGCONT)
        sweeper.terminate()
        sweeper.wait(timeout=20)


def wait_for_sweeper(client, wanted: str, within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        seen = client.get("/readyz").json()["sweeper"]
        if seen == wanted or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_the_server_process_sweeper_beats_in_a_real_server():
    """`make run`'s shape: daphne with the sweeper inside it is ready on its own."""
    with AsgiServer("daphne", extra_env={"HOLD_SWEEPER_IN_SERVER": "1"}) as server:
        deadline = time.monotonic() + 15
        while True:
            response = httpx.get(f"{server.url}/readyz", timeout=5)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.json()["sweeper"] == "ok"


def unreachable_database_url() -> str:
    """A DATABASE_URL of this run's backend that cannot be reached: a port nobody listens
    on (PostgreSQL), a file in a directory that does not exist (SQLite)."""
    if connection.vendor == "postgresql":
        return f"postgres://root@127.0.0.1:{free_port()}/nothing_here"
    return "sqlite:////nonexistent-lodgetix-dir/db.sqlite3"


@pytest.mark.django_db(transaction=True)
def test_with_the_database_away_liveness_passes_readiness_fails_and_pages_say_try_again():
    server = AsgiServer(
        "daphne",
        extra_env={
            "DATABASE_URL": unreachable_database_url(),
            "HOLD_SWEEPER_IN_SERVER": "0",
            # A pool whose database refuses keeps retrying in the background; a request
            # waits this long for it, then answers 503 (not a hang).
            "DB_POOL_TIMEOUT": "2",
        },
        ready_path="/healthz",
    )
    with server:
        ready = httpx.get(f"{server.url}/readyz", timeout=20)
        started = time.monotonic()
        page = httpx.get(f"{server.url}/", timeout=20)
        page_took = time.monotonic() - started
        api = httpx.get(f"{server.url}/api/functions/grand/availability/", timeout=20)
    assert ready.status_code == 503
    assert ready.json()["database"] == "error"
    # The friendly page, not a bare 500: the database is away, try again shortly.
    assert page.status_code == 503
    assert page_took < 6, page_took
    assert page.headers["retry-after"] == "5"
    assert 'id="try-again"' in page.text
    assert "try again in a moment" in page.text
    assert "Traceback" not in page.text
    assert api.status_code == 503
    assert api.json()["code"] == "database_unavailable"


@pytest.mark.django_db(transaction=True)
def test_with_redis_away_readiness_names_redis():
    server = AsgiServer(
        "daphne",
        extra_env={
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "HOLD_SWEEPER_IN_SERVER": "0",
            "HEALTH_CHECK_TIMEOUT": "1",
        },
        ready_path="/healthz",
    )
    with server:
        started = time.monotonic()
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        took = time.monotonic() - started
    assert ready.status_code == 503
    assert ready.json() == {"database": "ok", "redis": "error", "sweeper": "unknown"}
    assert took < 5
