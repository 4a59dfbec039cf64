"""Every error the HTTP API answers: JSON ``{"error": {"code": ..., "message": ...}}``.

A 4xx status is for anything the caller did wrong; a 500 means a glasskey bug (and is logged
with its traceback, never echoed).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from glasskey.api.errors import http_status
from glasskey.api.wire import ErrorResponse
from glasskey.core.errors import GlasskeyError

log = logging.getLogger("glasskey.server.http")

#: The error answers every route may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": desc}
    for status, desc in [
        (400, "Bad input"),
        (404, "Not found"),
        (422, "Request validation failed"),
        (429, "Rate limited"),
        (503, "Not ready"),
    ]
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def error_response_for(exc: GlasskeyError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The answer to ``exc``: its class's status (``glasskey.api.errors``), code and message."""
    status = http_status(exc)
    if status == 500:
        log.error("unexpected glasskey error: %s", exc)
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return error_response(status, exc.code, str(exc), headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer glasskey errors, request validation failures, HTTP errors and bugs alike."""

    @app.exception_handler(GlasskeyError)
    async def _glasskey_error(_: Request, exc: GlasskeyError) -> JSONResponse:
        return error_response_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return error_response(422, "invalid_request", details or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # A path no route has is ``no_such_endpoint``, not ``not_found`` (no such user, key or
        # epoch): a client with a wrong base URL must not conclude that a user has no key.
        code = {404: "no_such_endpoint", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return error_response(500, "internal", "internal server error")
