"""Plain ASGI middleware: what every request passes before a route sees it.

``ReadOnlyMiddleware`` refuses every write on a read replica; ``ObserveMiddleware``
rate-limits public reads (per client address, and expensive ones by their cost) and records
per-route metrics; ``WriteGuardMiddleware`` bounds request bodies, authenticates uploads
from their headers and rate-limits writes — all before a byte of the body is read, so an
anonymous client cannot make the server buffer anything.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
re-wraps every request and response in extra tasks and streams, which cost about as much as a
whole lookup on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glasskey.core.errors import GlasskeyError, RateLimited
from glasskey.server._auth import Caller
from glasskey.server._metrics import Metrics
from glasskey.server._proxies import ClientAddresses
from glasskey.server._ratelimit import CostLimiter, RateLimiter
from glasskey.server.http.errors import error_response, error_response_for

#: Path prefixes of the public reads that are rate limited per client address.
PUBLIC_READS = ("/api/crypto/", "/api/transparency/")
#: Public reads whose cost grows with the log or a user's history, not a constant: they
#: also pass the cost-aware limit (exact paths, and the history prefix).
EXPENSIVE_READS = frozenset(
    {"/api/transparency/audit", "/api/transparency/audit-log", "/api/transparency/blobs"}
)
EXPENSIVE_PREFIX = "/api/crypto/history/"
#: The key upload: authenticated (and limited per user) from its headers.
UPLOAD = "/api/crypto/keys/identity"
#: Writes counted by the global write limit.
WRITES = frozenset({UPLOAD, "/api/auth/register", "/api/transparency/gossip"})
#: Where a middleware leaves the user it authenticated (in the ASGI scope's state).
PRINCIPAL_STATE = "principal"


def _header(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope["headers"] if k == name]


def rate_limited(message: str, retry: float) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A 429 answer with its ``Retry-After`` (whole seconds, at least one)."""
    return error_response_for(RateLimited(message), {"Retry-After": str(max(1, round(retry)))})


def _is_expensive(path: str) -> bool:
    return path in EXPENSIVE_READS or path.startswith(EXPENSIVE_PREFIX)


class ObserveMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        costs: CostLimiter,
        addresses: ClientAddresses,
        metrics: Metrics,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.costs = costs
        self.addresses = addresses
        self.metrics = metrics

    def _client(self, scope: Scope) -> str:
        peer = scope.get("client")
        return self.addresses.client(
            peer[0] if peer else "unknown", _header(scope, b"x-forwarded-for")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        public = method == "GET" and path.startswith(PUBLIC_READS)
        expensive = public and _is_expensive(path)
        client = self._client(scope) if public and (self.limiter.enabled or expensive) else ""
        if public and self.limiter.enabled:
            allowed, retry = self.limiter.allow(client)
            if not allowed:
                self.metrics.inc("rate_limited")
                await rate_limited("too many requests; slow down", retry)(scope, receive, send)
                return
        if expensive and (retry := self.costs.admit(client)):
            self.metrics.inc("rate_limited")
            await rate_limited("the server is busy with expensive requests; retry later",
                                retry)(scope, receive, send)  # fmt: skip
            return
        status, sent = 500, 0

        async def send_and_observe(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            if expensive:
                self.costs.done(client, sent)
            route_path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(method, route_path, status, time.perf_counter() - started)


class ReadOnlyMiddleware:
    """A read replica's answer to every write: 503 ``read_only`` naming the writer.

    Checked before anything else (body, token, rate limits), so a misrouted upload costs the
    replica nothing and the client learns at once where writes go: the message and the
    ``X-Glasskey-Writer`` header name ``writer_url``. 503 rather than a redirect: clients
    must not silently re-send an authenticated upload to another host.
    """

    def __init__(self, app: ASGIApp, *, writer_url: str | None) -> None:
        self.app = app
        self.writer_url = writer_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        where = (
            f"send writes to the writer at {self.writer_url}"
            if self.writer_url
            else ("send writes to the writer")
        )
        headers = {"X-Glasskey-Writer": self.writer_url} if self.writer_url else None
        await error_response(503, "read_only", f"this server is a read replica; {where}",
                             headers)(scope, receive, send)  # fmt: skip


class WriteGuardMiddleware:
    """Bounded bodies, uploads authenticated from headers, per-user and global write limits.

    ``authenticate(authorization)`` returns the ``Caller`` a header authenticates or raises
    ``Unauthenticated``; it is left in the scope's state for the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        authenticate: Callable[[str | None], Awaitable[Caller]],
        user_writes: RateLimiter,
        writes: RateLimiter,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.authenticate = authenticate
        self.user_writes = user_writes
        self.writes = writes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_body_bytes:
            await self._too_large()(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] == "POST" and path == UPLOAD:
            authorization = _header(scope, b"authorization")
            try:
                user = await self.authenticate(authorization[0] if authorization else None)
            except GlasskeyError as exc:
                await error_response_for(exc)(scope, receive, send)
                return
            scope.setdefault("state", {})[PRINCIPAL_STATE] = user
            # A service uploads for many users: its uploads are limited per target user
            # once the route has read which one (``routers.keys``).
            allowed, retry = (
                self.user_writes.allow(user.user_id) if user.user_id is not None else (True, 0.0)
            )
            if not allowed:
                await rate_limited("too many key uploads for this user; slow down",
                                    retry)(scope, receive, send)  # fmt: skip
                return
        if scope["method"] == "POST" and path in WRITES:
            allowed, retry = self.writes.allow("")
            if not allowed:
                await rate_limited("the server is taking too many writes; retry later",
                                    retry)(scope, receive, send)  # fmt: skip
                return
        await self._bounded(scope, receive, send)

    def _declared_length(self, scope: Scope) -> int:
        length = _header(scope, b"content-length")
        try:
            return int(length[0]) if length else 0
        except ValueError:
            return 0  # the server's HTTP parser refuses it

    def _too_large(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return error_response(
            413, "too_large", f"the request body is over the limit of {self.max_body_bytes} bytes"
        )

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, answering 413 as soon as a streamed (chunked) body passes the limit.

        The app then sees a disconnect, and whatever it answers to that is dropped.
        """
        received, answered, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    answered = True
                    if not started:
                        await self._too_large()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
