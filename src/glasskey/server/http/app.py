"""The app factory: the service, its routers, error handlers and middleware in one ASGI app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from glasskey.server._ratelimit import RateLimiter
from glasskey.server._service import DirectoryService
from glasskey.server.http.errors import ERROR_RESPONSES, install_error_handlers
from glasskey.server.http.middleware import ObserveMiddleware
from glasskey.server.http.routers import blobs, keys, lookups, operations, transparency


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
    )
    app.state.service = service
    install_error_handlers(app)
    limiter = RateLimiter(service.settings.rate_limit, service.settings.rate_burst)
    app.add_middleware(ObserveMiddleware, limiter=limiter, metrics=service.metrics)
    for resource in (keys, lookups, transparency, blobs, operations):
        app.include_router(resource.router)
    return app
