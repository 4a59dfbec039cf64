"""The key owner's routes: register, upload a key, follow an upload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from glasskey.api.wire import (
    ErrorResponse,
    KeyUpload,
    RegisterRequest,
    RegisterResponse,
    UpdateReceipt,
)
from glasskey.server.http import encoding
from glasskey.server.http.deps import Authorization, Principal, service_of

router = APIRouter(tags=["keys"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.post(
    "/api/auth/register",
    response_model=RegisterResponse,
    status_code=201,
    responses={**_AUTH_ERRORS, 409: {"model": ErrorResponse}},
)
def register(
    request: Request, body: RegisterRequest, authorization: Authorization = None
) -> Response:
    """Register a user id and get its bearer token (shown only once, stored hashed).

    Needs the admin token unless the server runs with open registration.
    """
    user_id, token = service_of(request).uploads.register(body.user_id, authorization)
    return encoding.json_response(encoding.register_model(user_id, token), 201)


@router.post(
    "/api/crypto/keys/identity",
    response_model=UpdateReceipt,
    status_code=202,
    responses={**_AUTH_ERRORS, 409: {"model": ErrorResponse}},
)
async def upload_key(
    request: Request,
    body: KeyUpload,
    user: Principal,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for publication.")] = 0,
) -> Response:
    """Queue a new identity key for the authenticated user (keys are never deleted:
    revoking is uploading a new one). Returns the receipt; with ``wait`` it also waits
    for the next epoch and includes the lookup proof once published.

    ``upload_id`` is required: the same id again is answered with the same receipt while it
    is your newest upload (a retry), and refused with 409 ``replayed_upload`` otherwise."""
    value = encoding.decode_key(body.key)
    upload_id = encoding.required_upload_id(body.upload_id)
    update = await service_of(request).uploads.upload(
        user, body.user_id or user, value, wait, upload_id
    )
    return encoding.json_response(encoding.update_model(update), 202)


@router.get(
    "/api/crypto/keys/identity/updates/{update_id}",
    response_model=UpdateReceipt,
    responses=_AUTH_ERRORS,
)
async def update_status(
    request: Request, update_id: Annotated[int, Path(ge=0, le=2**62)], user: Principal
) -> Response:
    """Status of one of your updates; once published, the current lookup proof."""
    update = await service_of(request).uploads.update_status(user, update_id)
    return encoding.json_response(encoding.update_model(update))
