"""The JSON wire contract: every request and response body of the directory's HTTP API.

One definition for both sides: the server builds its answers from these models (and FastAPI
derives the OpenAPI document from them), and the verifying client parses the answers with the
same models through ``parse``, strictly — a wrong type, bad hex or base64, a hash of the wrong
length or an oversized proof is a ``MalformedError``, never a crash.

The auditor countersignature is carried as the Plexi ``SignatureResponse`` JSON object it is
(``glasskey.core.plexi`` parses and checks it): the client judges it only against pinned
auditor keys, and a broken one is an ``AuditorSignatureInvalid`` alert, not a broken response.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, SkipValidation, ValidationError

from glasskey.api.encoding import Base64, Hex32, ProofHashes
from glasskey.core.errors import MalformedError

MAX_KEY_BYTES = 64 * 1024


class WireModel(BaseModel):
    """A response body: parsed strictly (no coercion: ``true`` is not ``1``, ``"1"`` is not 1)."""

    model_config = ConfigDict(strict=True)


Response = TypeVar("Response", bound=BaseModel)


def parse(model: type[Response], body: Any, what: str) -> Response:
    """``body`` (decoded JSON) as ``model``, or a one-line ``MalformedError`` naming the field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        field = f" field {where!r}" if where else ""
        raise MalformedError(f"{what}{field}: {error['msg']}") from None


# -- errors -------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# -- signed state -------------------------------------------------------------------------------


class AuditorSignature(BaseModel):
    """A Plexi SignatureResponse (auditor-compat.md 2.3): the auditor's countersignature."""

    version: int
    ciphersuite: int
    namespace: str
    timestamp: int = Field(description="Signing time, ms since the epoch.")
    epoch: int
    digest: str = Field(description="The epoch's root hash (hex).")
    signature: str = Field(description="Ed25519 signature (hex).")
    key_id: int | None = Field(default=None, description="Last byte of the signing key.")
    serialized_message: str | None = Field(
        default=None, description="The exact signed bytes (hex)."
    )


# The countersignature stays the JSON value it arrived as: the annotation documents its schema
# (a ``$ref`` to AuditorSignature) without validating it, because a broken countersignature is
# the client's ``AuditorSignatureInvalid`` alert, judged only against pinned auditor keys.
if TYPE_CHECKING:
    RawAuditorSignature = Any
else:
    RawAuditorSignature = Annotated[SerializeAsAny[AuditorSignature], SkipValidation]


class SignedState(WireModel):
    """The signed root-log state a proof is valid in."""

    epoch: int = Field(description="Directory epoch the proof is for.")
    root_hash: Hex32 = Field(description="AKD root hash of that epoch (hex).")
    checkpoint: str = Field(description="C2SP tlog-checkpoint signed note covering the epoch.")
    tree_size: int = Field(description="Root-log size in the checkpoint.")
    log_inclusion: ProofHashes = Field(
        description="RFC 6962 inclusion proof of leaf (epoch, root_hash) at index epoch-1."
    )
    consistency_from: int | None = Field(
        default=None, description="The known_size the consistency proof starts from."
    )
    log_consistency: ProofHashes | None = Field(
        default=None, description="RFC 6962 consistency proof from known_size to tree_size."
    )
    auditor_signature: RawAuditorSignature | None = Field(
        default=None, description="The auditor's countersignature of exactly this epoch, if stored."
    )
    auditor_latest: RawAuditorSignature | None = Field(
        default=None,
        description="The auditor's newest countersignature for this log's namespace. A client "
        "pinning the auditor refuses a served epoch older than it (a rollback, e.g. a server "
        "restored from an old backup).",
    )


# -- lookups ------------------------------------------------------------------------------------


class BundleResponse(SignedState):
    user_id: str
    key: Base64 = Field(description="The current key (base64).")
    version: int
    published_epoch: int = Field(description="Epoch in which this version was published.")
    published_at: float | None = Field(
        default=None,
        description="When this version's epoch was published (Unix seconds): the log's "
        "word, not covered by the proof; clients check it is not after the signed checkpoint.",
    )
    proof: Base64 = Field(description="AKD LookupProof, protobuf, base64.")


