"""Fixed-version search: version N of a label, with its value, is in a given tree.

The proof is akd's ``UpdateProof`` message (the element of a history proof) for that one
version: the VRF proof naming the node of (label, fresh, N), that node's membership proof
and the value's commitment nonce. It proves the version exists with this value — not that it
is current (a lookup proof does that); the previous-version fields are not used.
"""

from __future__ import annotations

from glasskey.core.akd.configuration import Configuration
from glasskey.core.akd.types import UpdateProof, VerifyResult
from glasskey.core.akd.verify import (
    _check_digest,
    _public_key,
    verify_label,
    verify_membership,
)
from glasskey.core.akd.wire import decode_update_proof
from glasskey.core.ecvrf import VrfPublicKey
from glasskey.core.errors import MalformedError, MembershipProofError, VersionProofError, VrfError


def version_verify(
    config: Configuration,
    vrf_public_key: bytes | VrfPublicKey,
    root_hash: bytes,
    current_epoch: int,
    akd_label: bytes,
    version: int,
    proof: UpdateProof | bytes,
) -> VerifyResult:
    """Verify that ``proof`` shows version ``version`` of ``akd_label`` in tree ``root_hash``.

    Returns ``VerifyResult(epoch published, version, value)``. Raises ``VersionProofError``
    for another version, a publication epoch after ``current_epoch``, a value that is not the
    committed one, a VRF proof for another label or version, or a path that does not lead to
    ``root_hash``; ``MalformedError`` for unreadable bytes.
    """
    root_hash = _check_digest(root_hash, "root hash")
    if isinstance(proof, bytes | bytearray | memoryview):
        proof = decode_update_proof(bytes(proof))
    key = _public_key(vrf_public_key)
    if proof.version != version:
        raise VersionProofError(f"asked for version {version}, the proof is for {proof.version}")
    if version < 1:
        raise VersionProofError("versions start at 1")
    if proof.epoch > current_epoch or proof.epoch < 1:
        raise VersionProofError(
            f"version {version} claims epoch {proof.epoch}, outside 1..{current_epoch}"
        )
    if proof.epoch >= 2**64:
        raise MalformedError(f"epoch {proof.epoch} does not fit in 64 bits")
    commitment = config.commitment(proof.value, proof.commitment_nonce)
    if config.leaf_hash(commitment, proof.epoch) != proof.existence_proof.hash_val:
        raise VersionProofError("the value (or its epoch) is not the one the tree commits to")
    try:
        verify_label(
            config, key, akd_label, True, version, proof.existence_vrf_proof,
            proof.existence_proof.label,
        )  # fmt: skip
    except VrfError as exc:
        raise VersionProofError(
            f"the proof is not for version {version} of {akd_label!r}: {exc}"
        ) from exc
    try:
        verify_membership(config, root_hash, proof.existence_proof)
    except MembershipProofError as exc:
        raise VersionProofError(f"version {version} is not in the tree: {exc}") from exc
    return VerifyResult(epoch=proof.epoch, version=proof.version, value=proof.value)
