"""A token bucket per client, for the service's 429 + ``Retry-After`` extension."""

from __future__ import annotations

import math
import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Allow ``rate`` requests per second per key, in bursts of up to ``burst``.

    ``rate=None`` (or ≤ 0) disables limiting.
    """

    def __init__(self, rate: float | None, burst: int | None = None) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.burst = float(burst if burst is not None else max(1, math.ceil((rate or 1) * 2)))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one request from ``key``'s bucket; returns seconds to wait when it is empty."""
        if self.rate is None:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
