"""The JSON and protobuf forms of the service's answers.

Binary values (keys, proofs) are base64 in JSON; hashes are lower-case hex; checkpoints are
C2SP signed-note text. Where a proof is returned, ``Accept: application/x-protobuf`` gets the
AKD protobuf bytes as the body and the signed state in ``X-Glasskey-*`` headers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import Response

from glasskey.core.akd.wire import (
    encode_append_only_proof,
    encode_history_proof,
    encode_lookup_proof,
)
from glasskey.core.errors import UsageError
from glasskey.server.http.schemas import MAX_KEY_BYTES
from glasskey.server.results import (
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
)

PROTOBUF = "application/x-protobuf"
#: The OpenAPI note on routes that answer protobuf when asked.
PROTOBUF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}}}
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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


# -- proofs and the signed state they are valid in ------------------------------------------------


def state_json(state: StateProof) -> dict[str, Any]:
    snapshot = state.snapshot
    return {
        "epoch": snapshot.epoch_hash.epoch,
        "root_hash": snapshot.epoch_hash.root_hash.hex(),
        "checkpoint": snapshot.checkpoint.note,
        "tree_size": snapshot.checkpoint.size,
        "log_inclusion": [h.hex() for h in state.log_inclusion],
        "consistency_from": state.consistency_from,
        "log_consistency": (
            None if state.log_consistency is None else [h.hex() for h in state.log_consistency]
        ),
        "auditor_signature": (
            None if state.auditor_signature is None else state.auditor_signature.to_json_dict()
        ),
    }


def proto_response(body: bytes, state: StateProof) -> Response:
    """A protobuf proof as the body, the signed state it is valid in as headers."""
    snapshot = state.snapshot
    headers = {
        "X-Glasskey-Epoch": str(snapshot.epoch_hash.epoch),
        "X-Glasskey-Root-Hash": snapshot.epoch_hash.root_hash.hex(),
        "X-Glasskey-Tree-Size": str(snapshot.checkpoint.size),
        "X-Glasskey-Checkpoint": b64(snapshot.checkpoint.note.encode("utf-8")),
        "X-Glasskey-Log-Inclusion": ",".join(h.hex() for h in state.log_inclusion),
    }
    if state.log_consistency is not None:
        headers["X-Glasskey-Log-Consistency"] = ",".join(h.hex() for h in state.log_consistency)
    if state.auditor_signature is not None:
        signature = json.dumps(state.auditor_signature.to_json_dict(), separators=(",", ":"))
        headers["X-Glasskey-Auditor-Signature"] = b64(signature.encode("utf-8"))
    return Response(body, media_type=PROTOBUF, headers=headers)


def bundle_protobuf(bundle: Bundle) -> Response:
    return proto_response(encode_lookup_proof(bundle.proof), bundle.state)


def bundle_json(bundle: Bundle) -> dict[str, Any]:
    proof = bundle.proof
    return {
        "user_id": bundle.user_id,
        "key": b64(proof.value),
        "version": proof.version,
        "published_epoch": proof.epoch,
        "proof": b64(encode_lookup_proof(proof)),
        **state_json(bundle.state),
    }


def history_protobuf(history: History) -> Response:
    return proto_response(encode_history_proof(history.proof), history.state)


def history_json(history: History) -> dict[str, Any]:
    most_recent = history.most_recent
    return {
        "user_id": history.user_id,
        "params": "complete" if most_recent is None else f"most_recent:{most_recent}",
        "versions": [
            {"version": u.version, "epoch": u.epoch, "key": b64(u.value)}
            for u in history.proof.update_proofs
        ],
        "proof": b64(encode_history_proof(history.proof)),
        **state_json(history.state),
    }


def update_json(update: UpdateStatus) -> dict[str, Any]:
    receipt = update.receipt
    return {
        "update_id": receipt.update_id,
        "user_id": receipt.user_id,
        "value_sha256": receipt.value_sha256.hex(),
        "accepted_at": receipt.accepted_at,
        "status": update.status,
        "epoch": update.epoch,
        "bundle": None if update.bundle is None else bundle_json(update.bundle),
    }


# -- transparency ---------------------------------------------------------------------------------


def root_json(root: Root) -> dict[str, Any]:
    return {
        "origin": root.origin,
        "signed_at": root.state.snapshot.checkpoint.signed_at,
        **state_json(root.state),
    }


def consistency_json(consistency: Consistency) -> dict[str, Any]:
    return {
        "from": consistency.from_size,
        "to": consistency.to_size,
        "proof": [h.hex() for h in consistency.proof],
        "to_root": consistency.to_root.hex(),
    }


def audit_log_json(audit_log: AuditLog) -> dict[str, Any]:
    signature = audit_log.auditor_signature
    return {
        "entries": [
            {"epoch": e.epoch, "root_hash": e.root_hash.hex(), "appended_at": e.appended_at}
            for e in audit_log.entries
        ],
        "checkpoint": audit_log.checkpoint.note if audit_log.checkpoint else None,
        "auditor_signature": None if signature is None else signature.to_json_dict(),
    }


def audit_protobuf(audit: AuditProof) -> Response:
    return Response(encode_append_only_proof(audit.proof), media_type=PROTOBUF)


def audit_json(audit: AuditProof) -> dict[str, Any]:
    return {
        "start": audit.start,
        "end": audit.end,
        "hashes": [r.hex() for r in audit.roots],
        "proof": b64(encode_append_only_proof(audit.proof)),
    }


def auditor_json(info: AuditorInfo | None) -> dict[str, Any]:
    if info is None:
        return {"configured": False}
    return {
        "configured": True,
        "url": info.url,
        "namespace": info.namespace,
        "keys": [
            {"public_key": k.public_key.hex(), "not_before": k.not_before, "key_id": k.key_id}
            for k in info.keys
        ],
        "latest": None if info.latest is None else info.latest.to_json_dict(),
        "status": info.status.to_json_dict(),
    }


def keys_json(keys: LogKeys) -> dict[str, Any]:
    domain = keys.domain_label
    return {
        "origin": keys.origin,
        "log_public_key": keys.log_public_key,
        "vrf_public_key": keys.vrf_public_key.hex(),
        "configuration": keys.configuration,
        "domain_label": domain.decode("utf-8", "replace") if domain else None,
    }


def readiness_json(readiness: Readiness) -> dict[str, Any]:
    auditor = readiness.auditor
    return {
        "status": "ready",
        "epoch": readiness.epoch,
        "publisher": readiness.publisher,
        "queue_depth": readiness.queue_depth,
        "auditor": None if auditor is None else auditor.to_json_dict(),
    }
