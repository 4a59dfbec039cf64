"""Client-side verification of AKD lookup and key-history proofs (spec section 9.1–9.6).

Each public function either returns what was proven or raises a typed ``VerificationError``;
nothing else escapes, whatever the bytes. Proofs may be given decoded or as protobuf bytes.

The order of checks follows akd 0.12 so that a proof akd rejects is rejected here for the
same reason (useful when comparing diagnostics across implementations).
"""

from __future__ import annotations

from itertools import pairwise

from glasskey.core.akd._markers import marker_version, marker_versions
from glasskey.core.akd._node_label import (
    ROOT_LABEL,
    Direction,
    NodeLabel,
    empty_label,
    longest_common_prefix,
)
from glasskey.core.akd.configuration import Configuration
from glasskey.core.akd.types import (
    HistoryParams,
    HistoryProof,
    HistoryVerification,
    LookupProof,
    MembershipProof,
    NonMembershipProof,
    VerifyResult,
)
from glasskey.core.akd.wire import decode_history_proof, decode_lookup_proof
from glasskey.core.ecvrf import VrfPublicKey, load_public_key
from glasskey.core.errors import (
    HistoryProofError,
    LookupProofError,
    MalformedError,
    MembershipProofError,
    NonMembershipProofError,
    VrfError,
)


