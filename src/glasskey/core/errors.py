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


class AbsenceProofError(ProofError):
    """A proof that a label has no published version does not verify (or is for another
    label, epoch or tree)."""

    code = "invalid_absence_proof"


class VersionProofError(ProofError):
    """A fixed-version proof does not show the requested version of the requested label."""

    code = "invalid_version_proof"


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


# -- request outcomes ------------------------------------------------------------------------
#
# Why here and not in the HTTP layer: the directory, the auditor's rules and both HTTP
# clients all speak of "not found" or "conflict", and each must mean the same class on both
# sides of a wire. ``glasskey.api.errors`` maps these classes to HTTP statuses and back.


class RequestError(GlasskeyError):
    """A request could not be served as asked; each subclass is one outcome a service reports.

    Services raise the subclasses. HTTP clients raise them too for the error answers they
    receive (``glasskey.api.errors.error_from_http``); then ``status`` is the HTTP status and
    ``server_code`` the code the server put in its error body. This base class is what a
    client raises for an answer no subclass describes.
    """

    code = "server_error"

    def __init__(
        self, message: str, *, status: int | None = None, server_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.server_code = server_code


class NotFound(RequestError):
    """What was asked for does not exist (or is not published)."""

    code = "not_found"


class Conflict(RequestError):
    """The resource already exists (a name or an epoch that is taken)."""

    code = "conflict"


class ReplayedUpload(Conflict):
    """An upload repeats an earlier one's ``upload_id`` and may not take effect again: with
    another key, or after a newer upload (it would revert the key to an older one)."""

    code = "replayed_upload"


class Unavailable(RequestError):
    """The service cannot answer right now (starting, lagging, a dependency is down)."""

    code = "unavailable"


class Unauthenticated(RequestError):
    """No valid credential was presented."""

    code = "unauthenticated"


class PermissionDenied(RequestError):
    """The caller is authenticated but may not do this."""

    code = "forbidden"


class RateLimited(RequestError):
    """The caller sent too many requests; it should slow down."""

    code = "rate_limited"


class ConstraintViolation(RequestError):
    """A rule of the service refused the request (e.g. an auditor's publication rules)."""

    code = "constraint_violation"


__all__ = [
    "AppendOnlyProofError",
    "ConfigurationError",
    "Conflict",
    "ConsistencyError",
    "ConstraintViolation",
    "ForkDetected",
    "GlasskeyError",
    "HistoryProofError",
    "InclusionError",
    "KeyMaterialError",
    "LookupProofError",
    "MalformedError",
    "MembershipProofError",
    "NonMembershipProofError",
    "NotFound",
    "PermissionDenied",
    "ProofError",
    "RateLimited",
    "ReplayedUpload",
    "RequestError",
    "RollbackDetected",
    "SignatureError",
    "StaleHead",
    "Unauthenticated",
    "Unavailable",
    "UsageError",
    "VerificationError",
    "VrfError",
]