class VersionResponse(SignedState):
    """Fixed-version search (``?version=N``): version N, proven to be in the current tree."""

    user_id: str
    key: Base64 = Field(description="The key of that version (base64).")
    version: int
    published_epoch: int = Field(description="Epoch in which this version was published.")
    proof: Base64 = Field(
        description="AKD UpdateProof (protobuf, base64) of that version: VRF proof of its "
        "label, membership proof, commitment nonce; no previous-version fields."
    )


class AbsenceResponse(SignedState):
    """Proof that ``user_id`` has no published version in the signed epoch."""

    user_id: str
    vrf_proof: Base64 = Field(description="VRF proof of the label's version 1 (80 bytes).")
    non_membership_proof: Base64 = Field(
        description="AKD NonMembershipProof (protobuf, base64) of that node in the epoch's tree."
    )


class NotFoundResponse(WireModel):
    """The 404 of a bundle lookup: the error, and the proof that the user has no key."""

    error: ErrorBody
    absence: AbsenceResponse | None = None


class HistoryVersion(WireModel):
    version: int
    epoch: int
    key: Base64
    published_at: float | None = Field(
        default=None,
        description="When this version's epoch was published (Unix seconds): the log's "
        "word, not covered by the proof; clients check it is not after the signed checkpoint.",
    )


class HistoryResponse(SignedState):
    user_id: str
    params: str = Field(description='"complete" or "most_recent:N".')
    versions: list[HistoryVersion]
    proof: Base64 = Field(description="AKD HistoryProof, protobuf, base64.")


# -- transparency -------------------------------------------------------------------------------


class RootResponse(SignedState):
    origin: str
    signed_at: float


class ConsistencyResponse(WireModel):
    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    proof: ProofHashes
    to_root: Hex32

    model_config = ConfigDict(strict=True, populate_by_name=True, serialize_by_alias=True)


class InclusionResponse(SignedState):
    # The signed state of an epoch; asked with ``user_id``, also that user's bundle fields.
    user_id: str | None = None
    key: Base64 | None = None
    version: int | None = None
    published_epoch: int | None = None
    published_at: float | None = None
    proof: Base64 | None = None


class AuditLogEntry(WireModel):
    epoch: int
    root_hash: Hex32
    appended_at: float


class AuditLogResponse(WireModel):
    entries: list[AuditLogEntry]
    checkpoint: str | None
    auditor_signature: RawAuditorSignature | None = Field(
        default=None, description="The newest stored auditor countersignature."
    )


class AuditProofResponse(WireModel):
    """One page of an audit: ``start..end`` with ``end`` at most 16 epochs past ``start``."""

    start: int
    end: int = Field(description="Last epoch this page covers (at most the asked end).")
    hashes: list[Hex32] = Field(description="Root hashes of epochs start..end (hex).")
    proof: Base64 = Field(description="AKD AppendOnlyProof, protobuf, base64.")
    next: str | None = Field(
        default=None, description="URL of the next page; null once the asked end is reached."
    )


class BlobListResponse(WireModel):
    blobs: list[str]


class AuditorKey(WireModel):
    public_key: Hex32 = Field(description="Ed25519 public key (hex).")
    not_before: int = Field(description="Valid for signatures made at this ms time or later.")
    key_id: int


class AuditorResponse(WireModel):
    """Who countersigns this log; clients should pin ``keys`` out of band, not trust these."""

    configured: bool
    url: str | None = None
    namespace: str | None = None
    keys: list[AuditorKey] = Field(default_factory=list)
    latest: RawAuditorSignature | None = None
    status: dict[str, Any] | None = None


class KeysResponse(WireModel):
    origin: str
    log_public_key: str = Field(description="Note verifier key (name+keyid+base64 key).")
    vrf_public_key: Hex32 = Field(description="ECVRF-EDWARDS25519 public key (hex).")
    configuration: str
    domain_label: str | None = None
    max_publication_delay: float | None = Field(
        default=None,
        description="Seconds within which every accepted upload is in a published epoch. "
        "Owners' clients pin it with the keys and report an upload missing after it; a log "
        "that later declares another value is refused like one with other keys. Absent from "
        "logs that declare none (clients then assume one hour).",
    )
    checkpoint_refresh: float | None = Field(
        default=None,
        description="Seconds between re-signings of the head checkpoint, even without new "
        "epochs. Clients pin it with the keys and, unless configured otherwise, refuse a "
        "checkpoint older than a small multiple of it (a replayed old head).",
    )
    user_id_policy: str | None = Field(
        default=None,
        description="Which user ids name the same user: exact, casefold (NFKC + case "
        "folding) or e164 (phone numbers). Clients pin it with the keys and look up the "
        "label the policy makes of an id, as the server does. Absent: exact.",
    )


