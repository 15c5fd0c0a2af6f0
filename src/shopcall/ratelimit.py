"""Rate limits on the `limits` library: in memory by default, in Redis when configured
(`rate_limit_storage = "redis://host:6379"`), so limits hold across processes."""

from __future__ import annotations

import time
from functools import lru_cache

from limits import RateLimitItem, parse, storage, strategies


@lru_cache(maxsize=256)
def rule(text: str) -> RateLimitItem:
    """A rule such as "30/5seconds" or "5 per minute", parsed once."""
    return parse(text)


class RateLimiter:
    def __init__(self, uri: str = "memory://") -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))

    def hit(self, limit: str, *keys: str) -> float | None:
        """Count one event under `keys`; None if it is allowed, else the seconds until it would be."""
        item = rule(limit)
        if self._limiter.hit(item, *keys):
            return None
        reset = self._limiter.get_window_stats(item, *keys).reset_time
        return max(0.1, round(reset - time.time(), 1))

    def blocked(self, limit: str, *keys: str) -> float | None:
        """Like `hit` without counting: None if one more event would be allowed, else the seconds to wait."""
        item = rule(limit)
        if self._limiter.test(item, *keys):
            return None
        reset = self._limiter.get_window_stats(item, *keys).reset_time
        return max(0.1, round(reset - time.time(), 1))

    def clear(self, limit: str, *keys: str) -> None:
        self._limiter.clear(rule(limit), *keys)
