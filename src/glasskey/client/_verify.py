"""Pure verification of server responses (no I/O): the heart of the verifying client.

The sync and async clients only fetch JSON; everything that decides whether a key may be
used happens here, in this order:

1. the checkpoint is a note signed by the pinned log key for the pinned origin;
2. the directory epoch the proof is for is the checkpoint's newest leaf (an inclusion proof
   of ``(epoch, root_hash)`` at index ``epoch-1``), so a proof against an older epoch — a
   key rollback — cannot pass as current;
3. the checkpoint extends the last one this client verified (RFC 6962 consistency), is not
   older (rollback) and not a different tree of the same size (fork);
4. the checkpoint is fresh enough (its signed timestamp is within the policy's ``max_age``);
5. the AKD proof verifies against the epoch root hash, for *this* label (VRF);
6. when the policy pins an auditor: the auditor countersignature served with the proof signs
   exactly this epoch and root (``verify_auditor_signature``), and the epoch is not older
   than the newest one that auditor countersigned for the namespace (``auditor_latest``, or
   what the client learnt before or from the auditor itself): else a rollback.

``verify_bundle`` and ``verify_history`` apply all of it, as the ``VerificationPolicy`` says,
in one call: what they return was checked against everything the policy names. Only then is
anything returned; every failure is a typed ``VerificationError``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glasskey.api.wire import BundleResponse, HistoryResponse, SignedState, parse
from glasskey.client._alerts import (
    AuditorSignatureInvalid,
    AuditorSignatureMissing,
    ForkDetected,
    RollbackDetected,
    StaleHead,
    UnwitnessedHead,
    WrongLabel,
)
from glasskey.client._policy import AuditorPin, VerificationPolicy
from glasskey.client._state import Head, Trust
from glasskey.core.akd.configuration import Configuration, get_configuration
from glasskey.core.akd.types import HistoryParams, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.errors import (
    ConsistencyError,
    HistoryProofError,
    InclusionError,
    LookupProofError,
    MalformedError,
    SignatureError,
    UsageError,
    VrfError,
)
from glasskey.core.plexi import SignatureResponse, verify_ed25519
from glasskey.core.plexi.signing import signed_bytes
from glasskey.log.profile import epoch_leaf_hash, open_checkpoint, open_witnessed
from glasskey.log.rfc6962 import EMPTY_ROOT, verify_consistency, verify_inclusion


@dataclass(frozen=True, slots=True)
class VerifiedState:
    """A verified signed state: directory epoch + root, and the root-log head covering it."""

    epoch: int
    root_hash: bytes
    head: Head


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """A key whose lookup proof, checkpoint, consistency and policy checks all passed."""

    user_id: str
    key: bytes
    version: int
    published_epoch: int
    epoch: int
    root_hash: bytes
    head: Head
    #: The auditor countersignature of ``epoch``, verified under a pinned key (else None).
    auditor_signature: SignatureResponse | None = None
    #: The newest epoch the pinned auditor is known to have countersigned (0: none known).
    auditor_epoch: int = 0
    #: When ``published_epoch`` was published (Unix seconds), as the log says: not covered by
    #: the proof, only checked not to be after the signed checkpoint. None: not served.
    published_at: float | None = None

    @property
    def key_sha256(self) -> bytes:
        return hashlib.sha256(self.key).digest()


@dataclass(frozen=True, slots=True)
class VerifiedHistory:
    """A label's key versions whose history proof, checkpoint and policy checks all passed."""

    user_id: str
    versions: tuple[VerifyResult, ...]  # newest first
    epoch: int
    root_hash: bytes
    head: Head
    #: The auditor countersignature of ``epoch``, verified under a pinned key (else None).
    auditor_signature: SignatureResponse | None = None
    #: The newest epoch the pinned auditor is known to have countersigned (0: none known).
    auditor_epoch: int = 0
    #: Each version's publication time (as ``VerifiedKey.published_at``), in ``versions``
    #: order; empty when the server served none.
    published_at: tuple[float | None, ...] = ()

    def published_at_of(self, version: int) -> float | None:
        """The publication time of ``version`` (None: not served or no such version)."""
        for result, at in zip(self.versions, self.published_at, strict=False):
            if result.version == version:
                return at
        return None


def _publication_time(at: float | None, head: Head) -> float | None:
    """A served publication time, refused when impossible: a version published after the
    signed checkpoint that covers it (1 s of rounding allowed), or not a time at all."""
    if at is None:
        return None
    if not math.isfinite(at) or at < 0:
        raise MalformedError("published_at is not a time")
    if head.signed_at is not None and at > head.signed_at + 1:
        raise MalformedError(
            f"published_at {at:.0f} is after the signed checkpoint ({head.signed_at:.0f}) "
            "that covers it"
        )
    return at


