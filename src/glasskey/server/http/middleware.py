"""Rate limiting of public reads and per-route request metrics, as one plain ASGI middleware.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
re-wraps every request and response in extra tasks and streams, which cost about as much as a
whole lookup on the hot path.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glasskey.core.errors import RateLimited
from glasskey.server._metrics import Metrics
from glasskey.server._ratelimit import RateLimiter
from glasskey.server.http.errors import error_response_for

#: Path prefixes of the public reads that are rate limited per client address.
PUBLIC_READS = ("/api/crypto/", "/api/transparency/")


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, metrics: Metrics) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        public = method == "GET" and path.startswith(PUBLIC_READS)
        if public and self.limiter.enabled:
            client = scope.get("client")
            allowed, retry = self.limiter.allow(client[0] if client else "unknown")
            if not allowed:
                self.metrics.inc("rate_limited")
                response = error_response_for(
                    RateLimited("too many requests; slow down"),
                    {"Retry-After": str(max(1, round(retry)))},
                )
                await response(scope, receive, send)
                return
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route_path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(method, route_path, status, time.perf_counter() - started)
