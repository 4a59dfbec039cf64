"""facebook/akd-compatible verification: configurations, proof types, protobuf codec, verifiers.

>>> from glasskey.core.akd import get_configuration, lookup_verify
>>> result = lookup_verify(get_configuration("whatsapp_v1"), vrf_public_key, root_hash,
...                        epoch, b"alice", proof_bytes)  # raises VerificationError if not

The tree-level pieces (node labels, marker versions, membership checks) stay in their
modules: they are how the verifiers work, not what a caller needs.
"""

from glasskey.core.akd.audit import (
    AuditBlobName,
    audit_verify,
    format_audit_blob_name,
    parse_audit_blob_name,
    verify_audit_blob,
    verify_single_append_only,
)
from glasskey.core.akd.configuration import CONFIGURATION_NAMES, Configuration, get_configuration
from glasskey.core.akd.types import (
    AppendOnlyProof,
    EpochHash,
    HistoryParams,
    HistoryProof,
    HistoryVerification,
    LookupProof,
    SingleAppendOnlyProof,
    VerifyResult,
)
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.akd.wire import (
    decode_append_only_proof,
    decode_history_proof,
    decode_lookup_proof,
    decode_single_append_only_proof,
    encode_append_only_proof,
    encode_history_proof,
    encode_lookup_proof,
    encode_single_append_only_proof,
)

__all__ = [
    "CONFIGURATION_NAMES",
    "AppendOnlyProof",
    "AuditBlobName",
    "Configuration",
    "EpochHash",
    "HistoryParams",
    "HistoryProof",
    "HistoryVerification",
    "LookupProof",
    "SingleAppendOnlyProof",
    "VerifyResult",
    "audit_verify",
    "decode_append_only_proof",
    "decode_history_proof",
    "decode_lookup_proof",
    "decode_single_append_only_proof",
    "encode_append_only_proof",
    "encode_history_proof",
    "encode_lookup_proof",
    "encode_single_append_only_proof",
    "format_audit_blob_name",
    "get_configuration",
    "key_history_verify",
    "lookup_verify",
    "parse_audit_blob_name",
    "verify_audit_blob",
    "verify_single_append_only",
]
