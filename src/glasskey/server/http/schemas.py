"""The HTTP API's request and response models: they make the OpenAPI document precise.

Routes build their JSON by hand (see ``encoding``); these models document the shapes and
FastAPI checks responses against them (except the bundle route's, for speed; the tests check
that one).
"""

from typing import Any

from pydantic import BaseModel, Field

MAX_KEY_BYTES = 64 * 1024


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class AuditorSignature(BaseModel):
    """A Plexi SignatureResponse (auditor-compat.md 2.3): the auditor's countersignature."""

    version: int
    ciphersuite: int
    namespace: str
    timestamp: int = Field(description="Signing time, ms since the epoch.")
    epoch: int
    digest: str = Field(description="The epoch's root hash (hex).")
    signature: str = Field(description="Ed25519 signature (hex).")
    key_id: int | None = Field(None, description="Last byte of the signing key.")
    serialized_message: str | None = Field(None, description="The exact signed bytes (hex).")


class SignedState(BaseModel):
    """The signed root-log state a proof is valid in."""

    epoch: int = Field(description="Directory epoch the proof is for.")
    root_hash: str = Field(description="AKD root hash of that epoch (hex).")
    checkpoint: str = Field(description="C2SP tlog-checkpoint signed note covering the epoch.")
    tree_size: int = Field(description="Root-log size in the checkpoint.")
    log_inclusion: list[str] = Field(
        description="RFC 6962 inclusion proof of leaf (epoch, root_hash) at index epoch-1."
    )
    consistency_from: int | None = Field(
        None, description="The known_size the consistency proof starts from."
    )
    log_consistency: list[str] | None = Field(
        None, description="RFC 6962 consistency proof from known_size to tree_size."
    )
    auditor_signature: AuditorSignature | None = Field(
        None, description="The auditor's countersignature of exactly this epoch, if stored."
    )


class BundleResponse(SignedState):
    user_id: str
    key: str = Field(description="The current key (base64).")
    version: int
    published_epoch: int = Field(description="Epoch in which this version was published.")
    proof: str = Field(description="AKD LookupProof, protobuf, base64.")


class HistoryVersion(BaseModel):
    version: int
    epoch: int
    key: str


class HistoryResponse(SignedState):
    user_id: str
    params: str = Field(description='"complete" or "most_recent:N".')
    versions: list[HistoryVersion]
    proof: str = Field(description="AKD HistoryProof, protobuf, base64.")


class RootResponse(SignedState):
    origin: str
    signed_at: float


class ConsistencyResponse(BaseModel):
    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    proof: list[str]
    to_root: str

    model_config = {"populate_by_name": True}


class InclusionResponse(SignedState):
    user_id: str | None = None
    key: str | None = None
    version: int | None = None
    published_epoch: int | None = None
    proof: str | None = None


class AuditLogEntry(BaseModel):
    epoch: int
    root_hash: str
    appended_at: float


class AuditLogResponse(BaseModel):
    entries: list[AuditLogEntry]
    checkpoint: str | None
    auditor_signature: AuditorSignature | None = Field(
        None, description="The newest stored auditor countersignature."
    )


class AuditProofResponse(BaseModel):
    start: int
    end: int
    hashes: list[str] = Field(description="Root hashes of epochs start..end (hex).")
    proof: str = Field(description="AKD AppendOnlyProof, protobuf, base64.")


class BlobListResponse(BaseModel):
    blobs: list[str]


class AuditorKey(BaseModel):
    public_key: str = Field(description="Ed25519 public key (hex).")
    not_before: int = Field(description="Valid for signatures made at this ms time or later.")
    key_id: int


class AuditorResponse(BaseModel):
    """Who countersigns this log; clients should pin ``keys`` out of band, not trust these."""

    configured: bool
    url: str | None = None
    namespace: str | None = None
    keys: list[AuditorKey] = Field(default_factory=list)
    latest: AuditorSignature | None = None
    status: dict[str, Any] | None = None


class KeysResponse(BaseModel):
    origin: str
    log_public_key: str = Field(description="Note verifier key (name+keyid+base64 key).")
    vrf_public_key: str = Field(description="ECVRF-EDWARDS25519 public key (hex).")
    configuration: str
    domain_label: str | None = None


class KeyUpload(BaseModel):
    key: str = Field(
        description="The new public key, base64.", max_length=4 * MAX_KEY_BYTES // 3 + 4
    )
    user_id: str | None = Field(
        None, description="Must be the authenticated user (defaults to it).", max_length=256
    )


class UpdateReceipt(BaseModel):
    update_id: int
    user_id: str
    value_sha256: str
    accepted_at: float
    status: str
    epoch: int | None = None
    bundle: BundleResponse | None = None


class RegisterRequest(BaseModel):
    user_id: str = Field(max_length=256)


class RegisterResponse(BaseModel):
    user_id: str
    token: str


class Health(BaseModel):
    status: str
    epoch: int | None = None
    publisher: bool | None = None
    queue_depth: int | None = None
    auditor: dict[str, Any] | None = Field(
        None, description="Countersigning progress (lag, failures, last error) when configured."
    )
