"""The Redis cache backend reuses one client per connection pool."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache


@pytest.mark.redis
def test_one_client_per_pool_and_the_cache_still_works():
    assert cache._cache.get_client() is cache._cache.get_client()
    key = f"tests:{uuid.uuid4().hex}"
    cache.set(key, {"seats": 3}, timeout=10)
    assert cache.get(key) == {"seats": 3}
    cache.delete(key)
    assert cache.get(key) is None
