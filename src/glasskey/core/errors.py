"""One exception hierarchy for everything glasskey can refuse.

Why one hierarchy: a client, an auditor and the CLI all need to tell "this proof is wrong"
(a security event) apart from "I could not parse your flag" (a usage error) without matching
strings. Every class carries a one-line human diagnosis in ``str(err)``; subclasses add
structured context as attributes so callers can log or serialise it.

Malformed bytes raise these too (``MalformedProofError``), never ``IndexError``/``ValueError``.
"""

from __future__ import annotations


class GlasskeyError(Exception):
    """Root of every error glasskey raises on purpose.

    ``code`` is a stable machine-readable identifier (used in JSON error bodies and the CLI's
    ``--json`` output); ``str(err)`` is the one-line diagnosis for humans.
    """

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GlasskeyError):
    """The caller asked for something that does not make sense (bad parameter, bad name)."""

    code = "usage"


class ConfigurationError(UsageError):
    """An unknown configuration name, a missing domain label, or an invalid setting."""

    code = "configuration"


class VerificationError(GlasskeyError):
    """Something that was supposed to prove a fact did not prove it.

    Every subclass means: do not trust the value that came with it.
    """

    code = "verification_failed"


class MalformedError(VerificationError):
    """Bytes that do not decode: truncated, garbage, wrong lengths, oversized."""

    code = "malformed"


class ProofError(VerificationError):
    """A proof decoded but does not verify against the claimed root."""

    code = "invalid_proof"


class MembershipProofError(ProofError):
    code = "invalid_membership_proof"


class NonMembershipProofError(ProofError):
    code = "invalid_non_membership_proof"


class LookupProofError(ProofError):
    code = "invalid_lookup_proof"


class HistoryProofError(ProofError):
    code = "invalid_history_proof"


class AppendOnlyProofError(ProofError):
    """An audit (append-only) proof does not connect the two claimed roots."""

    code = "invalid_append_only_proof"


class VrfError(VerificationError):
    """A VRF public key, proof or output is invalid, or the output is not the claimed label."""

    code = "invalid_vrf"


class ConsistencyError(VerificationError):
    """Two log states do not extend each other (RFC 6962 consistency, or append-only)."""

    code = "inconsistent"


class InclusionError(VerificationError):
    """An RFC 6962 inclusion proof does not place the leaf in the tree."""

    code = "invalid_inclusion_proof"


class SignatureError(VerificationError):
    """A signature (checkpoint, auditor countersignature) is missing or does not verify."""

    code = "invalid_signature"


class ForkDetected(ConsistencyError):
    """The log showed two views that cannot both be true (split view / equivocation)."""

    code = "fork_detected"


class RollbackDetected(ConsistencyError):
    """The log served an older state than one already seen."""

    code = "rollback_detected"


class StaleHead(VerificationError):
    """The newest signed head is older than the configured maximum age."""

    code = "stale_head"


class KeyMaterialError(GlasskeyError):
    """A signing or verifying key could not be loaded (never includes key material)."""

    code = "key"


__all__ = [
    "AppendOnlyProofError",
    "ConfigurationError",
    "ConsistencyError",
    "ForkDetected",
    "GlasskeyError",
    "HistoryProofError",
    "InclusionError",
    "KeyMaterialError",
    "LookupProofError",
    "MalformedError",
    "MembershipProofError",
    "NonMembershipProofError",
    "ProofError",
    "RollbackDetected",
    "SignatureError",
    "StaleHead",
    "UsageError",
    "VerificationError",
    "VrfError",
]
