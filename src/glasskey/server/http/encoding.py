"""The service's answers as the wire contract's models (``glasskey.api.wire``), JSON or protobuf.

Every JSON body is one of the contract's models, so the shapes the client parses are the ones
written here; binary values travel as the models' field types encode them (keys and proofs
base64, hashes hex). Where a proof is returned, ``Accept: application/x-protobuf`` gets the AKD
protobuf bytes as the body and the signed state in ``X-Glasskey-*`` headers
(``glasskey.api.headers``).

Models are built with ``model_construct`` and written with ``model_dump_json``: the values
are the server's own, and FastAPI's response validation of them cost about a third of a lookup.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from glasskey.api.headers import PROTOBUF, signed_state_headers
from glasskey.api.wire import (
    MAX_KEY_BYTES,
    AbsenceResponse,
    AuditLogEntry,
    AuditLogResponse,
    AuditorKey,
    AuditorResponse,
    AuditProofResponse,
    BlobListResponse,
    BundleResponse,
    ConsistencyResponse,
    ErrorBody,
    Health,
    HistoryResponse,
    HistoryVersion,
    InclusionResponse,
    KeysResponse,
    NotFoundResponse,
    RegisterResponse,
    RootResponse,
    SignedState,
    UpdateReceipt,
    VersionResponse,
)
from glasskey.core.akd.wire import (
    encode_history_proof,
    encode_lookup_proof,
    encode_update_proof,
)
from glasskey.core.errors import UsageError
from glasskey.server._results import (
    Absence,
    AuditLog,
    AuditorInfo,
    AuditProof,
    Bundle,
    Consistency,
    History,
    LogKeys,
    Readiness,
    Root,
    StateProof,
    UpdateStatus,
    VersionBundle,
)

#: The OpenAPI note on routes that answer protobuf when asked.
PROTOBUF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}}}
}


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as the JSON body, serialised straight from the model."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def decode_key(text: str) -> bytes:
    """An uploaded key from its base64 form: not empty and at most ``MAX_KEY_BYTES``."""
    try:
        value = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise UsageError("key is not valid base64") from None
    if not value:
        raise UsageError("key must not be empty")
    if len(value) > MAX_KEY_BYTES:
        raise UsageError(f"key is {len(value)} bytes, over the limit of {MAX_KEY_BYTES}")
    return value


def required_upload_id(upload_id: str | None) -> str:
    """An upload over HTTP must name itself: without an id a replayed request is a new upload.

    Clients from before upload ids are refused with this message rather than served without
    replay protection: every glasskey client sends one.
    """
    if upload_id is None:
        raise UsageError(
            "upload_id is required: send a fresh random id (16-64 characters A-Z a-z 0-9 _ -) "
            "with every upload; a repeated id is a retry or a refused replay"
        )
    return upload_id


# -- proofs and the signed state they are valid in ------------------------------------------------


def _state_fields(state: StateProof) -> dict[str, Any]:
    """The ``SignedState`` fields of ``state``, for the models' ``model_construct``."""
    snapshot = state.snapshot
    signature, latest = state.auditor_signature, state.auditor_latest
    return {
        "epoch": snapshot.epoch_hash.epoch,
        "root_hash": snapshot.epoch_hash.root_hash,
        "checkpoint": snapshot.checkpoint.note,
        "tree_size": snapshot.checkpoint.size,
        "log_inclusion": state.log_inclusion,
        "consistency_from": state.consistency_from,
        "log_consistency": state.log_consistency,
        "auditor_signature": None if signature is None else signature.to_json_dict(),
        "auditor_latest": None if latest is None else latest.to_json_dict(),
    }


def signed_state(state: StateProof) -> SignedState:
    return SignedState.model_construct(**_state_fields(state))


def proto_response(body: bytes, state: StateProof) -> Response:
    """A protobuf proof as the body, the signed state it is valid in as headers."""
    return Response(body, media_type=PROTOBUF, headers=signed_state_headers(signed_state(state)))


def _bundle_fields(bundle: Bundle) -> dict[str, Any]:
    proof = bundle.proof
    return {
        "user_id": bundle.user_id,
        "key": proof.value,
        "version": proof.version,
        "published_epoch": proof.epoch,
        "published_at": bundle.published_at,
        "proof": encode_lookup_proof(proof),
        **_state_fields(bundle.state),
    }


def bundle_protobuf(bundle: Bundle) -> Response:
    return proto_response(encode_lookup_proof(bundle.proof), bundle.state)


def bundle_model(bundle: Bundle) -> BundleResponse:
    return BundleResponse.model_construct(**_bundle_fields(bundle))


def history_protobuf(history: History) -> Response:
    return proto_response(encode_history_proof(history.proof), history.state)


def history_model(history: History) -> HistoryResponse:
    most_recent = history.most_recent
    return HistoryResponse.model_construct(
        user_id=history.user_id,
        params="complete" if most_recent is None else f"most_recent:{most_recent}",
        versions=[
            HistoryVersion.model_construct(
                version=u.version, epoch=u.epoch, key=u.value, published_at=at
            )
            for u, at in zip(history.proof.update_proofs, _times(history), strict=True)
        ],
        proof=encode_history_proof(history.proof),
        **_state_fields(history.state),
    )


def _times(history: History) -> tuple[float | None, ...]:
    count = len(history.proof.update_proofs)
    return history.published_at if len(history.published_at) == count else (None,) * count


def inclusion_model(found: Bundle | StateProof) -> InclusionResponse:
    """A user's bundle fields with their signed state, or an epoch's signed state alone."""
    if isinstance(found, Bundle):
        return InclusionResponse.model_construct(**_bundle_fields(found))
    return InclusionResponse.model_construct(**_state_fields(found))


