"""The Redis cache backend reuses one client per connection pool, and a Redis that is
stopped or paused is a miss, never an error (faults on a redis-server of the test's own)."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.test import Client

from common.cache import ReusingRedisCache
from tests.support.redis_server import RedisServer, unreachable_redis_url


@pytest.mark.redis
def test_one_client_per_pool_and_the_cache_still_works():
    assert cache._cache.get_client() is cache._cache.get_client()
    key = f"tests:{uuid.uuid4().hex}"
    cache.set(key, {"seats": 3}, timeout=10)
    assert cache.get(key) == {"seats": 3}
    cache.delete(key)
    assert cache.get(key) is None


def redis_cache(url: str) -> ReusingRedisCache:
    """A cache of its own on `url`, with the production timeouts."""
    return ReusingRedisCache(url, {"OPTIONS": dict(settings.REDIS_TIMEOUTS)})


def test_a_stopped_redis_is_a_miss_and_a_skipped_write_logged_once(caplog):
    dead = redis_cache(unreachable_redis_url())
    with caplog.at_level(logging.WARNING, logger="common.cache"):
        for _ in range(50):
            dead.set("k", "v", timeout=10)
            assert dead.get("k") is None
            assert dead.get_many(["k"]) == {}
            assert not dead.has_key("k")
            assert not dead.add("k", "v")
            dead.delete("k")
    # One line per 10 s however many requests (the breaker also skips Redis for a second).
    assert len([r for r in caplog.records if "Redis cache unreachable" in r.message]) == 1


def test_a_paused_redis_costs_a_request_at_most_the_socket_timeout():
    with RedisServer() as server:
        cache_ = redis_cache(server.url)
        cache_.set("k", "v", timeout=10)
        server.pause()
        try:
            started = time.monotonic()
            for _ in range(20):  # one waits out the timeout; the breaker spares the rest
                assert cache_.get("k") is None
            assert time.monotonic() - started < settings.REDIS_SOCKET_TIMEOUT + 0.5
        finally:
            server.resume()


def test_a_write_skipped_during_an_outage_never_reads_back_stale():
    """A paused Redis keeps the old value; once it answers again the key is deleted before
    Redis is trusted, so the next read is a miss (the session then comes from PostgreSQL)."""
    with RedisServer() as server:
        cache_ = redis_cache(server.url)
        cache_.set("session", "old", timeout=60)
        server.pause()
        try:
            cache_.set("session", "new", timeout=60)  # skipped: Redis is hung
        finally:
            server.resume()
        assert cache_.get("session") is None  # not "old"
        deadline = time.monotonic() + 5
        while not cache_._cache._breaker.closed():  # Redis is retried a second later
            assert cache_.get("session") is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert cache_.get("session") is None  # deleted in Redis before it was read
        cache_.set("session", "newer", timeout=60)
        assert cache_.get("session") == "newer"


@pytest.mark.django_db
def test_sessions_keep_working_from_the_database_with_redis_stopped(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.ReusingRedisCache",
            "LOCATION": unreachable_redis_url(),
            "OPTIONS": dict(settings.REDIS_TIMEOUTS),
        }
    }
    client = Client()
    response = client.get("/")
    assert response.status_code == 200
    session = client.session
    session["buyer"] = "alice"
    session.save()  # to PostgreSQL; the cache write is skipped
    assert SessionStore(session.session_key).load()["buyer"] == "alice"
