"""The key owner's routes: register, upload a key, follow an upload; and the admin's:
reissue or revoke a user's token, issue or revoke a service credential (backend mode)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from glasskey.api.wire import (
    ErrorResponse,
    KeyUpload,
    RegisterRequest,
    RegisterResponse,
    ServiceCredentialRequest,
    ServiceCredentialResponse,
    UpdateReceipt,
)
from glasskey.core.errors import RateLimited, UsageError
from glasskey.server.http import encoding
from glasskey.server.http.deps import Authorization, Principal, UserId, service_of
from glasskey.server.http.errors import error_response_for

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
    target = body.user_id or user.user_id
    if target is None:
        raise UsageError(
            f"user_id is required: {user.name} uploads on behalf of users and must say whose "
            "key this is"
        )
    if user.service is not None:
        # The per-user write limit, for the user the service uploads for (the write guard
        # could not know it before the body was read).
        allowed, retry = request.app.state.user_writes.allow(target)
        if not allowed:
            return error_response_for(
                RateLimited("too many key uploads for this user; slow down"),
                {"Retry-After": str(max(1, round(retry)))},
            )
    update = await service_of(request).uploads.upload(user, target, value, wait, upload_id)
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


_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {**_AUTH_ERRORS, 404: {"model": ErrorResponse}}


@router.post(
    "/api/admin/users/{user_id}/token",
    response_model=RegisterResponse,
    status_code=201,
    responses=_ADMIN_ERRORS,
    tags=["admin"],
)
def reissue_token(
    request: Request, user_id: UserId, authorization: Authorization = None
) -> Response:
    """Admin: replace a registered user's bearer token (a reinstalled app lost it). Every
    earlier token of the user stops working at once; the new one is shown only here."""
    user, token = service_of(request).uploads.reissue_token(user_id, authorization)
    return encoding.json_response(encoding.register_model(user, token), 201)


@router.delete(
    "/api/admin/users/{user_id}/token", status_code=204, responses=_ADMIN_ERRORS, tags=["admin"]
)
def revoke_token(
    request: Request, user_id: UserId, authorization: Authorization = None
) -> Response:
    """Admin: revoke a user's token (a stolen device). The id stays registered — nobody
    else can claim it — until the admin reissues a token."""
    service_of(request).uploads.revoke_token(user_id, authorization)
    return Response(status_code=204)


@router.post(
    "/api/admin/service-credentials",
    response_model=ServiceCredentialResponse,
    status_code=201,
    responses={**_AUTH_ERRORS, 409: {"model": ErrorResponse}},
    tags=["admin"],
)
def issue_service_credential(
    request: Request, body: ServiceCredentialRequest, authorization: Authorization = None
) -> Response:
    """Admin: a service credential for the app's backend (backend mode). It uploads keys on
    behalf of any user (``user_id`` in the upload) and follows those uploads, nothing else.
    Shown only here, stored hashed; ``replace`` rotates an existing one."""
    token = service_of(request).uploads.issue_service(
        body.name, authorization, replace=body.replace
    )
    answer = ServiceCredentialResponse.model_construct(name=body.name, token=token, scope="upload")
    return encoding.json_response(answer, 201)


@router.delete(
    "/api/admin/service-credentials/{name}",
    status_code=204,
    responses=_ADMIN_ERRORS,
    tags=["admin"],
)
def revoke_service_credential(
    request: Request,
    name: Annotated[str, Path(max_length=64, description="The credential's name.")],
    authorization: Authorization = None,
) -> Response:
    """Admin: revoke a service credential; it stops working at once, in every worker."""
    service_of(request).uploads.revoke_service(name, authorization)
    return Response(status_code=204)
