"""Plexi-compatible auditor signatures: pure encoders, key ids, key selection, verification.

Clients use this package to check an auditor's countersignature of an epoch without any I/O:
parse the JSON with :class:`SignatureResponse.from_json_obj`, the auditor's ``/info`` with
:class:`AuditorConfiguration.from_json_obj`, then call :meth:`SignatureResponse.verify`.
The byte layouts are in ``shared/spec/auditor-compat.md`` section 3.
"""

from glasskey.core.plexi.messages import (
    AuditorConfiguration,
    LastVerifiedEpoch,
    NamespaceInfo,
    NamespaceStatus,
    SignatureResponse,
    format_root,
    parse_root,
    validate_namespace_name,
)
from glasskey.core.plexi.signing import (
    Ciphersuite,
    EpochStatement,
    KeyInfo,
    candidate_keys,
    ciphersuite_display,
    encode_bincode,
    encode_protobuf,
    key_id,
    select_signing_key,
    signed_bytes,
    verify_ed25519,
    verify_statement,
)

__all__ = [
    "AuditorConfiguration",
    "Ciphersuite",
    "EpochStatement",
    "KeyInfo",
    "LastVerifiedEpoch",
    "NamespaceInfo",
    "NamespaceStatus",
    "SignatureResponse",
    "candidate_keys",
    "ciphersuite_display",
    "encode_bincode",
    "encode_protobuf",
    "format_root",
    "key_id",
    "parse_root",
    "select_signing_key",
    "signed_bytes",
    "validate_namespace_name",
    "verify_ed25519",
    "verify_statement",
]
