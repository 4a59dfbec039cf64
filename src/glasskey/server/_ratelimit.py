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
