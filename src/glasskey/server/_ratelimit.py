"""Per-client token-bucket rate limiting for the public (unauthenticated) endpoints.

Why: lookups cost three VRF evaluations and a tree walk each, so an anonymous client must
not be able to monopolise the server. A token bucket allows short bursts (a client opening a
conversation list looks up many contacts at once) while bounding the sustained rate.
The state is per process; behind a load balancer each replica limits independently.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

#: Forget idle clients after this long so the table cannot grow without bound.
_IDLE_SECONDS = 300.0
_MAX_CLIENTS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``allow(key)`` → (allowed, seconds until a token is available)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, 2 * rate))
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, key: str) -> tuple[bool, float]:
        if not self.enabled:
            return True, 0.0
        now = time.monotonic()
        with self._lock:
            if now - self._last_sweep > _IDLE_SECONDS or len(self._buckets) > _MAX_CLIENTS:
                self._sweep(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True, 0.0
            return False, (1.0 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        stale = [k for k, b in self._buckets.items() if now - b.updated > _IDLE_SECONDS]
        for key in stale:
            del self._buckets[key]
        if len(self._buckets) > _MAX_CLIENTS:  # under attack from many addresses: start over
            self._buckets.clear()


class CostLimiter:
    """Admission for expensive public reads: a few at once, and a budget of cost per second.

    Why: a lookup costs well under a millisecond, an audit page or a long key history
    thousands of times that, so counting requests (``RateLimiter``) cannot protect lookups.
    ``admit`` lets a request in while fewer than ``concurrency`` run and the budget is not in
    debt; ``done(cost)`` charges what it turned out to cost (the bytes it served), which may
    put the budget in debt: later requests wait until the refill pays it back. Global, not
    per client: the resource protected is the process's CPU.
    """

    def __init__(self, concurrency: int, rate: float) -> None:
        self.concurrency = max(0, int(concurrency))
        self.rate = float(rate)
        self._tokens = self.rate
        self._updated = time.monotonic()
        self._running = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.concurrency > 0

    def admit(self) -> float:
        """0.0 if the request may run now (call ``done`` after it), else seconds to wait."""
        if not self.enabled:
            return 0.0
        with self._lock:
            self._refill()
            if self._tokens < 0:
                return -self._tokens / self.rate
            if self._running >= self.concurrency:
                return 1.0
            self._running += 1
            return 0.0

    def done(self, cost: float) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._running -= 1
            if self.rate > 0:
                self._refill()
                self._tokens -= cost

    def _refill(self) -> None:
        now = time.monotonic()
        if self.rate > 0:
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
