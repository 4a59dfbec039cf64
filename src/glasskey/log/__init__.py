"""glasskey.log — the RFC 6962 log of epoch roots and its C2SP signed checkpoints.

Why a Merkle log on top of the AKD directory: AKD's audit proofs show each epoch extends the
previous one, but a client also needs to know that everybody sees the *same* sequence of
epochs. Appending every epoch root to an RFC 6962 tree and signing C2SP checkpoints gives
that with standard, widely implemented parts: clients compare checkpoints, check
consistency proofs between them, and witnesses can cosign them.

Pure (no I/O); a client needs only this package and :mod:`glasskey.core`.

* :mod:`glasskey.log.rfc6962` — hashing, proof generation from a :class:`HashStore`, the
  :class:`CompactRange` tree state, inclusion/consistency verification.
* :mod:`glasskey.log.leaf` — the epoch-root leaf encoding (:class:`EpochRoot`).
* :mod:`glasskey.log.note` — C2SP signed notes, verifier keys, Ed25519 and cosignature/v1.
* :mod:`glasskey.log.checkpoint` — C2SP tlog-checkpoint bodies, signing and opening.
* :mod:`glasskey.log.profile` — glasskey's checkpoint profile: how the log signs its
  checkpoints (with a timestamped cosignature) and how a client opens them. Exported as a
  module because its ``sign_checkpoint`` / ``open_checkpoint`` are the profile's, not C2SP's.
* :mod:`glasskey.log.witness` — C2SP tlog-witness wire formats, witness keys, quorum time.
* :mod:`glasskey.log.forkevidence` — offline-checkable evidence of a split view.
"""

from glasskey.log import forkevidence, profile, witness
from glasskey.log._credential import (
    Credential,
    CredentialError,
    CredentialPolicy,
    VerifiedCredential,
    decode_credential,
    encode_credential,
    verify_credential,
)
from glasskey.log.checkpoint import (
    Checkpoint,
    VerifiedCheckpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from glasskey.log.leaf import EpochRoot, epoch_root_leaf, epoch_root_leaf_hash
from glasskey.log.note import (
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    Note,
    NoteSignature,
    NoteVerifier,
    VerifiedNote,
    cosign_note,
    note_verifier_for,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
    vkey_string,
)
from glasskey.log.rfc6962 import (
    EMPTY_ROOT,
    CompactRange,
    HashStore,
    LeafHashStore,
    MemoryHashStore,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "CompactRange",
    "CosignatureV1Verifier",
    "Credential",
    "CredentialError",
    "CredentialPolicy",
    "Ed25519NoteVerifier",
    "EpochRoot",
    "HashStore",
    "LeafHashStore",
    "MemoryHashStore",
    "NodeId",
    "Note",
    "NoteSignature",
    "NoteVerifier",
    "VerifiedCheckpoint",
    "VerifiedCredential",
    "VerifiedNote",
    "consistency_proof",
    "cosign_note",
    "decode_credential",
    "encode_credential",
    "epoch_root_leaf",
    "epoch_root_leaf_hash",
    "forkevidence",
    "inclusion_proof",
    "leaf_hash",
    "merkle_tree_hash",
    "node_hash",
    "note_verifier_for",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_vkey",
    "profile",
    "prove_consistency",
    "prove_inclusion",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_credential",
    "verify_inclusion",
    "vkey_string",
    "witness",
]
