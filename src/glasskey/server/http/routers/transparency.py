"""Transparency data: the signed root log, its proofs, audit proofs, the keys to pin.

Every proof comes with the signed checkpoint that covers its epoch and an RFC 6962 inclusion
proof of that epoch in the root log, plus — when the client says which log size it saw last
(``known_size``) — a consistency proof from there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from glasskey.api.wire import (
    AuditLogResponse,
    AuditorResponse,
    AuditProofResponse,
    ConsistencyResponse,
    GossipRequest,
    GossipResponse,
    InclusionResponse,
    KeysResponse,
    RootResponse,
)
from glasskey.server.http import encoding
from glasskey.server.http.deps import KnownSize, service_of, wants_protobuf

router = APIRouter(tags=["transparency"])

Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/api/transparency/root", response_model=RootResponse)
def get_root(request: Request, known_size: KnownSize = None) -> Response:
    """The newest signed checkpoint and the epoch it commits to."""
    return encoding.json_response(encoding.root_model(service_of(request).reads.root(known_size)))


@router.get("/api/transparency/consistency", response_model=ConsistencyResponse)
def get_consistency(
    request: Request,
    from_size: Annotated[int, Query(alias="from", ge=0, le=2**62)],
    to_size: Annotated[int, Query(alias="to", ge=0, le=2**62)],
) -> Response:
    """RFC 6962 consistency proof between two root-log sizes."""
    consistency = service_of(request).reads.consistency(from_size, to_size)
    return encoding.json_response(encoding.consistency_model(consistency))


@router.get("/api/transparency/inclusion", response_model=InclusionResponse)
async def get_inclusion(
    request: Request,
    user_id: Annotated[str | None, Query(max_length=256)] = None,
    root: Annotated[str | None, Query(max_length=64, description="An epoch root (hex).")] = None,
    known_size: KnownSize = None,
) -> Response:
    """Inclusion in the signed root log: of an epoch ``root`` and/or of ``user_id``'s key.

    With ``root``: the RFC 6962 inclusion proof of that epoch's (epoch, root) leaf in the
    newest checkpoint. With ``user_id``: its lookup proof (an inclusion proof in the
    current epoch's AKD tree) with that epoch's root-log inclusion proof.
    """
    found = await service_of(request).reads.inclusion(user_id, root, known_size)
    return encoding.json_response(encoding.inclusion_model(found))


@router.get("/api/transparency/audit-log", response_model=AuditLogResponse)
def get_audit_log(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
    """Recent epochs' signed roots, newest first, with the checkpoint committing to them."""
    return encoding.json_response(
        encoding.audit_log_model(service_of(request).reads.audit_log(limit))
    )


@router.get(
    "/api/transparency/audit",
    response_model=AuditProofResponse,
    responses=encoding.PROTOBUF_RESPONSES,
)
def get_audit(request: Request, start: Size, end: Size) -> Response:
    """AKD append-only (audit) proof from epoch ``start`` towards ``end``, a page at a time.

    A page covers at most 16 epochs (fewer if their proofs are large): its ``end`` is where
    it stops, and ``next`` (also a ``Link: <...>; rel="next"`` header, the only pointer in
    a protobuf answer) is the URL of the next page, until the asked ``end`` is reached.
    """
    protobuf = wants_protobuf(request)
    audit = service_of(request).reads.audit_proof(start, end, with_roots=not protobuf)
    if protobuf:
        return encoding.audit_protobuf(audit)
    return encoding.audit_response(audit)


@router.get("/api/transparency/auditor", response_model=AuditorResponse)
def get_auditor(request: Request) -> Response:
    """The auditor that countersigns this log: URL, namespace, its keys, newest signature.

    The keys are the ones the last stored signature verified under. They are for display
    and debugging: a client must pin the auditor's key from the auditor (or its app),
    never take it from the log it is meant to check.
    """
    return encoding.json_response(encoding.auditor_model(service_of(request).reads.auditor_info()))


@router.get("/api/transparency/keys", response_model=KeysResponse)
def get_keys(request: Request) -> Response:
    """The public keys clients pin: the log's note verifier key and the VRF key."""
    return encoding.json_response(encoding.keys_model(service_of(request).reads.log_keys()))


@router.post("/api/transparency/gossip", response_model=GossipResponse)
def post_gossip(request: Request, body: GossipRequest) -> Response:
    """Drop a checkpoint of this log seen elsewhere; the answer is this log's own view.

    A checkpoint signed by this log's key but not in its tree (``fork``) is kept as evidence.
    A note not signed by this log is refused (400, ``constraint_violation``).
    """
    answer = service_of(request).gossip.receive(body.checkpoint)
    return encoding.json_response(
        GossipResponse.model_construct(
            status=answer.status, size=answer.size, checkpoint=answer.head.note
        )
    )
