"""The session engine's prefetch (common/sessions.py): its cache read rides in the rate
limits' Redis round trip, and whatever the prefetch does not bring is read as cached_db
always reads it."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.cache import caches
from django.core.cache.backends.redis import RedisSerializer

from common import ratelimit, sessions
from common.cache import PipelinedGet
from common.redis import sync_redis_binary_client
from common.sessions import SessionStore
from tests.support.redis_server import redis_round_trips, unreachable_redis_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.redis,
    # The outage here must not silence another test's log line, nor meet an open breaker.
    pytest.mark.usefixtures("fresh_rate_limits"),
]


def saved_session(**data) -> SessionStore:
    session = SessionStore()
    session.update(data)
    session.save()
    return session


def limit() -> list[tuple[str, int, int]]:
    return [(f"tests:{uuid.uuid4().hex}", 5, 60)]


def test_the_read_rides_in_the_rate_limit_round_trip():
    key = saved_session(buyer="alice").session_key
    session = SessionStore(key)
    read = sessions.prefetch(session)
    ratelimit.hit_many(limit(), riders=[read])  # opens a connection, if the pool has none

    session = SessionStore(key)
    read = sessions.prefetch(session)
    with redis_round_trips() as sent:
        assert ratelimit.hit_many(limit(), riders=[read])[0].allowed
        assert session["buyer"] == "alice"
    assert len(sent) == 1
    assert b"INCR" in sent[0]
    assert b"GET" in sent[0]


def test_without_the_prefetch_the_same_work_is_two_round_trips():
    # The control: the count above would see a second trip if the session read its own.
    key = saved_session(buyer="alice").session_key
    ratelimit.hit_many(limit())
    session = SessionStore(key)
    with redis_round_trips() as sent:
        ratelimit.hit_many(limit())
        assert session["buyer"] == "alice"
    assert len(sent) == 2


def test_a_miss_in_redis_is_read_from_the_database():
    saved = saved_session(buyer="alice")
    caches["default"].delete(saved.cache_key)
    session = SessionStore(saved.session_key)
    read = sessions.prefetch(session)
    ratelimit.hit_many(limit(), riders=[read])
    assert read.value is None
    assert session["buyer"] == "alice"


def test_a_prefetch_never_sent_leaves_the_usual_read(settings):
    # Redis unreachable for the rate limits: they count in this process, the read never
    # goes, and the session reads through the cache as it always does.
    key = saved_session(buyer="alice").session_key
    settings.REDIS_URL = unreachable_redis_url()
    sync_redis_binary_client.cache_clear()
    try:
        session = SessionStore(key)
        read = sessions.prefetch(session)
        assert ratelimit.hit_many(limit(), riders=[read])[0].allowed
        assert session["buyer"] == "alice"
    finally:
        sync_redis_binary_client.cache_clear()


def test_nothing_to_prefetch_without_a_cookie_after_a_read_or_on_another_engine():
    assert sessions.prefetch(SessionStore()) is None
    session = SessionStore(saved_session(buyer="alice").session_key)
    assert session["buyer"] == "alice"
    assert sessions.prefetch(session) is None  # read already
    assert sessions.prefetch(DatabaseSessionStore("x" * 32)) is None


@pytest.mark.parametrize("reply", [b"not a pickle", ValueError("WRONGTYPE"), None])
def test_a_reply_that_is_not_a_value_is_a_miss(reply):
    read = PipelinedGet("key", RedisSerializer().loads)
    read.arrived(reply)
    assert read.value is None
