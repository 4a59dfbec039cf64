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


@dataclass(slots=True)
class _Share:
    """One client's part of the cost budget: its debt and its requests running now."""

    tokens: float
    updated: float
    running: int = 0


class CostLimiter:
    """Admission for expensive public reads: a few at once, and a budget of cost per second.

    Why: a lookup costs well under a millisecond, an audit page or a long key history
    thousands of times that, so counting requests (``RateLimiter``) cannot protect lookups.
    ``admit(client)`` lets a request in while fewer than ``concurrency`` run and the budget is
    not in debt; ``done(client, cost)`` charges what it turned out to cost (the bytes it
    served), which may put the budget in debt: later requests wait until the refill pays it
    back. Each client has a budget of its own (``rate`` per second) and the process one more
    (the resource protected is its CPU), which may run up to one second's worth into debt,
    but only for clients not in debt themselves: one client looping over audit pages waits
    for its own debt, while an auditor fetching its proofs, or a user fetching a history,
    still gets in. A lone client gets exactly ``rate``; many together at most about twice it.
    """

    def __init__(self, concurrency: int, rate: float) -> None:
        self.concurrency = max(0, int(concurrency))
        self.rate = float(rate)
        self._tokens = self.rate
        self._updated = time.monotonic()
        self._running = 0
        self._clients: dict[str, _Share] = {}
        self._last_sweep = self._updated
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.concurrency > 0

    def admit(self, client: str) -> float:
        """0.0 if ``client``'s request may run now (call ``done`` after it), else seconds to
        wait."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._refill()
            share = self._share(client, now)
            if share.tokens < 0 and self.rate > 0:
                return -share.tokens / self.rate
            if self._tokens < -self.rate:  # the process's second of debt is spent
                return (-self.rate - self._tokens) / self.rate
            if self._running >= self.concurrency:
                return 1.0
            self._running += 1
            share.running += 1
            return 0.0

    def done(self, client: str, cost: float) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._running -= 1
            now = self._refill()
            share = self._share(client, now)
            share.running = max(0, share.running - 1)
            if self.rate > 0:
                self._tokens -= cost
                share.tokens -= cost

    def _share(self, client: str, now: float) -> _Share:
        if now - self._last_sweep > _IDLE_SECONDS or len(self._clients) > _MAX_CLIENTS:
            self._sweep(now)
        share = self._clients.get(client)
        if share is None:
            share = self._clients[client] = _Share(self.rate, now)
        share.tokens = min(self.rate, share.tokens + (now - share.updated) * self.rate)
        share.updated = now
        return share

    def _sweep(self, now: float) -> None:
        """Forget idle clients that owe nothing (a debtor must not escape by waiting out the
        sweep only to come back with a fresh share)."""
        self._last_sweep = now
        for client in [
            c
            for c, share in self._clients.items()
            if share.running == 0 and now - share.updated > _IDLE_SECONDS and share.tokens >= 0
        ]:
            del self._clients[client]
        if len(self._clients) > _MAX_CLIENTS:  # many addresses: the global budget still holds
            self._clients.clear()

    def _refill(self) -> float:
        now = time.monotonic()
        if self.rate > 0:
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        return now