# -- key owner ----------------------------------------------------------------------------------


class KeyUpload(BaseModel):
    # A request body: FastAPI checks it, so not strict, and ``key`` stays text (a bad one is
    # the service's ``usage`` error, not a request-validation error).
    key: str = Field(
        description="The new public key, base64.", max_length=4 * MAX_KEY_BYTES // 3 + 4
    )
    user_id: str | None = Field(
        default=None,
        description="Whose key this is: the authenticated user (the default), or, with a "
        "service credential (backend mode), the user the service uploads for (required then).",
        max_length=256,
    )
    upload_id: str | None = Field(
        default=None,
        description="Required: a fresh random id for this upload (16-64 characters "
        "A-Z a-z 0-9 _ -). Sending it again returns the same receipt while it is your newest "
        "upload (a retry); otherwise, or with another key, the answer is 409 replayed_upload.",
        max_length=64,
    )


class UpdateReceipt(WireModel):
    update_id: int
    user_id: str
    value_sha256: str
    accepted_at: float
    status: str
    epoch: int | None = None
    bundle: BundleResponse | None = None


class GossipRequest(BaseModel):
    checkpoint: str = Field(
        max_length=16 * 1024,
        description="A checkpoint note signed by this log, verbatim, as another party saw it.",
    )


class GossipResponse(WireModel):
    status: str = Field(
        description="consistent: in this log's tree; fork: this log's key signed another root "
        "at that size; ahead: larger than this log's tree."
    )
    size: int
    checkpoint: str = Field(description="This log's newest signed checkpoint (its own view).")


class RegisterRequest(BaseModel):
    user_id: str = Field(max_length=256)


class RegisterResponse(WireModel):
    """A user's bearer token (registration or an admin's reissue), shown only this once."""

    user_id: str
    token: str


class ServiceCredentialRequest(BaseModel):
    """An admin asks for a service credential (backend mode) named ``name``."""

    name: str = Field(min_length=1, max_length=64, description="1-64 characters A-Z a-z 0-9 . _ -.")
    replace: bool = Field(default=False, description="Rotate an existing credential of that name.")


class ServiceCredentialResponse(WireModel):
    """The service credential (``gks_…``), shown only this once; scoped to key uploads."""

    name: str
    token: str
    scope: str


# -- operations ---------------------------------------------------------------------------------


class Health(WireModel):
    status: str
    epoch: int | None = None
    publisher: bool | None = None
    queue_depth: int | None = None
    auditor: dict[str, Any] | None = Field(
        default=None,
        description="Countersigning progress (lag, failures, last error) when configured.",
    )
    witnesses: list[dict[str, Any]] | None = Field(
        default=None,
        description="Per witness: cosigned size, lag, failures, last error (when configured).",
    )
    replica: dict[str, Any] | None = Field(
        default=None,
        description="A read replica's lag behind its writer: lag_seconds, lag_epochs, epoch, "
        "writer_epoch, in_recovery (absent on the writer).",
    )


__all__ = [
    "MAX_KEY_BYTES",
    "AuditLogEntry",
    "AuditLogResponse",
    "AuditProofResponse",
    "AuditorKey",
    "AuditorResponse",
    "AuditorSignature",
    "BlobListResponse",
    "BundleResponse",
    "ConsistencyResponse",
    "ErrorBody",
    "ErrorResponse",
    "GossipRequest",
    "GossipResponse",
    "Health",
    "HistoryResponse",
    "HistoryVersion",
    "InclusionResponse",
    "KeyUpload",
    "KeysResponse",
    "RawAuditorSignature",
    "RegisterRequest",
    "RegisterResponse",
    "RootResponse",
    "ServiceCredentialRequest",
    "ServiceCredentialResponse",
    "SignedState",
    "UpdateReceipt",
    "WireModel",
    "parse",
]
