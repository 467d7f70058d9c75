"""Health endpoints for load balancers, and the heartbeats they read.

- `GET /healthz` (liveness): the process answers HTTP. Touches nothing else, so a
  database outage never makes a load balancer restart healthy processes.
- `GET /readyz` (readiness): `SELECT 1` on PostgreSQL (or SQLite), a Redis `PING` when
  `REDIS_URL` is set, and the sweeper's heartbeat, each bounded by `HEALTH_CHECK_TIMEOUT`.
  200 `{"database": "ok", "redis": "ok", "sweeper": "ok"}` when all pass, 503 with the
  failing ones named otherwise.

A sweeper that stops sweeping (hung on a lock, stopped, dead) would otherwise go
unnoticed while lapsed holds stay reserved: each pass of its loop calls `beat("sweeper")`,
and /readyz reports `"sweeper": "stale"` once the last beat is older than
`SWEEPER_STALE_AFTER` seconds. With Redis the beat is a key with a TTL that every server
process reads; without Redis the sweeper runs inside the one server process (README, "How
it runs"), so the beat is kept in that process's memory.

Like the rest of `common`, nothing here imports an app.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from common.once import process_singleton
from common.redis import key

logger = logging.getLogger(__name__)

OK = "ok"

# Beats of this process, for the no-Redis shape: name -> time.time() of the last beat.
_local_beats: dict[str, float] = {}
_local_lock = threading.Lock()


@process_singleton
def health_redis_client() -> redis.Redis:
    """A client of its own with short timeouts: a hung Redis must fail the check within
    HEALTH_CHECK_TIMEOUT, not hang the load balancer's probe (or the sweeper's beat)."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
        max_connections=8,
    )


def _beat_key(name: str) -> str:
    return key("heartbeat", name)


def beat(name: str, at: float | None = None) -> None:
    """Record that the loop `name` is alive now (or was at `at`, a time.time()). Never
    raises: a Redis outage must not stop the sweeper it reports on (readiness then fails
    on Redis anyway)."""
    now = time.time() if at is None else at
    if not settings.REDIS_URL:
        with _local_lock:
            _local_beats[name] = now
        return
    try:
        # Kept well past the stale threshold so /readyz can say how old it is.
        ttl = max(60, int(settings.SWEEPER_STALE_AFTER * 10))
        health_redis_client().set(_beat_key(name), f"{now:.3f}", ex=ttl)
    except redis.RedisError:
        logger.warning("Could not record the %s heartbeat in Redis", name, exc_info=True)


def last_beat(name: str) -> float | None:
    """time.time() of the last beat of `name`, or None if none is known."""
    if not settings.REDIS_URL:
        with _local_lock:
            return _local_beats.get(name)
    value = health_redis_client().get(_beat_key(name))
    return float(value) if value is not None else None


def check_database() -> str:
    """`SELECT 1`, waiting at most HEALTH_CHECK_TIMEOUT for a pooled connection and for
    the answer."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    try:
        pool = getattr(connection, "pool", None)
        if pool is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            return OK
        # The pool itself, not this thread's Django connection: its wait can be bounded.
        pool.open(wait=False)
        with pool.connection(timeout=timeout) as conn, conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            conn.execute("SELECT 1").fetchone()
        return OK
    except Exception:  # any failure means not ready; the log says which
        logger.warning("Readiness: the database check failed", exc_info=True)
        return "error"


def check_redis() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        health_redis_client().ping()
        return OK
    except redis.RedisError:
        logger.warning("Readiness: the Redis check failed", exc_info=True)
        return "error"


def check_sweeper() -> str:
    """ "ok" if the sweeper beat within SWEEPER_STALE_AFTER seconds, "stale" if its last
    beat is older, "missing" if it never beat, "unknown" if the beat cannot be read."""
    try:
        last = last_beat("sweeper")
    except redis.RedisError:
        return "unknown"
    if last is None:
        return "missing"
    return OK if time.time() - last <= settings.SWEEPER_STALE_AFTER else "stale"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answers without touching the database, Redis or the session."""
    return JsonResponse({"status": OK})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis and the sweeper are all well, else 503."""
    checks = {"database": check_database(), "redis": check_redis(), "sweeper": check_sweeper()}
    ready = all(value in (OK, "not_configured") for value in checks.values())
    return JsonResponse(checks, status=200 if ready else 503)
