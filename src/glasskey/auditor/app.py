"""The Plexi HTTP API over :class:`glasskey.auditor._service.Auditor` (FastAPI/Starlette).

Why bodies are parsed by hand instead of with pydantic models: the wire contract is Plexi's
(exact field names, u64 numbers that must never pass through floats, plexi's error wording),
and FastAPI's automatic 422 responses would not match it. Every bad input becomes a 4xx with a
JSON body ``{"error": code, "message": text}``; a client that asks for ``text/plain`` gets the
bare message, which is the form Cloudflare documents (``Namespace is disabled and read-only.``).
Nothing reaches the client as a 500 with internals; unexpected errors are logged, not echoed.

Writes are authenticated by a bearer token — the admin token (operator rights, compared in
constant time) or a namespace owner's token (identified by ``owner_token_id``) — or by a TLS
client certificate (identified by the SHA-256 of its SubjectPublicKeyInfo), see
:mod:`glasskey.auditor._tls`. Reads are public and CORS-open (plexi-core also runs in browsers).

Publishing verifies an audit proof (up to seconds of CPU and a download): it runs in the
thread pool like every call into the service, never on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from glasskey.api.errors import http_status
from glasskey.auditor._metrics import AuditorMetrics
from glasskey.auditor._service import Auditor, Identity, Unauthorized, owner_token_id
from glasskey.auditor._tls import client_cert_spki_sha256
from glasskey.core.errors import GlasskeyError, MalformedError
from glasskey.core.plexi.messages import dumps, loads

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
_CORS = {"Access-Control-Allow-Origin": "*"}


@dataclass(frozen=True)
class AuthConfig:
    """``admin_token``: bearer token with operator rights (None: no token is the operator's).
    ``operator_certs``: SPKI SHA-256 hex of client certificates with operator rights. Any
    other bearer token is a candidate namespace owner, checked by the service."""

    admin_token: str | None = None
    operator_certs: frozenset[str] = field(default_factory=frozenset)

    def identify(self, request: Request) -> Identity | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise Unauthorized("invalid credentials")
            if self.admin_token is not None:
                # Hash both sides first: compare_digest is constant time only for equal lengths.
                given = hashlib.sha256(token.encode()).digest()
                expected = hashlib.sha256(self.admin_token.encode()).digest()
                if hmac.compare_digest(given, expected):
                    return Identity(operator=True)
            return Identity(operator=False, token_sha256=owner_token_id(token))
        spki = client_cert_spki_sha256(request.scope)
        if spki is not None:
            return Identity(operator=spki in self.operator_certs, cert_spki_sha256=spki)
        return None


def _json(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json", headers=_CORS)


def _error(request: Request, status: int, code: str, message: str) -> Response:
    accept = request.headers.get("accept", "")
    if "text/plain" in accept and "json" not in accept:
        return PlainTextResponse(message, status_code=status, headers=_CORS)
    return _json({"error": code, "message": message}, status)


async def _body(request: Request) -> Any:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise MalformedError(f"request body exceeds {MAX_BODY_BYTES} bytes")
    return loads(bytes(data))


def _epoch_param(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 20 or int(text) >= 2**64:
        raise MalformedError("invalid parameter `epoch`")
    return int(text)


def _observe(metrics: AuditorMetrics, auditor: Auditor) -> None:
    metrics.counter("glasskey_auditor_http_requests_total", "HTTP requests by route and status.")
    metrics.counter("glasskey_auditor_epochs_signed_total", "Epochs countersigned.")
    metrics.counter(
        "glasskey_auditor_publish_refused_total",
        "Publish requests answered without a signature, by error code (proof_unavailable: "
        "the log has not published the epoch's audit proof yet).",
    )
    metrics.gauge(
        "glasskey_auditor_namespaces", "Namespaces this auditor audits.",
        lambda: float(len(auditor.list_namespaces(include_private=True))),
    )  # fmt: skip
    metrics.gauge(
        "glasskey_auditor_longest_stall_seconds",
        "How long the longest current wait for an audit proof, or verification, has lasted.",
        _longest_stall(auditor),
    )


def _longest_stall(auditor: Auditor) -> Any:
    stalls = getattr(auditor.proofs, "stalls", None)  # a test's stand-in gate may have none
    return stalls.longest_wait if stalls is not None else lambda: 0.0


def create_app(
    auditor: Auditor, auth: AuthConfig, metrics: AuditorMetrics | None = None
) -> FastAPI:
    """Build the ASGI app; the auditor's proof sources are closed when it stops."""
    metrics = metrics or AuditorMetrics()
    _observe(metrics, auditor)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            auditor.close()

    app = FastAPI(
        title="glasskey auditor (Plexi-compatible)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.auditor = auditor

    @app.middleware("http")
    async def _count(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.inc("glasskey_auditor_http_requests_total", method=request.method,
                    route=path, status=str(response.status_code))  # fmt: skip
        return response

    @app.exception_handler(GlasskeyError)
    async def _glasskey_error(request: Request, exc: GlasskeyError) -> Response:
        # Anything the vocabulary gives no status is the caller's bad input here (Plexi: 400).
        return _error(request, http_status(exc, default=400), exc.code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(request, 500, "internal", "internal error")

    @app.get("/info")
    async def info() -> Response:
        return _json((await run_in_threadpool(auditor.info)).to_json_dict())

    @app.get("/namespaces")
    async def list_namespaces() -> Response:
        items = await run_in_threadpool(auditor.list_namespaces)
        return _json({"namespaces": [i.to_json_dict() for i in items]})

    @app.post("/namespaces")
    async def create_namespace(request: Request) -> Response:
        identity = auth.identify(request)
        body = await _body(request)
        created = await run_in_threadpool(auditor.create_namespace, body, identity)
        return _json(created.to_json_dict())

    @app.get("/namespaces/{name}")
    async def get_namespace(name: str) -> Response:
        return _json((await run_in_threadpool(auditor.get_namespace, name)).to_json_dict())

    @app.patch("/namespaces/{name}")
    async def patch_namespace(name: str, request: Request) -> Response:
        identity = auth.identify(request)
        body = await _body(request)
        updated = await run_in_threadpool(auditor.disable_namespace, name, body, identity)
        return _json(updated.to_json_dict())

    @app.post("/namespaces/{name}/audits")
    async def publish(name: str, request: Request) -> Response:
        try:
            identity = auth.identify(request)
            body = await _body(request)
            response = await run_in_threadpool(auditor.publish, name, body, identity)
        except GlasskeyError as exc:
            metrics.inc("glasskey_auditor_publish_refused_total", code=exc.code)
            raise
        metrics.inc("glasskey_auditor_epochs_signed_total")
        return _json(response.to_json_dict())

    @app.get("/namespaces/{name}/audits/{epoch}")
    async def get_audit(name: str, epoch: str) -> Response:
        if epoch == "latest":
            response = await run_in_threadpool(auditor.latest_audit, name)
        else:
            response = await run_in_threadpool(auditor.get_audit, name, _epoch_param(epoch))
        return _json(response.to_json_dict())

    @app.get("/namespaces/{name}/last-verified-epoch")
    async def last_verified(name: str) -> Response:
        return _json((await run_in_threadpool(auditor.last_verified, name)).to_json_dict())

    @app.get("/namespaces/{name}/evidence")
    async def evidence(name: str) -> Response:
        items, clearings = await run_in_threadpool(auditor.evidence, name)
        return _json(
            {
                "evidence": [e.to_json_dict() for e in items],
                "cleared": [c.to_json_dict() for c in clearings],
            }
        )

    @app.post("/namespaces/{name}/evidence/clear")
    async def clear_evidence(name: str, request: Request) -> Response:
        identity = auth.identify(request)
        body = await _body(request)
        clearing = await run_in_threadpool(auditor.clear_evidence, name, body, identity)
        return _json(clearing.to_json_dict())

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        """Ready when the store answers: the auditor can read and sign (503 otherwise)."""
        try:
            namespaces = await run_in_threadpool(auditor.list_namespaces, include_private=True)
        except Exception as exc:
            log.warning("not ready: the auditor's database does not answer (%s)", exc)
            return _json({"status": "unavailable", "reason": "database"}, 503)
        return _json({"status": "ready", "namespaces": len(namespaces)})

    @app.get("/metrics")
    async def prometheus() -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type="text/plain; version=0.0.4")

    return app


__all__ = ["AuthConfig", "create_app"]
