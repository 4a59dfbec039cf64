"""The app factory: the service, its routers, error handlers and middleware in one ASGI app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from glasskey.server._proxies import ClientAddresses
from glasskey.server._ratelimit import CostLimiter, RateLimiter
from glasskey.server._service import DirectoryService
from glasskey.server.http.errors import ERROR_RESPONSES, install_error_handlers
from glasskey.server.http.middleware import (
    ObserveMiddleware,
    ReadOnlyMiddleware,
    WriteGuardMiddleware,
)
from glasskey.server.http.routers import blobs, keys, lookups, operations, transparency, webui


def create_app(service: DirectoryService, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the ASGI app around ``service`` (started/stopped with the app when asked)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            service.start()
            if service.settings.freeze_gc:
                gc.collect()
                gc.freeze()
        try:
            yield
        finally:
            if manage_lifecycle:
                service.close()

    app = FastAPI(
        title="glasskey",
        version="0.1.0",
        description="Key transparency directory: AKD-compatible proofs, signed root log.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # FastAPI's Swagger UI and ReDoc load scripts from a CDN; the webui router serves an
        # offline /docs page instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    settings = service.settings
    # The middleware added last runs first: ObserveMiddleware sees every answer, the
    # write guard's refusals included.
    user_writes = RateLimiter(settings.user_write_limit / 60, settings.user_write_limit)
    app.state.user_writes = user_writes  # service uploads are limited per target user
    # Innermost: every limit and metric above it applies to the lookups it answers.
    app.add_middleware(lookups.BundleFastPath, reads=service.reads)
    app.add_middleware(
        WriteGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        authenticate=service.uploads.authenticate,
        user_writes=user_writes,
        writes=RateLimiter(settings.write_rate_limit),
    )
    if settings.read_only:
        app.add_middleware(ReadOnlyMiddleware, writer_url=settings.writer_url)
    app.add_middleware(
        ObserveMiddleware,
        limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
        costs=CostLimiter(settings.expensive_concurrency, settings.expensive_bytes_per_second),
        addresses=ClientAddresses(settings.trusted_proxies),
        metrics=service.metrics,
    )
    for resource in (keys, lookups, transparency, blobs, operations, webui):
        app.include_router(resource.router)
    _declare_security(app)
    return app


#: The credentials the API accepts (OpenAPI ``securitySchemes``); all are bearer tokens.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "userToken": {
        "type": "http", "scheme": "bearer",
        "description": "A user's own token (gk_...), from registration or an admin's reissue; "
        "or whatever the server's plug-in authenticator (--authenticator) accepts in the "
        "Authorization header.",
    },
    "serviceCredential": {
        "type": "http", "scheme": "bearer",
        "description": "Backend mode: a service credential (gks_...) issued by an admin; "
        "uploads keys on behalf of any user (user_id in the body) and follows them.",
    },
    "adminToken": {
        "type": "http", "scheme": "bearer",
        "description": "The server's admin token ($GLASSKEY_ADMIN_TOKEN): registers users and "
        "manages tokens and service credentials; it does not upload keys.",
    },
}  # fmt: skip

#: Which schemes each authenticated operation accepts (any one of them).
_OPERATION_SECURITY: dict[tuple[str, str], list[str]] = {
    ("/api/auth/register", "post"): ["adminToken"],
    ("/api/crypto/keys/identity", "post"): ["userToken", "serviceCredential"],
    ("/api/crypto/keys/identity/updates/{update_id}", "get"): ["userToken", "serviceCredential"],
    ("/api/admin/users/{user_id}/token", "post"): ["adminToken"],
    ("/api/admin/users/{user_id}/token", "delete"): ["adminToken"],
    ("/api/admin/service-credentials", "post"): ["adminToken"],
    ("/api/admin/service-credentials/{name}", "delete"): ["adminToken"],
}


def _declare_security(app: FastAPI) -> None:
    """Declare the security schemes in the OpenAPI document (built once, on first request).

    Declared here rather than with ``fastapi.security`` dependencies: authentication runs in
    the write guard before the body is read, and an extra dependency per request costs time.
    Registration is open to anyone with ``--open-registration`` (development only); the
    document describes the production rule.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for (path, method), names in _OPERATION_SECURITY.items():
            operation = schema["paths"][path][method]
            operation["security"] = [{name: []} for name in names]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
