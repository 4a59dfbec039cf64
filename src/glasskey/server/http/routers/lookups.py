"""Lookups: a user's current key and key history, each with its proof."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from glasskey.api.wire import BundleResponse, HistoryResponse, NotFoundResponse, VersionResponse
from glasskey.server._results import Absence, VersionBundle
from glasskey.server.http import encoding
from glasskey.server.http.deps import KnownSize, UserId, service_of, wants_protobuf

router = APIRouter(tags=["lookup"])

_BUNDLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **encoding.PROTOBUF_RESPONSES,
    404: {
        "model": NotFoundResponse,
        "description": "No such key. For a user that never published, ``absence`` carries "
        "the proof: the VRF proof of the label's version 1 and the non-membership proof of "
        "that node in the signed epoch.",
    },
}


@router.get(
    "/api/crypto/bundles/{user_id}",
    response_model=BundleResponse | VersionResponse,
    responses=_BUNDLE_RESPONSES,
)
async def get_bundle(
    request: Request,
    user_id: UserId,
    known_size: KnownSize = None,
    version: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**63 - 1,
            description="Fixed-version search: that version, proven in the current tree "
            "(a VersionResponse) instead of the current one.",
        ),
    ] = None,
) -> Response:
    """A user's current key (or ``version``) with its AKD proof and the signed checkpoint."""
    found = await service_of(request).reads.lookup(user_id, known_size, version)
    if isinstance(found, Absence):
        return encoding.absence_response(found)
    if isinstance(found, VersionBundle):
        return encoding.json_response(encoding.version_model(found))
    if wants_protobuf(request):
        return encoding.bundle_protobuf(found)
    return encoding.json_response(encoding.bundle_model(found))


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
