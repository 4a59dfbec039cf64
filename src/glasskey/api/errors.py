"""Errors on the wire: which HTTP status each error class is, and back again.

Why one table for both directions: the directory server and the auditor answer with these
statuses, and the clients of both (the verifying client, the auditor client the directory
uses to get countersignatures) turn them back into the same classes, so ``except NotFound``
means the same thing on both sides of every wire. Codes are the classes' ``code`` attributes.

Two error body shapes exist, both kept as they are: the directory's
``{"error": {"code": ..., "message": ...}}`` and the auditor's Plexi-style
``{"error": code, "message": ...}``; Plexi servers (Cloudflare's) may also answer plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from glasskey.core.errors import (
    Conflict,
    ConstraintViolation,
    GlasskeyError,
    MalformedError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ReplayedUpload,
    RequestError,
    Unauthenticated,
    Unavailable,
    UsageError,
)

#: Status of each error class; a class not listed takes the status of its nearest listed base.
STATUS: dict[type[GlasskeyError], int] = {
    UsageError: 400,
    MalformedError: 400,
    ConstraintViolation: 400,
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    ReplayedUpload: 409,
    RateLimited: 429,
    Unavailable: 503,
}

#: The request-outcome class each status stands for when an answer names no known code.
_BY_STATUS: dict[int, type[RequestError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
    503: Unavailable,
}

#: The request-outcome classes by the codes services put in error bodies; the auditor's
#: refinements (``glasskey.auditor._service`` and ``.proofs``, above this layer) map to their
#: bases.
_BY_CODE: dict[str, type[RequestError]] = {
    **{
        cls.code: cls
        for cls in (
            ConstraintViolation,
            Unauthenticated,
            PermissionDenied,
            NotFound,
            Conflict,
            ReplayedUpload,
            RateLimited,
            Unavailable,
        )
    },
    "namespace_disabled": ConstraintViolation,
    "evidence_recorded": ConstraintViolation,
    "evidence_unresolved": ConstraintViolation,
    "unauthorized": Unauthenticated,
    "proof_unavailable": Unavailable,
    "verification_in_progress": Unavailable,
}


def http_status(exc: GlasskeyError, default: int = 500) -> int:
    """The HTTP status that answers ``exc``: the first class in its MRO that has one."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return default


def error_of_body(content: bytes) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error body in either shape; ``None`` for what is not there."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):  # the directory's shape
        code, message = error.get("code"), error.get("message")
    else:  # the auditor's (Plexi) shape
        code, message = error, body.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def error_class(status: int, code: str | None) -> type[RequestError]:
    """The class that describes an error answer ``(status, code)``.

    A code this vocabulary knows wins when it fits the status. Otherwise the status decides;
    a bare ``400`` without any code is how Plexi servers report a publication rule
    (``ConstraintViolation``), while a ``400`` naming some other code stays a plain
    ``RequestError``.
    """
    by_code = _BY_CODE.get(code) if code is not None else None
    if by_code is not None and STATUS[by_code] == status:
        return by_code
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status == 400 and code is None:
        return ConstraintViolation
    return RequestError


def server_error_text(status: int, code: str, message: str) -> str:
    return f"server error {status} ({code}): {message}"


def error_from_http(
    status: int,
    content: bytes,
    describe: Callable[[int, str, str], str] = server_error_text,
) -> RequestError:
    """The typed error for an HTTP error answer (``status``, raw ``content``).

    ``describe(status, code, message)`` words it; without a code in the body ``code`` is
    ``http_error``, without a message it is the body's first 200 characters.
    """
    code, message = error_of_body(content)
    if message is None:
        message = content[:200].decode("utf-8", "replace")
    text = describe(status, code or "http_error", message)
    return error_class(status, code)(text, status=status, server_code=code)


__all__ = [
    "STATUS",
    "error_class",
    "error_from_http",
    "error_of_body",
    "http_status",
    "server_error_text",
]
