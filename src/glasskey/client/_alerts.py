"""Typed alerts the verifying client raises or reports.

Every alert is a ``glasskey.core.errors.VerificationError`` (so ``except VerificationError``
catches all of them), and each maps to one thing the server did wrong:

==========================  =================================================================
``LookupProofError`` etc.   the AKD proof does not verify (forged or tampered key)
``WrongLabel``              the response is about another user than the one asked for
``VrfError``                the VRF proof does not verify for the label under the pinned key
``SignatureError``          the checkpoint is not signed by the pinned log key
``TrustMismatch``           the server presents other keys than the ones pinned for it (a
                            re-created server, another server at the URL, or an attacker)
``VrfKeyMismatch``          the pinned VRF key is not the one the server declares (a wrongly
                            configured pin, or the server changed its VRF key)
``InclusionError``          the epoch is not in the signed root log
``ForkDetected``            two signed checkpoints that do not extend each other (split view)
``RollbackDetected``        an older log than one already seen (rollback / replayed head)
``StaleHead``               the newest signed head is older than the configured maximum age
``UnexpectedKeyVersion``    owner monitoring: a version of your label you did not make, or an
                            old upload of yours published again (a replay)
``UpdateNotPublished``      owner monitoring: an upload of yours is still not in the log after
                            the log's declared maximum publication delay (frozen or dropped)
``AuditorSignatureInvalid`` the auditor countersignature served with a proof does not verify
                            under the pinned auditor key(s), or covers another epoch/root
``AuditorSignatureMissing`` ``AuditorPin(required=True)``: the served epoch has no
                            countersignature
``KeyChanged``              contact monitoring: a version you saw earlier now has another value
``UnwitnessedHead``         fewer than the policy's threshold of pinned witnesses cosigned the
                            checkpoint (a head the witnesses have not seen: maybe a split view)
``InvalidGossip``           a checkpoint handed over by someone else is not signed by the log
``GossipUnverified``        another party's checkpoint has another size and the server would
                            not prove it consistent with ours
``UnprovenAbsence``         a 404 for a user with no valid proof of absence (maybe hidden)
``ContactKeyChanged``       ``monitor_contacts``: a watched contact has a newer key version
``ContactHistoryInconsistent`` ``monitor_contacts``: a version verified earlier is gone, holds
                            another key, or its history is no longer proven
==========================  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from glasskey.core.errors import (
    ConsistencyError,
    ForkDetected,
    HistoryProofError,
    InclusionError,
    LookupProofError,
    MalformedError,
    ProofError,
    RollbackDetected,
    SignatureError,
    StaleHead,
    VerificationError,
    VrfError,
)


class WrongLabel(VerificationError):
    """The server answered for a different label than the one requested."""

    code = "wrong_label"


class UnexpectedKeyVersion(VerificationError):
    """Owner monitoring found a version of your own label that this client did not upload."""

    code = "unexpected_version"


class UpdateNotPublished(VerificationError):
    """Owner monitoring: an upload this client sent is not in the log past the delay the log
    promised (its pinned ``max_publication_delay``): a frozen head or a dropped upload."""

    code = "update_not_published"


class KeyChanged(ForkDetected):
    """A (label, version) this client verified before is now proven with a different value."""

    code = "key_changed"


class UnprovenAbsence(ProofError):
    """The server says a user has no key (404) but does not prove it: no proof of absence,
    or one that does not verify for this label in the signed epoch. The user may exist and
    be hidden from this client; do not treat the contact as keyless."""

    code = "unproven_absence"


class ContactKeyChanged(VerificationError):
    """Contact monitoring: a watched contact published a newer key version since it was
    verified (legitimate or not: show the safety-number change and let the user decide)."""

    code = "contact_key_changed"


class ContactHistoryInconsistent(VerificationError):
    """Contact monitoring: a version of a contact this client verified is missing from the
    contact's proven history, holds another key there, or the server no longer proves the
    history at all: the server showed this client a key it does not show the world."""

    code = "contact_history_inconsistent"


class TrustMismatch(SignatureError):
    """The server presents other public keys than the ones pinned for it."""

    code = "trust_mismatch"


class VrfKeyMismatch(TrustMismatch):
    """The pinned VRF key is not the one the server's key document declares, while the log
    key matches: a wrongly configured ``--vrf-key``/``Trust`` (or a server that changed its
    VRF key, which invalidates every label). Not a statement about any one contact."""

    code = "vrf_key_mismatch"


class AuditorSignatureInvalid(SignatureError):
    """The auditor signature served with a proof is forged, altered or for something else."""

    code = "auditor_signature_invalid"


class AuditorSignatureMissing(SignatureError):
    """The client requires an auditor countersignature and the served epoch has none."""

    code = "auditor_signature_missing"


class UnwitnessedHead(SignatureError):
    """The checkpoint lacks the policy's threshold of valid witness cosignatures."""

    code = "unwitnessed_head"


class InvalidGossip(SignatureError):
    """A checkpoint received from another party does not verify under the pinned log key:
    worthless (anyone can make one), and no evidence against the log either."""

    code = "invalid_gossip"


class GossipUnverified(VerificationError):
    """Another party's checkpoint has a different size and the server gave no consistency
    proof that verifies: its views cannot be reconciled (maybe a fork, not proven)."""

    code = "gossip_unverified"


@dataclass(frozen=True, slots=True)
class Alert:
    """A monitoring finding (monitor calls report all of them rather than stop at the first)."""

    code: str
    message: str
    label: str
    version: int | None = None
    epoch: int | None = None

    @classmethod
    def from_error(cls, err: VerificationError, label: str, version: int | None = None) -> Alert:
        return cls(err.code, str(err), label, version, getattr(err, "epoch", None))


__all__ = [
    "Alert",
    "AuditorSignatureInvalid",
    "AuditorSignatureMissing",
    "ConsistencyError",
    "ContactHistoryInconsistent",
    "ContactKeyChanged",
    "ForkDetected",
    "GossipUnverified",
    "HistoryProofError",
    "InclusionError",
    "InvalidGossip",
    "KeyChanged",
    "LookupProofError",
    "MalformedError",
    "ProofError",
    "RollbackDetected",
    "SignatureError",
    "StaleHead",
    "TrustMismatch",
    "UnexpectedKeyVersion",
    "UnprovenAbsence",
    "UnwitnessedHead",
    "UpdateNotPublished",
    "VerificationError",
    "VrfError",
    "VrfKeyMismatch",
    "WrongLabel",
]