# -- key owner ------------------------------------------------------------------------------------


def register_model(user_id: str, token: str) -> RegisterResponse:
    return RegisterResponse.model_construct(user_id=user_id, token=token)


def update_model(update: UpdateStatus) -> UpdateReceipt:
    receipt = update.receipt
    return UpdateReceipt.model_construct(
        update_id=receipt.update_id,
        user_id=receipt.user_id,
        value_sha256=receipt.value_sha256.hex(),
        accepted_at=receipt.accepted_at,
        status=update.status,
        epoch=update.epoch,
        bundle=None if update.bundle is None else bundle_model(update.bundle),
    )


# -- transparency ---------------------------------------------------------------------------------


def root_model(root: Root) -> RootResponse:
    return RootResponse.model_construct(
        origin=root.origin,
        signed_at=root.state.snapshot.checkpoint.signed_at,
        **_state_fields(root.state),
    )


def consistency_model(consistency: Consistency) -> ConsistencyResponse:
    return ConsistencyResponse.model_construct(
        from_size=consistency.from_size,
        to_size=consistency.to_size,
        proof=consistency.proof,
        to_root=consistency.to_root,
    )


def audit_log_model(audit_log: AuditLog) -> AuditLogResponse:
    signature = audit_log.auditor_signature
    return AuditLogResponse.model_construct(
        entries=[
            AuditLogEntry.model_construct(
                epoch=e.epoch, root_hash=e.root_hash, appended_at=e.appended_at
            )
            for e in audit_log.entries
        ],
        checkpoint=audit_log.checkpoint.note if audit_log.checkpoint else None,
        auditor_signature=None if signature is None else signature.to_json_dict(),
    )


def audit_next(audit: AuditProof) -> str | None:
    """The URL of the page after ``audit``, or None when it reached the asked end."""
    if audit.end >= audit.requested_end:
        return None
    return f"/api/transparency/audit?start={audit.end}&end={audit.requested_end}"


def _next_link(audit: AuditProof) -> dict[str, str]:
    following = audit_next(audit)
    return {"Link": f'<{following}>; rel="next"'} if following else {}


def audit_protobuf(audit: AuditProof) -> Response:
    return Response(audit.proof, media_type=PROTOBUF, headers=_next_link(audit))


def audit_response(audit: AuditProof) -> Response:
    model = AuditProofResponse.model_construct(
        start=audit.start,
        end=audit.end,
        hashes=audit.roots,
        proof=audit.proof,
        next=audit_next(audit),
    )
    response = json_response(model)
    response.headers.update(_next_link(audit))
    return response


def blob_list_model(names: list[str]) -> BlobListResponse:
    return BlobListResponse.model_construct(blobs=names)


def auditor_model(info: AuditorInfo | None) -> AuditorResponse:
    if info is None:
        return AuditorResponse.model_construct(
            configured=False, url=None, namespace=None, keys=[], latest=None, status=None
        )
    return AuditorResponse.model_construct(
        configured=True,
        url=info.url,
        namespace=info.namespace,
        keys=[
            AuditorKey.model_construct(
                public_key=k.public_key, not_before=k.not_before, key_id=k.key_id
            )
            for k in info.keys
        ],
        latest=None if info.latest is None else info.latest.to_json_dict(),
        status=info.status.to_json_dict(),
    )


def keys_model(keys: LogKeys) -> KeysResponse:
    domain = keys.domain_label
    return KeysResponse.model_construct(
        origin=keys.origin,
        log_public_key=keys.log_public_key,
        vrf_public_key=keys.vrf_public_key,
        configuration=keys.configuration,
        domain_label=domain.decode("utf-8", "replace") if domain else None,
        max_publication_delay=keys.max_publication_delay,
        checkpoint_refresh=keys.checkpoint_refresh,
        user_id_policy=keys.user_id_policy,
    )


# -- operations -----------------------------------------------------------------------------------


def alive_model() -> Health:
    return Health.model_construct(
        status="ok", epoch=None, publisher=None, queue_depth=None, auditor=None, replica=None
    )


def readiness_model(readiness: Readiness) -> Health:
    auditor = readiness.auditor
    return Health.model_construct(
        status="ready",
        epoch=readiness.epoch,
        publisher=readiness.publisher,
        queue_depth=readiness.queue_depth,
        auditor=None if auditor is None else auditor.to_json_dict(),
        witnesses=[w.to_json_dict() for w in readiness.witnesses] or None,
        replica=None if readiness.replica is None else readiness.replica.to_json_dict(),
    )


# -- fixed-version search and proofs of absence -------------------------------------------------


def version_model(found: VersionBundle) -> VersionResponse:
    proof = found.proof
    return VersionResponse.model_construct(
        user_id=found.user_id,
        key=proof.value,
        version=proof.version,
        published_epoch=proof.epoch,
        proof=encode_update_proof(proof),
        **_state_fields(found.state),
    )


def absence_response(absence: Absence) -> Response:
    """The 404 for a user that never published: the usual error body plus ``absence``, the
    proof of it in the signed state (old clients read only ``error``)."""
    vrf_proof, non_membership = absence.proof.encoded()
    body = NotFoundResponse.model_construct(
        error=ErrorBody(
            code="not_found",
            message=f"{absence.user_id} has no published key (proof of absence attached)",
        ),
        absence=AbsenceResponse.model_construct(
            user_id=absence.user_id,
            vrf_proof=vrf_proof,
            non_membership_proof=non_membership,
            **_state_fields(absence.state),
        ),
    )
    return json_response(body, status_code=404)