def configuration_of(trust: Trust) -> Configuration:
    return get_configuration(trust.configuration, trust.domain_label)


def verify_signed_state(
    trust: Trust,
    state: SignedState,
    previous: Head | None,
    *,
    max_age: float | None = None,
    now: float | None = None,
    witnesses: tuple[str, ...] = (),
    witness_threshold: int = 0,
    allow_empty: bool = False,
) -> VerifiedState:
    """Steps 1–4 of the module docstring for the signed state of any (parsed) proof response.

    With ``witness_threshold`` k > 0: at least k of the pinned ``witnesses`` must have
    cosigned (else ``UnwitnessedHead``), and the age is that of the k-th newest cosignature.
    ``allow_empty``: also accept epoch 0 of the signed empty log (size 0, the empty tree's
    root), which proves only that nothing is published yet (a proof of absence).
    """
    epoch, root_hash, note = state.epoch, state.root_hash, state.checkpoint
    checkpoint = open_checkpoint(note, trust.origin, trust.log_public_key)
    signed_time = checkpoint.timestamp
    if witnesses:
        witnessed = open_witnessed(
            note, trust.origin, trust.log_public_key, witnesses, witness_threshold
        )
        if len(witnessed.witnesses) < witness_threshold:
            raise UnwitnessedHead(
                f"the checkpoint of size {checkpoint.size} has {len(witnessed.witnesses)} valid "
                f"cosignatures by pinned witnesses, {witness_threshold} required"
            )
        if witness_threshold:
            signed_time = witnessed.witnessed_at
    if state.tree_size != checkpoint.size:
        raise MalformedError("tree_size does not match the signed checkpoint")

    # 2. The proof's epoch must be the checkpoint's newest leaf.
    if allow_empty and epoch == 0 and checkpoint.size == 0:
        if checkpoint.root != EMPTY_ROOT or state.log_inclusion:
            raise InclusionError("a checkpoint of size 0 must carry the empty tree's root")
    else:
        if epoch != checkpoint.size or epoch < 1:
            raise InclusionError(
                f"the proof is for epoch {epoch} but the signed checkpoint is at "
                f"{checkpoint.size}: proofs must be for the newest signed epoch"
            )
        verify_inclusion(
            epoch_leaf_hash(epoch, root_hash),
            epoch - 1,
            checkpoint.size,
            state.log_inclusion,
            checkpoint.root,
        )

    # 3. Consistency with what this client saw before.
    if previous is not None:
        if checkpoint.size < previous.size:
            raise RollbackDetected(
                f"the server presents log size {checkpoint.size}, older than size "
                f"{previous.size} already verified: rollback or replayed checkpoint"
            )
        if checkpoint.size == previous.size:
            if checkpoint.root != previous.log_root:
                raise ForkDetected(
                    f"two signed checkpoints of size {checkpoint.size} with different roots "
                    f"({previous.log_root.hex()[:16]}… and {checkpoint.root.hex()[:16]}…): "
                    "split view"
                )
        elif previous.size == 0:
            # Every tree extends the empty tree (RFC 9162 2.1.4: there is no proof from size
            # 0, only a meaningless empty one). A client whose first look found the log still
            # empty (a proof of absence) must accept the log's first epoch, not cry fork.
            pass
        else:
            proof = state.log_consistency
            if state.consistency_from != previous.size or proof is None:
                raise ForkDetected(
                    f"the server did not prove that size {checkpoint.size} extends the "
                    f"verified size {previous.size}"
                )
            try:
                verify_consistency(
                    previous.size,
                    checkpoint.size,
                    proof,
                    previous.log_root,
                    checkpoint.root,
                )
            except ConsistencyError as exc:
                raise ForkDetected(
                    f"checkpoint {checkpoint.size} does not extend the verified checkpoint "
                    f"{previous.size}: {exc}"
                ) from exc

    # 4. Freshness.
    if max_age is not None:
        current = time.time() if now is None else now
        if signed_time is None:
            raise StaleHead("the checkpoint carries no signed timestamp; cannot check its age")
        age = current - signed_time
        if age > max_age:
            raise StaleHead(
                f"the newest signed checkpoint is {age:.0f}s old, more than the allowed "
                f"{max_age:.0f}s: the server may be hiding newer epochs"
            )
    head = Head(trust.origin, checkpoint.size, checkpoint.root, note, checkpoint.timestamp)
    return VerifiedState(epoch, root_hash, head)


