"""A token bucket per client, for the service's 429 + ``Retry-After`` extension.

Kept by hand rather than taken from a rate-limiting library (limits, slowapi): the service needs
the exact wait until the next token for ``Retry-After``, buckets keyed by account and by client
address, and a bound on how many buckets many clients can make it hold, in some forty lines with
no dependency and no storage backend.
"""

from __future__ import annotations

import math
import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Allow ``rate`` requests per second per key, in bursts of up to ``burst``.

    ``rate=None`` (or ≤ 0) disables limiting. Keys are accounts and, for failed tokens, client
    addresses; once more than ``max_keys`` are held, the buckets that have refilled (which say
    nothing a new bucket would not) are dropped, so many clients cannot grow it without bound.

    Examples
    --------
    >>> limiter = RateLimiter(1.0, burst=1)
    >>> limiter.acquire("account:1") is None, limiter.acquire("account:1") is not None
    (True, True)
    """

    max_keys = 10_000

    def __init__(self, rate: float | None, burst: int | None = None) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.burst = float(burst if burst is not None else max(1, math.ceil((rate or 1) * 2)))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._prune_at = self.max_keys

    def acquire(self, key: str) -> float | None:
        """Take one request from ``key``'s bucket; returns seconds to wait when it is empty."""
        if self.rate is None:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self._prune_at:
                self._forget_full(now)
        return None if allowed else (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled since their last request; called with the lock held."""
        assert self.rate is not None
        refill = self.burst / self.rate
        for key in [k for k, (_, last) in self._buckets.items() if now - last >= refill]:
            del self._buckets[key]
        self._prune_at = max(self.max_keys, 2 * len(self._buckets))  # not again at every request
