"""One error vocabulary: each class's HTTP status, and the way back from an error answer."""

from __future__ import annotations

import json

import pytest

from glasskey.api.errors import error_class, error_from_http, http_status
from glasskey.auditor._service import NamespaceDisabled, Unauthorized
from glasskey.client import NotFound as ClientNotFound
from glasskey.client import ServerError
from glasskey.core.errors import (
    ConfigurationError,
    Conflict,
    ConstraintViolation,
    GlasskeyError,
    LookupProofError,
    MalformedError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestError,
    SignatureError,
    Unauthenticated,
    Unavailable,
    UsageError,
)
from glasskey.directory import InvalidEpoch, InvalidUpdate, LabelNotFound, StoreCorrupted
from glasskey.server._countersign import CountersignError

_STATUSES: list[tuple[GlasskeyError, int, str]] = [
    (UsageError("x"), 400, "usage"),
    (ConfigurationError("x"), 400, "configuration"),
    (MalformedError("x"), 400, "malformed"),
    (InvalidEpoch("x"), 400, "invalid_epoch"),
    (InvalidUpdate("x"), 400, "invalid_update"),
    (ConstraintViolation("x"), 400, "constraint_violation"),
    (NamespaceDisabled(), 400, "namespace_disabled"),
    (Unauthenticated("x"), 401, "unauthenticated"),
    (Unauthorized("x"), 401, "unauthorized"),
    (PermissionDenied("x"), 403, "forbidden"),
    (NotFound("x"), 404, "not_found"),
    (LabelNotFound("x"), 404, "not_found"),
    (Conflict("x"), 409, "conflict"),
    (RateLimited("x"), 429, "rate_limited"),
    (Unavailable("x"), 503, "unavailable"),
]


@pytest.mark.parametrize(("exc", "status", "code"), _STATUSES)
def test_every_outcome_has_its_status_and_code(exc: GlasskeyError, status: int, code: str) -> None:
    assert (http_status(exc), exc.code) == (status, code)


@pytest.mark.parametrize(
    "exc",
    [GlasskeyError("x"), LookupProofError("x"), SignatureError("x"), StoreCorrupted("x"),
     CountersignError("x"), RequestError("x")],
)  # fmt: skip
def test_errors_without_a_status_take_the_callers_default(exc: GlasskeyError) -> None:
    assert http_status(exc) == 500  # the server: a glasskey bug
    assert http_status(exc, default=400) == 400  # the auditor: Plexi calls it a bad request


def _directory_body(code: str, message: str = "m") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _plexi_body(code: str, message: str = "m") -> bytes:
    return json.dumps({"error": code, "message": message}).encode()


_OUTCOMES: list[tuple[int, str, type[RequestError]]] = [
    (400, "constraint_violation", ConstraintViolation),
    (400, "namespace_disabled", ConstraintViolation),
    (400, "usage", RequestError),
    (400, "malformed", RequestError),
    (401, "unauthenticated", Unauthenticated),
    (401, "unauthorized", Unauthenticated),
    (403, "forbidden", PermissionDenied),
    (404, "not_found", NotFound),
    (409, "conflict", Conflict),
    (429, "rate_limited", RateLimited),
    (503, "unavailable", Unavailable),
]


@pytest.mark.parametrize(("status", "code", "cls"), _OUTCOMES)
def test_an_answer_maps_back_to_its_outcome(
    status: int, code: str, cls: type[RequestError]
) -> None:
    for body in (_directory_body(code), _plexi_body(code)):
        error = error_from_http(status, body)
        assert type(error) is cls
        assert (error.status, error.server_code) == (status, code)


def test_every_outcome_survives_the_round_trip() -> None:
    for exc, status, code in _STATUSES:
        if isinstance(exc, RequestError):
            back = error_from_http(status, _directory_body(exc.code))
            assert isinstance(exc, type(back)) and back.code in (code, type(back).code)


def test_status_decides_when_the_code_is_unknown_or_missing() -> None:
    assert error_class(404, "http_error") is NotFound  # a route that does not exist
    assert error_class(401, "unauthorized") is Unauthenticated  # the auditor's own code
    assert error_class(400, None) is ConstraintViolation  # a Plexi server's bare text 400
    assert error_class(400, "usage") is RequestError  # a named code that is no outcome
    assert error_class(500, "internal") is RequestError
    assert error_class(404, "conflict") is NotFound  # a code that contradicts its status


def test_plain_text_and_garbage_bodies() -> None:
    error = error_from_http(400, b"Epoch 3 already published")
    assert isinstance(error, ConstraintViolation) and error.server_code is None
    assert str(error) == "server error 400 (http_error): Epoch 3 already published"
    error = error_from_http(502, b"\xff" * 300)
    assert type(error) is RequestError and len(str(error)) < 300
    worded = error_from_http(404, _plexi_body("not_found", "gone"), lambda s, c, m: f"{s}/{c}/{m}")
    assert str(worded) == "404/not_found/gone"


def test_the_clients_names_still_work() -> None:
    error = error_from_http(404, _directory_body("not_found", "no such label"))
    assert isinstance(error, ClientNotFound) and isinstance(error, ServerError)
    assert error.status == 404 and error.code == "not_found"
    assert str(error) == "server error 404 (not_found): no such label"
    conflict = error_from_http(409, _directory_body("conflict"))
    assert isinstance(conflict, ServerError) and conflict.status == 409
