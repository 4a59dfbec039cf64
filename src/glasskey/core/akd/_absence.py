"""Proofs of absence: a label has no published version at all in a given tree.

Why this is enough: versions of a label start at 1 and akd never removes a leaf, so the label
has *some* version exactly when the node of its version 1 (fresh) is in the tree. The proof is
therefore two akd messages — the VRF proof that names that node and akd's own
``NonMembershipProof`` of it — so akd's non-membership verifier checks the tree part
unchanged (the interop harness shows it). The verifier binds both to one label and one root;
what makes the root the current one is the caller's (the client checks the signed checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from glasskey.core.akd.configuration import Configuration
from glasskey.core.akd.types import NonMembershipProof
from glasskey.core.akd.verify import _check_digest, _public_key, verify_label, verify_nonmembership
from glasskey.core.akd.wire import decode_non_membership_proof, encode_non_membership_proof
from glasskey.core.ecvrf import VrfPublicKey
from glasskey.core.errors import (
    AbsenceProofError,
    MalformedError,
    MembershipProofError,
    NonMembershipProofError,
    VrfError,
)

#: The version whose absence proves that a label never had any (versions start at 1).
FIRST_VERSION = 1


@dataclass(frozen=True, slots=True)
class AbsenceProof:
    """``vrf_proof`` names the node of (label, fresh, version 1); ``non_membership`` shows that
    node is not in the tree."""

    vrf_proof: bytes
    non_membership: NonMembershipProof

    def encoded(self) -> tuple[bytes, bytes]:
        """(VRF proof, akd ``NonMembershipProof`` protobuf): the two parts as sent."""
        return self.vrf_proof, encode_non_membership_proof(self.non_membership)


def decode_absence_proof(vrf_proof: bytes, non_membership: bytes) -> AbsenceProof:
    """The two wire parts as an ``AbsenceProof`` (``MalformedError`` for unreadable bytes)."""
    if not isinstance(vrf_proof, bytes) or len(vrf_proof) != 80:
        raise MalformedError("absence proof: the VRF proof must be 80 bytes")
    return AbsenceProof(vrf_proof, decode_non_membership_proof(non_membership))


def absence_verify(
    config: Configuration,
    vrf_public_key: bytes | VrfPublicKey,
    root_hash: bytes,
    akd_label: bytes,
    proof: AbsenceProof,
) -> None:
    """Return only if ``proof`` shows ``akd_label`` has no version in the tree ``root_hash``.

    Raises ``AbsenceProofError`` when the VRF proof is not for this label's first version
    (another label, another version, a stale marker) or when the non-membership proof does not
    lead to ``root_hash``; ``MalformedError`` for a root hash of the wrong size.
    """
    root_hash = _check_digest(root_hash, "root hash")
    key = _public_key(vrf_public_key)
    try:
        verify_label(
            config, key, akd_label, True, FIRST_VERSION, proof.vrf_proof,
            proof.non_membership.label,
        )  # fmt: skip
    except VrfError as exc:
        raise AbsenceProofError(
            f"the absence proof is not about label {akd_label!r} version {FIRST_VERSION}: {exc}"
        ) from exc
    try:
        verify_nonmembership(config, root_hash, proof.non_membership)
    except (NonMembershipProofError, MembershipProofError) as exc:
        raise AbsenceProofError(
            f"the absence proof does not show {akd_label!r} missing from the tree: {exc}"
        ) from exc
