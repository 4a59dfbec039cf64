"""Offline key credentials: one verified lookup, serialised so a third party re-verifies it.

Use case (IETF KEYTRANS guidance on credentials): Alice attaches a proof of her key to her
first message, and Bob checks it with no query to the log — against keys he pinned himself.
A credential carries everything the client checked: the key with its AKD lookup proof, the
directory epoch and root, the signed checkpoint note whose newest leaf is that epoch (with
the inclusion proof of the leaf), and the auditor's countersignature when there is one.

Witness cosignatures are not a separate field: C2SP witnesses add ``cosignature/v1`` lines
to the checkpoint note itself, so a note served with cosignatures carries them here as they
are, and ``CredentialPolicy.witness_keys`` / ``witness_quorum`` count the valid ones (each
cosignature's timestamp is subject to ``max_age`` too).

Freshness is the only thing a credential cannot prove by itself (an old credential stays
validly signed): the verifier states the maximum age it accepts for the checkpoint's (and
cosignatures') signed timestamp. Pure: no I/O, so this layer (``glasskey.log``) hosts it and
any party — client, server, a messaging app — can verify without the HTTP client.

Format: UTF-8 JSON with sorted keys, ``"format": "glasskey-credential/1"``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.verify import lookup_verify
from glasskey.core.errors import (
    LookupProofError,
    MalformedError,
    SignatureError,
    StaleHead,
    UsageError,
    VerificationError,
    VrfError,
)
from glasskey.core.plexi import SignatureResponse, verify_ed25519
from glasskey.core.plexi.signing import signed_bytes
from glasskey.log import note as notes
from glasskey.log.profile import epoch_leaf_hash, open_checkpoint
from glasskey.log.rfc6962 import verify_inclusion

FORMAT: Final = "glasskey-credential/1"
#: A credential is a few kilobytes; refuse anything far larger before parsing it.
MAX_CREDENTIAL_BYTES: Final = 256 * 1024


class CredentialError(VerificationError):
    """The credential does not verify: forged, altered, for another user or log, or stale."""

    code = "invalid_credential"


@dataclass(frozen=True, slots=True)
class CredentialPolicy:
    """What a verifier pins (pure data, so this layer needs no client types).

    ``log_public_key`` is the log's note verifier key (vkey), ``origin`` its checkpoint
    origin; ``max_age`` the oldest checkpoint accepted, in seconds. An auditor is pinned by
    its Ed25519 keys and the log's namespace there; ``require_auditor`` refuses credentials
    without its countersignature. ``witness_keys`` (cosignature/v1 vkeys) with
    ``witness_quorum`` > 0 require that many valid witness cosignatures on the checkpoint.
    """

    origin: str
    log_public_key: str
    vrf_public_key: bytes
    configuration: str
    max_age: float
    domain_label: bytes | None = None
    auditor_keys: tuple[bytes, ...] = ()
    auditor_namespace: str | None = None
    require_auditor: bool = False
    witness_keys: tuple[str, ...] = field(default=())
    witness_quorum: int = 0


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential's contents (what ``encode_credential`` writes)."""

    origin: str
    user_id: str
    key: bytes
    version: int
    published_epoch: int
    epoch: int
    root_hash: bytes
    checkpoint: str
    log_inclusion: tuple[bytes, ...]
    proof: bytes
    auditor_signature: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """What a verified credential proves: ``user_id`` had ``key`` (``version``) at ``epoch``,
    in a checkpoint signed at ``signed_at`` (Unix seconds)."""

    user_id: str
    key: bytes
    version: int
    published_epoch: int
    epoch: int
    root_hash: bytes
    signed_at: int
    auditor_signed: bool
    witnesses: int


