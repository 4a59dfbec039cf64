"""glasskey's native accelerator; import it through ``glasskey.core._native``, never directly."""

from glasskey_native._native import (
    ABI_VERSION,
    PublicKey,
    SecretKey,
    append_only_roots,
    encode_lookup_proof,
    insert,
    leaf_commitments,
    lookup_encoder_layouts,
    proof_to_hash,
)

__all__ = [
    "ABI_VERSION",
    "PublicKey",
    "SecretKey",
    "append_only_roots",
    "encode_lookup_proof",
    "insert",
    "leaf_commitments",
    "lookup_encoder_layouts",
    "proof_to_hash",
]
