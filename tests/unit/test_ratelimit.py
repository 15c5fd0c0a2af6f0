"""RateLimiter: a moving window per key, in memory or shared through a real Redis."""

from __future__ import annotations

import os
import secrets

import pytest

from shopcall.ratelimit import RateLimiter

REDIS_URL = os.environ.get("SHOPCALL_TEST_REDIS", "redis://127.0.0.1:6379")


def test_memory_limits_each_key_separately() -> None:
    lim = RateLimiter()
    assert [lim.hit("3/minute", "a") for _ in range(4)][:3] == [None, None, None]
    wait = lim.hit("3/minute", "a")
    assert wait is not None and 0 < wait <= 60
    assert lim.hit("3/minute", "b") is None
    lim.clear("3/minute", "a")
    assert lim.hit("3/minute", "a") is None


def test_redis_counts_are_shared_by_every_process() -> None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (required in CI)")
        pytest.skip("Redis not reachable on 127.0.0.1:6379 (runs in CI)")
    key = secrets.token_hex(6)
    one, two = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)  # as two server processes would
    assert one.hit("2/minute", key) is None and two.hit("2/minute", key) is None
    assert one.hit("2/minute", key) is not None and two.hit("2/minute", key) is not None
    one.clear("2/minute", key)
