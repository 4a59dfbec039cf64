"""Lookups: a user's current key and key history, each with its proof."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from glasskey.api.wire import BundleResponse, HistoryResponse
from glasskey.server.http import encoding
from glasskey.server.http.deps import KnownSize, UserId, service_of, wants_protobuf

router = APIRouter(tags=["lookup"])


@router.get(
    "/api/crypto/bundles/{user_id}",
    response_model=BundleResponse,
    responses=encoding.PROTOBUF_RESPONSES,
)
async def get_bundle(request: Request, user_id: UserId, known_size: KnownSize = None) -> Response:
    """A user's current key with its AKD lookup proof and the signed checkpoint."""
    bundle = await service_of(request).reads.bundle(user_id, known_size)
    if wants_protobuf(request):
        return encoding.bundle_protobuf(bundle)
    return encoding.json_response(encoding.bundle_model(bundle))


@router.get(
    "/api/crypto/history/{user_id}",
    response_model=HistoryResponse,
    responses=encoding.PROTOBUF_RESPONSES,
)
def get_history(
    request: Request,
    user_id: UserId,
    most_recent: Annotated[
        int | None, Query(ge=1, le=10_000, description="MostRecent(n); omit for Complete.")
    ] = None,
    known_size: KnownSize = None,
) -> Response:
    """Key history (``Complete`` or ``MostRecent(n)``) with its AKD history proof."""
    history = service_of(request).reads.history(user_id, most_recent, known_size)
    if wants_protobuf(request):
        return encoding.history_protobuf(history)
    return encoding.json_response(encoding.history_model(history))
