from __future__ import annotations

import logging
import uuid

import pytest

from common import ratelimit
from common.ratelimit import hit
from common.redis import sync_redis_binary_client
from tests.support.redis_server import unreachable_redis_url


def fresh_key() -> str:
    # Unique keys instead of cache.clear(): in Redis that would flush a shared database.
    return f"tests:{uuid.uuid4().hex}"


def test_allows_up_to_the_limit_then_refuses():
    key = fresh_key()
    results = [hit(key, limit=3, window=60) for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert 1 <= results[-1].retry_after <= 60


def test_keys_are_independent():
    a, b = fresh_key(), fresh_key()
    assert hit(a, limit=1, window=60).allowed
    assert not hit(a, limit=1, window=60).allowed
    assert hit(b, limit=1, window=60).allowed


def test_a_new_window_starts_afresh(monkeypatch):
    key = fresh_key()
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1000.0)
    assert hit(key, limit=1, window=10).allowed
    assert not hit(key, limit=1, window=10).allowed
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1010.5)
    assert hit(key, limit=1, window=10).allowed


def test_with_redis_stopped_limits_count_in_this_process_and_say_so_once(
    settings, caplog, fresh_rate_limits
):
    settings.REDIS_URL = unreachable_redis_url()
    sync_redis_binary_client.cache_clear()
    try:
        key = fresh_key()
        with caplog.at_level(logging.WARNING, logger="common.ratelimit"):
            results = [hit(key, limit=3, window=60) for _ in range(5)]
        # Never an error: the limit still holds, per process, while Redis is away.
        assert [r.allowed for r in results] == [True, True, True, False, False]
        assert len([r for r in caplog.records if "Rate limits" in r.message]) == 1
    finally:
        sync_redis_binary_client.cache_clear()


def test_several_limits_count_together_each_against_its_own_bucket():
    tight, loose = fresh_key(), fresh_key()
    answers = [ratelimit.hit_many([(tight, 1, 60), (loose, 3, 60)]) for _ in range(4)]
    assert [[r.allowed for r in pair] for pair in answers] == [
        [True, True],
        [False, True],
        [False, True],
        [False, False],
    ]
    assert ratelimit.hit_many([]) == []


@pytest.mark.redis
def test_several_limits_are_one_redis_round_trip(monkeypatch, fresh_rate_limits):
    client = sync_redis_binary_client()
    pipelines = []
    real_pipeline = client.pipeline

    def counted_pipeline(*args, **kwargs):
        pipelines.append(real_pipeline(*args, **kwargs))
        return pipelines[-1]

    monkeypatch.setattr(client, "pipeline", counted_pipeline)
    ratelimit.hit_many([(fresh_key(), 5, 60), (fresh_key(), 5, 60)])
    assert len(pipelines) == 1