def _check_digest(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        size = len(value) if isinstance(value, bytes) else type(value).__name__
        raise MalformedError(f"{what} must be 32 bytes, got {size}")
    return value


def _public_key(vrf_public_key: bytes | VrfPublicKey) -> VrfPublicKey:
    if isinstance(vrf_public_key, VrfPublicKey):
        return vrf_public_key
    if isinstance(vrf_public_key, bytes):
        return load_public_key(vrf_public_key)
    return VrfPublicKey(vrf_public_key)  # raises the typed error for a wrong type


# -- Merkle paths --------------------------------------------------------------------------


def membership_root(config: Configuration, proof: MembershipProof) -> bytes:
    """The epoch hash a membership proof commits to (spec 9.1: walk the siblings upwards)."""
    value = proof.hash_val
    label_bytes = proof.label.to_bytes()
    for sibling_proof in reversed(proof.sibling_proofs):
        sibling = sibling_proof.siblings[0]
        here = config.label_value(label_bytes)
        there = config.label_value(sibling.label.to_bytes())
        if sibling_proof.direction == Direction.LEFT:
            value = config.parent_hash(value, here, sibling.value, there)
        else:
            value = config.parent_hash(sibling.value, there, value, here)
        label_bytes = sibling_proof.label.to_bytes()
    return config.root_hash_from_value(value)


def verify_membership(config: Configuration, root_hash: bytes, proof: MembershipProof) -> None:
    """Raise ``MembershipProofError`` unless ``proof`` leads to ``root_hash``.

    One structural check beyond akd: the top of the path must be the root label. akd never
    reads that label (the root hash uses the constant root label), so without the check its
    bytes could be altered in an accepted proof; honest proofs always carry the root label.
    """
    top = proof.sibling_proofs[0].label if proof.sibling_proofs else proof.label
    if top != ROOT_LABEL:
        raise MembershipProofError(
            f"membership proof does not start at the root label (starts at {top})"
        )
    computed = membership_root(config, proof)
    if computed != root_hash:
        raise MembershipProofError(
            f"membership proof for label {proof.label} does not lead to the root hash "
            f"(computed {computed.hex()}, expected {root_hash.hex()})"
        )


def verify_nonmembership(
    config: Configuration, root_hash: bytes, proof: NonMembershipProof
) -> None:
    """Raise unless ``proof`` shows ``proof.label`` is absent from the tree (spec 9.2)."""
    left, right = proof.longest_prefix_children
    if proof.label in (left.label, right.label):
        raise NonMembershipProofError(
            f"non-membership proof: label {proof.label} is one of the longest prefix's children"
        )
    # Beyond akd 0.12 (spec 9.2 checks only the other direction): the absent label must not
    # lie *under* either child, or an ancestor of a present leaf could "prove" its absence —
    # e.g. hide an existing stale marker and pass off a superseded key as current. An
    # honest proof shows the deepest prefix node, whose children never prefix the label.
    for child in (left, right):
        if child.label.length > 0 and child.label.is_prefix_of(proof.label):
            raise NonMembershipProofError(
                f"non-membership proof: child {child.label} is a prefix of {proof.label}; "
                "the proof does not show the deepest prefix node"
            )
    if not proof.longest_prefix.is_prefix_of(proof.label):
        raise NonMembershipProofError(
            f"non-membership proof: {proof.longest_prefix} is not a prefix of {proof.label}"
        )
    lcp = longest_common_prefix(config, left.label, right.label)
    if lcp == empty_label(config):
        lcp = ROOT_LABEL
    if proof.longest_prefix != lcp:
        raise NonMembershipProofError(
            f"non-membership proof: the children's common prefix is {lcp}, "
            f"not the claimed longest prefix {proof.longest_prefix}"
        )
    node_value = config.parent_hash(
        left.value,
        config.label_value(left.label.to_bytes()),
        right.value,
        config.label_value(right.label.to_bytes()),
    )
    membership = proof.longest_prefix_membership_proof
    if membership.label != lcp or membership.hash_val != node_value:
        raise NonMembershipProofError(
            "non-membership proof: the longest prefix's membership proof is for a different node"
        )
    verify_membership(config, root_hash, membership)


# -- VRF-bound existence checks ------------------------------------------------------------


def verify_label(
    config: Configuration,
    vrf_key: VrfPublicKey,
    akd_label: bytes,
    fresh: bool,
    version: int,
    vrf_proof: bytes,
    expected: NodeLabel,
) -> None:
    """The VRF proof must show ``expected`` is the node label of (label, freshness, version)."""
    beta = vrf_key.verify(vrf_proof, config.vrf_alpha(akd_label, fresh, version))
    if NodeLabel.leaf(beta) != expected:
        raise VrfError(
            "expected first 32 bytes of the VRF output did NOT match the supplied label "
            f"({'fresh' if fresh else 'stale'} version {version})"
        )


def _verify_at_label(
    config: Configuration,
    vrf_key: VrfPublicKey,
    root_hash: bytes,
    akd_label: bytes,
    fresh: bool,
    version: int,
    vrf_proof: bytes,
    proof: MembershipProof | NonMembershipProof,
) -> None:
    """The VRF proof names the proof's label, and the (non-)membership proof holds at the root."""
    verify_label(config, vrf_key, akd_label, fresh, version, vrf_proof, proof.label)
    if isinstance(proof, NonMembershipProof):
        verify_nonmembership(config, root_hash, proof)
    else:
        verify_membership(config, root_hash, proof)


def _verify_value_commitment(
    config: Configuration,
    value: bytes,
    epoch: int,
    nonce: bytes,
    membership: MembershipProof,
    error: type[LookupProofError] | type[HistoryProofError],
) -> None:
    if epoch >= 2**64:
        raise MalformedError(f"epoch {epoch} does not fit in 64 bits")
    expected = config.leaf_hash(config.commitment(value, nonce), epoch)
    if expected != membership.hash_val:
        raise error("hash of plaintext value did not match existence proof hash")


# -- lookup ----------------------------------------------------------------------------------


def lookup_verify(
    config: Configuration,
    vrf_public_key: bytes | VrfPublicKey,
    root_hash: bytes,
    current_epoch: int,
    akd_label: bytes,
    proof: LookupProof | bytes,
) -> VerifyResult:
    """Verify a lookup proof: ``akd_label`` has ``value`` at ``version``, and it is current.

    Returns ``VerifyResult(epoch, version, value)``; ``epoch`` is the epoch the version was
    published in, and the proof shows no newer version exists as of ``current_epoch``.
    """
    root_hash = _check_digest(root_hash, "root hash")
    if isinstance(proof, bytes | bytearray | memoryview):
        proof = decode_lookup_proof(bytes(proof))
    vrf_key = _public_key(vrf_public_key)
    if proof.version > current_epoch:
        raise LookupProofError(
            f"proof version {proof.version} is greater than current epoch {current_epoch}"
        )
    if proof.version < 1:
        raise LookupProofError("proof version 0 is invalid: versions start at 1")
    _verify_value_commitment(
        config, proof.value, proof.epoch, proof.commitment_nonce, proof.existence_proof,
        LookupProofError,
    )  # fmt: skip
    _verify_at_label(
        config, vrf_key, root_hash, akd_label, True, proof.version,
        proof.existence_vrf_proof, proof.existence_proof,
    )  # fmt: skip
    _verify_at_label(
        config, vrf_key, root_hash, akd_label, True, marker_version(proof.version),
        proof.marker_vrf_proof, proof.marker_proof,
    )  # fmt: skip
    _verify_at_label(
        config, vrf_key, root_hash, akd_label, False, proof.version,
        proof.freshness_vrf_proof, proof.freshness_proof,
    )  # fmt: skip
    return VerifyResult(epoch=proof.epoch, version=proof.version, value=proof.value)


# -- history ---------------------------------------------------------------------------------


def _check_history_shape(proof: HistoryProof, current_epoch: int, params: HistoryParams) -> None:
    updates = proof.update_proofs
    if not updates:
        raise HistoryProofError("history proof has no update proofs")
    for newer, older in pairwise(updates):
        if older.version + 1 != newer.version:
            raise HistoryProofError(
                f"update proofs are not consecutive decreasing versions "
                f"({newer.version} followed by {older.version})"
            )
    start, end = updates[-1].version, updates[0].version
    if start == 0:
        raise HistoryProofError("history proof contains version 0")
    if end > current_epoch:
        raise HistoryProofError(
            f"latest version {end} is greater than current epoch {current_epoch}"
        )
    if params.most_recent is None:
        if start != 1:
            raise HistoryProofError(f"complete history must start at version 1, starts at {start}")
    else:
        if len(updates) > params.most_recent:
            raise HistoryProofError(
                f"history proof has {len(updates)} updates, more than MostRecent"
                f"({params.most_recent})"
            )
        if len(updates) < params.most_recent and start != 1:
            raise HistoryProofError(
                f"history proof has fewer than {params.most_recent} updates but does not "
                "reach version 1"
            )


def key_history_verify(
    config: Configuration,
    vrf_public_key: bytes | VrfPublicKey,
    root_hash: bytes,
    current_epoch: int,
    akd_label: bytes,
    proof: HistoryProof | bytes,
    params: HistoryParams | None = None,
    verification: HistoryVerification = HistoryVerification.DEFAULT,
) -> list[VerifyResult]:
    """Verify a key-history proof; returns one ``VerifyResult`` per version, newest first.

    ``params`` must be the same ``HistoryParams`` the server used (default ``Complete``).
    """
    root_hash = _check_digest(root_hash, "root hash")
    if isinstance(proof, bytes | bytearray | memoryview):
        proof = decode_history_proof(bytes(proof))
    params = params if params is not None else HistoryParams.complete()
    vrf_key = _public_key(vrf_public_key)
    _check_history_shape(proof, current_epoch, params)
    start, end = proof.update_proofs[-1].version, proof.update_proofs[0].version
    past, future = marker_versions(start, end, current_epoch)
    if (
        not len(past)
        == len(proof.past_marker_vrf_proofs)
        == len(proof.existence_of_past_marker_proofs)
    ):
        raise HistoryProofError(
            f"expected {len(past)} past-marker proofs, got "
            f"{len(proof.past_marker_vrf_proofs)} VRF proofs and "
            f"{len(proof.existence_of_past_marker_proofs)} membership proofs"
        )
    if (
        not len(future)
        == len(proof.future_marker_vrf_proofs)
        == len(proof.non_existence_of_future_marker_proofs)
    ):
        raise HistoryProofError(
            f"expected {len(future)} future-marker proofs, got "
            f"{len(proof.future_marker_vrf_proofs)} VRF proofs and "
            f"{len(proof.non_existence_of_future_marker_proofs)} non-membership proofs"
        )

    results: list[VerifyResult] = []
    last_epoch: int | None = None
    for update in proof.update_proofs:
        if last_epoch is not None and update.epoch > last_epoch:
            raise HistoryProofError(
                f"update proof epochs are not decreasing ({last_epoch} then {update.epoch})"
            )
        last_epoch = update.epoch
        tolerate_missing = verification is HistoryVerification.ALLOW_MISSING_VALUES
        if not (tolerate_missing and update.value == b""):
            _verify_value_commitment(
                config, update.value, update.epoch, update.commitment_nonce,
                update.existence_proof, HistoryProofError,
            )  # fmt: skip
        _verify_at_label(
            config, vrf_key, root_hash, akd_label, True, update.version,
            update.existence_vrf_proof, update.existence_proof,
        )  # fmt: skip
        if update.version > 1:
            if update.previous_version_proof is None:
                raise HistoryProofError("missing membership proof for previous version")
            if update.previous_version_vrf_proof is None:
                raise HistoryProofError("missing VRF proof for previous version")
            stale_leaf = config.leaf_hash(config.stale_azks_value, update.epoch)
            if stale_leaf != update.previous_version_proof.hash_val:
                raise HistoryProofError(
                    f"stale marker of version {update.version - 1} was not inserted in epoch "
                    f"{update.epoch}"
                )
            _verify_at_label(
                config, vrf_key, root_hash, akd_label, False, update.version - 1,
                update.previous_version_vrf_proof, update.previous_version_proof,
            )  # fmt: skip
        results.append(VerifyResult(update.epoch, update.version, update.value))

    for version, vrf_proof, membership in zip(
        past, proof.past_marker_vrf_proofs, proof.existence_of_past_marker_proofs, strict=True
    ):
        _verify_at_label(
            config, vrf_key, root_hash, akd_label, True, version, vrf_proof, membership
        )
    for version, vrf_proof, nonmembership in zip(
        future,
        proof.future_marker_vrf_proofs,
        proof.non_existence_of_future_marker_proofs,
        strict=True,
    ):
        try:
            _verify_at_label(
                config, vrf_key, root_hash, akd_label, True, version, vrf_proof, nonmembership
            )
        except (NonMembershipProofError, MembershipProofError, VrfError) as exc:
            raise HistoryProofError(
                f"non-existence of future marker proof for version {version} does not verify "
                f"({exc})"
            ) from exc
    return results