def encode_credential(credential: Credential) -> bytes:
    """The credential as bytes (canonical JSON: sorted keys, no spaces)."""
    body = {
        "format": FORMAT,
        "origin": credential.origin,
        "user_id": credential.user_id,
        "key": base64.b64encode(credential.key).decode(),
        "version": credential.version,
        "published_epoch": credential.published_epoch,
        "epoch": credential.epoch,
        "root_hash": credential.root_hash.hex(),
        "checkpoint": credential.checkpoint,
        "log_inclusion": [h.hex() for h in credential.log_inclusion],
        "proof": base64.b64encode(credential.proof).decode(),
        "auditor_signature": (
            dict(credential.auditor_signature) if credential.auditor_signature else None
        ),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _field(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedError(f"credential field {name!r} is missing or not a {kind.__name__}")
    return value


def _b64(body: Mapping[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(_field(body, name, str), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError(f"credential field {name!r} is not base64") from None


def _hex(value: Any, name: str, length: int | None = 32) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or (length is not None and len(raw) != length):
        raise MalformedError(f"credential field {name!r} is not {length} bytes of hex")
    return raw


def decode_credential(data: bytes) -> Credential:
    """Parse credential bytes (``MalformedError`` for anything that is not one)."""
    if not isinstance(data, bytes) or len(data) > MAX_CREDENTIAL_BYTES:
        raise MalformedError(f"a credential is bytes of at most {MAX_CREDENTIAL_BYTES}")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedError("the credential is not UTF-8 JSON") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise MalformedError(f"not a {FORMAT} credential")
    inclusion = _field(body, "log_inclusion", list)
    if len(inclusion) > 64:
        raise MalformedError("credential log_inclusion is too long")
    signature = body.get("auditor_signature")
    if signature is not None and not isinstance(signature, dict):
        raise MalformedError("credential field 'auditor_signature' is not an object")
    credential = Credential(
        origin=_field(body, "origin", str),
        user_id=_field(body, "user_id", str),
        key=_b64(body, "key"),
        version=_field(body, "version", int),
        published_epoch=_field(body, "published_epoch", int),
        epoch=_field(body, "epoch", int),
        root_hash=_hex(body.get("root_hash"), "root_hash"),
        checkpoint=_field(body, "checkpoint", str),
        log_inclusion=tuple(_hex(h, "log_inclusion") for h in inclusion),
        proof=_b64(body, "proof"),
        auditor_signature=signature,
    )
    # One encoding per credential: bytes that differ from the canonical form (hex case,
    # base64 padding bits, spacing, key order) are refused, so no byte of a credential can
    # change without it being refused.
    if encode_credential(credential) != data:
        raise MalformedError("the credential is not in its canonical encoding")
    return credential


def _check_fresh(signed_at: int | None, policy: CredentialPolicy, now: float, what: str) -> None:
    if signed_at is None:
        raise StaleHead(f"{what} carries no signed timestamp; its age cannot be checked")
    age = now - signed_at
    if age > policy.max_age:
        raise StaleHead(
            f"{what} was signed {age:.0f}s ago, more than the accepted {policy.max_age:.0f}s"
        )


def _witnesses(checkpoint: str, policy: CredentialPolicy, now: float) -> int:
    if policy.witness_quorum <= 0:
        return 0
    try:
        verifiers = [notes.parse_vkey(k) for k in policy.witness_keys]
        verified = notes.verify_signatures(notes.parse_note(checkpoint), verifiers)
    except UsageError as exc:
        raise UsageError(f"unusable witness key: {exc}") from None
    stamps = [v.timestamp for v in verified if v.timestamp is not None]
    for stamp in stamps:
        _check_fresh(stamp, policy, now, "a witness cosignature")
    if len(stamps) < policy.witness_quorum:
        raise CredentialError(
            f"{len(stamps)} valid witness cosignature(s), the policy requires "
            f"{policy.witness_quorum}"
        )
    return len(stamps)


def _auditor(credential: Credential, policy: CredentialPolicy) -> bool:
    raw = credential.auditor_signature
    if raw is None or not policy.auditor_keys:
        if policy.require_auditor:
            raise CredentialError("the credential carries no auditor countersignature")
        return False
    response = SignatureResponse.from_json_obj(raw)
    if (response.epoch, response.digest) != (credential.epoch, credential.root_hash):
        raise CredentialError("the auditor countersignature is for another epoch or root")
    if response.namespace != policy.auditor_namespace:
        raise CredentialError(
            f"the auditor countersignature is for namespace {response.namespace!r}"
        )
    message = signed_bytes(response.statement)
    for key in policy.auditor_keys:
        try:
            verify_ed25519(key, message, response.signature)
        except SignatureError:
            continue
        return True
    raise CredentialError("the auditor countersignature does not verify under the pinned keys")


def verify_credential(
    data: bytes, policy: CredentialPolicy, *, now: float | None = None
) -> VerifiedCredential:
    """Verify credential bytes offline against ``policy``; return what they prove.

    Every failure is a typed ``VerificationError``: ``MalformedError`` (not a credential),
    ``SignatureError`` (checkpoint not signed by the pinned log key), ``InclusionError``
    (epoch not the checkpoint's newest leaf), ``LookupProofError`` / ``CredentialError``
    (proof, label, key, auditor or witness failures), ``StaleHead`` (older than ``max_age``).
    """
    if not isinstance(policy, CredentialPolicy):
        raise UsageError("policy must be a glasskey.log.CredentialPolicy")
    credential = decode_credential(data)
    if credential.origin != policy.origin:
        raise CredentialError(f"the credential is for log {credential.origin!r}")
    checkpoint = open_checkpoint(credential.checkpoint, policy.origin, policy.log_public_key)
    if credential.epoch < 1 or checkpoint.size != credential.epoch:
        raise CredentialError(
            f"the credential's epoch {credential.epoch} is not the newest leaf of its "
            f"checkpoint (size {checkpoint.size})"
        )
    verify_inclusion(
        epoch_leaf_hash(credential.epoch, credential.root_hash),
        credential.epoch - 1,
        checkpoint.size,
        list(credential.log_inclusion),
        checkpoint.root,
    )
    current = time.time() if now is None else now
    _check_fresh(checkpoint.timestamp, policy, current, "the credential's checkpoint")
    config = get_configuration(policy.configuration, policy.domain_label)
    try:
        result = lookup_verify(
            config, policy.vrf_public_key, credential.root_hash, credential.epoch,
            credential.user_id.encode("utf-8"), credential.proof,
        )  # fmt: skip
    except VrfError as exc:
        raise CredentialError(f"the proof is not for user {credential.user_id!r}: {exc}") from exc
    if (result.value, result.version, result.epoch) != (
        credential.key, credential.version, credential.published_epoch,
    ):  # fmt: skip
        raise LookupProofError("the credential's key/version/epoch are not the proof's")
    auditor_signed = _auditor(credential, policy)
    witnesses = _witnesses(credential.checkpoint, policy, current)
    assert checkpoint.timestamp is not None
    return VerifiedCredential(
        credential.user_id, credential.key, credential.version, credential.published_epoch,
        credential.epoch, credential.root_hash, checkpoint.timestamp, auditor_signed,
        witnesses,
    )  # fmt: skip
