"""The AKD audit blobs: their listing (also as an S3 bucket listing) and their bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from glasskey.api.wire import BlobListResponse
from glasskey.server.http import encoding
from glasskey.server.http.deps import service_of
from glasskey.server.http.s3 import decode_continuation, list_objects_v2

router = APIRouter(tags=["transparency"])


@router.get(
    "/api/transparency/blobs",
    response_model=BlobListResponse,
    responses={200: {"content": {"application/xml": {}}}},
)
def list_blobs(
    request: Request,
    list_type: Annotated[
        int | None,
        Query(alias="list-type", ge=2, le=2, description="2: S3 ListObjectsV2 XML listing."),
    ] = None,
    prefix: Annotated[str, Query(max_length=200)] = "",
    start_after: Annotated[str | None, Query(alias="start-after", max_length=200)] = None,
    continuation_token: Annotated[
        str | None, Query(alias="continuation-token", max_length=300)
    ] = None,
    max_keys: Annotated[int, Query(alias="max-keys", ge=0, le=1000)] = 1000,
) -> Response:
    """Names of the AKD audit blobs (``{epoch}/{previous_root}/{root}``).

    With ``list-type=2`` the answer is an S3 ListObjectsV2 XML document instead, which is
    what auditors that read WhatsApp's S3/CloudFront proof buckets (glasskey's worker,
    akd's auditor) expect: so this URL can be a namespace's ``log_directory``.
    """
    reads = service_of(request).reads
    names = reads.blob_names()
    if list_type is None:
        return encoding.json_response(encoding.blob_list_model(names))
    after = start_after if continuation_token is None else decode_continuation(continuation_token)
    return Response(
        list_objects_v2(names, prefix, after, start_after, continuation_token, max_keys,
                        sizes=reads.blob_size),
        media_type="application/xml",
    )  # fmt: skip


@router.get(
    "/api/transparency/blobs/{name:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_blob(request: Request, name: Annotated[str, Path(max_length=200)]) -> Response:
    """One audit blob's bytes (a protobuf SingleAppendOnlyProof)."""
    return Response(service_of(request).reads.blob(name), media_type="application/octet-stream")