def _pinned(policy: VerificationPolicy) -> Trust:
    """The keys to verify against: a pure function cannot trust on first use."""
    if policy.trust is None:
        raise UsageError(
            "verifying a response needs the server's pinned keys: a VerificationPolicy with "
            "trust set (policy.with_trust(trust))"
        )
    return policy.trust


def _countersignature(
    pin: AuditorPin | None, body: Mapping[str, Any], state: VerifiedState, auditor_epoch: int
) -> tuple[SignatureResponse | None, int]:
    """The verified countersignature of ``state``, as ``pin`` requires (no pin: ignored), and
    the newest epoch the auditor is known to have countersigned.

    ``auditor_epoch``: the newest one known before this response. A served epoch older than
    the newest countersigned one is a head the log has moved past — a restored backup or a
    replayed answer — and is refused even by a client with no state of its own.
    """
    if pin is None:
        return None, auditor_epoch
    signature = verify_auditor_signature(
        body, state.epoch, state.root_hash, pin.keys, namespace=pin.namespace, require=pin.required
    )
    newest = max(auditor_epoch, signature.epoch if signature is not None else 0)
    raw = body.get("auditor_latest")
    if raw is not None:
        latest = verify_countersignature(
            raw, pin.keys, pin.namespace, "the latest auditor signature"
        )
        newest = max(newest, latest.epoch)
    if state.epoch < newest:
        raise RollbackDetected(
            f"the server presents epoch {state.epoch}, but the pinned auditor has countersigned "
            f"epoch {newest} of namespace {pin.namespace!r}: an old head (restored backup or "
            "replayed answer)"
        )
    return signature, newest


def verify_bundle(
    policy: VerificationPolicy,
    user_id: str,
    body: Mapping[str, Any],
    previous: Head | None,
    *,
    now: float | None = None,
    auditor_epoch: int = 0,
) -> VerifiedKey:
    """Verify a ``/api/crypto/bundles/{user_id}`` response for ``user_id`` under ``policy``.

    ``previous``: the last head this client verified (None: nothing to be consistent with).
    Applies every step of the module docstring, the auditor countersignature included, and
    raises the first failure: ``WrongLabel``, ``MalformedError``, ``SignatureError``,
    ``InclusionError``, ``RollbackDetected``, ``ForkDetected``, ``StaleHead``,
    ``LookupProofError``, ``AuditorSignatureInvalid`` or ``AuditorSignatureMissing``
    (``UsageError`` if ``policy.trust`` is None). ``auditor_epoch``: the newest epoch the
    pinned auditor is known to have countersigned (client state, or asked of the auditor);
    an older served epoch is a ``RollbackDetected``. Does not read or write client state.
    """
    trust = _pinned(policy)
    bundle = parse(BundleResponse, body, "the bundle response")
    if bundle.user_id != user_id:
        raise WrongLabel(f"asked for {user_id!r}, the server answered for {bundle.user_id!r}")
    state = verify_signed_state(
        trust, bundle, previous, max_age=policy.max_age_for(trust), now=now,
        witnesses=policy.witnesses, witness_threshold=policy.witness_threshold,
    )  # fmt: skip
    try:
        result = lookup_verify(
            configuration_of(trust), trust.vrf_public_key, state.root_hash, state.epoch,
            user_id.encode("utf-8"), bundle.proof,
        )  # fmt: skip
    except VrfError as exc:
        raise _vrf_failure(user_id, exc) from exc
    if bundle.key != result.value:
        raise LookupProofError("the key in the response is not the key the proof commits to")
    if bundle.version != result.version or bundle.published_epoch != result.epoch:
        raise LookupProofError("the version/epoch in the response differ from the proof's")
    signature, newest = _countersignature(policy.auditor, body, state, auditor_epoch)
    return VerifiedKey(
        user_id, result.value, result.version, result.epoch, state.epoch, state.root_hash,
        state.head, signature, newest, _publication_time(bundle.published_at, state.head),
    )  # fmt: skip


def verify_history(
    policy: VerificationPolicy,
    user_id: str,
    body: Mapping[str, Any],
    previous: Head | None,
    params: HistoryParams,
    *,
    now: float | None = None,
    auditor_epoch: int = 0,
) -> VerifiedHistory:
    """Verify a ``/api/crypto/history/{user_id}`` response (same ``params`` as requested).

    As ``verify_bundle``, with ``HistoryProofError`` for a history proof (or version list)
    that does not verify.
    """
    trust = _pinned(policy)
    history = parse(HistoryResponse, body, "the history response")
    if history.user_id != user_id:
        raise WrongLabel(f"asked for {user_id!r}, the server answered for {history.user_id!r}")
    state = verify_signed_state(
        trust, history, previous, max_age=policy.max_age_for(trust), now=now,
        witnesses=policy.witnesses, witness_threshold=policy.witness_threshold,
    )  # fmt: skip
    try:
        results = key_history_verify(
            configuration_of(trust), trust.vrf_public_key, state.root_hash, state.epoch,
            user_id.encode("utf-8"), history.proof, params,
        )  # fmt: skip
    except VrfError as exc:
        raise _vrf_failure(user_id, exc) from exc
    listed = [(v.version, v.epoch, v.key) for v in history.versions]
    if listed != [(r.version, r.epoch, r.value) for r in results]:
        raise HistoryProofError("the versions listed differ from the proof's")
    signature, newest = _countersignature(policy.auditor, body, state, auditor_epoch)
    times = tuple(_publication_time(v.published_at, state.head) for v in history.versions)
    return VerifiedHistory(
        user_id, tuple(results), state.epoch, state.root_hash, state.head, signature, newest,
        times,
    )  # fmt: skip


def _vrf_failure(user_id: str, exc: VrfError) -> VrfError:
    """A VRF proof that fails for our label under the pinned key: forged, or the pinned key
    is wrong — the clients ask the key document which (``VrfKeyMismatch``)."""
    return VrfError(
        f"the VRF proof does not verify for label {user_id} under the pinned VRF key: {exc}"
    )


def verify_auditor_signature(
    body: Mapping[str, Any],
    epoch: int,
    root_hash: bytes,
    auditor_keys: tuple[bytes, ...],
    *,
    namespace: str,
    require: bool = False,
) -> SignatureResponse | None:
    """Check the ``auditor_signature`` served with a verified proof of ``(epoch, root_hash)``.

    Why only against pinned keys: a key taken from the log (or from an auditor the log
    chose) proves nothing. Without pinned keys the signature is ignored (None). With them, a
    signature present must be a well-formed Plexi SignatureResponse for exactly this epoch,
    root and auditor ``namespace`` (a shadow log countersigned in another namespace of the same
    auditor is refused; the namespace is in the signed bytes) that verifies under one of
    ``auditor_keys``, else
    ``AuditorSignatureInvalid``; ``require`` makes a missing one ``AuditorSignatureMissing``.
    """
    raw = body.get("auditor_signature") if isinstance(body, Mapping) else None
    if raw is None:
        if require:
            raise AuditorSignatureMissing(
                f"epoch {epoch} carries no auditor countersignature, and one is required"
            )
        return None
    if not auditor_keys:
        return None
    return verify_countersignature(
        raw, auditor_keys, namespace, "the auditor signature", covers=(epoch, root_hash)
    )


def verify_countersignature(
    raw: Any,
    auditor_keys: tuple[bytes, ...],
    namespace: str,
    what: str,
    *,
    covers: tuple[int, bytes] | None = None,
) -> SignatureResponse:
    """``raw`` (a Plexi SignatureResponse JSON value) verified under one of ``auditor_keys``
    for ``namespace`` and, when ``covers`` names them, exactly that (epoch, root); else
    ``AuditorSignatureInvalid`` (``what`` names the signature in the message)."""
    try:
        response = SignatureResponse.from_json_obj(raw)
    except MalformedError as exc:
        raise AuditorSignatureInvalid(f"{what} is malformed: {exc}") from None
    if covers is not None and (response.epoch, response.digest) != covers:
        epoch, root_hash = covers
        raise AuditorSignatureInvalid(
            f"{what} covers epoch {response.epoch} digest "
            f"{response.digest.hex()[:16]}…, not the served epoch {epoch} root "
            f"{root_hash.hex()[:16]}…"
        )
    if response.namespace != namespace:
        raise AuditorSignatureInvalid(
            f"{what} is for namespace {response.namespace!r}, not {namespace!r}"
        )
    try:
        message = signed_bytes(response.statement)
    except (MalformedError, SignatureError) as exc:
        raise AuditorSignatureInvalid(f"{what} is unusable: {exc}") from None
    if response.serialized_message is not None and response.serialized_message != message:
        raise AuditorSignatureInvalid("serialized_message does not match the signed fields")
    for key in auditor_keys:
        try:
            verify_ed25519(key, message, response.signature)
        except SignatureError:
            continue
        return response
    raise AuditorSignatureInvalid(
        f"{what} of epoch {response.epoch} does not verify under the pinned auditor key(s)"
    )
