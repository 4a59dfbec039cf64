"""What ``DirectoryService`` answers: plain, immutable values a front end encodes.

Why typed values rather than JSON dicts: the service decides *what* is true (which epoch, which
proofs, which countersignature); how that is spelled on a wire (hex or base64, JSON keys,
protobuf bodies with ``X-Glasskey-*`` headers) is the HTTP layer's business, and only there.
"""

from __future__ import annotations

from dataclasses import dataclass

from glasskey.core.akd._absence import AbsenceProof
from glasskey.core.akd.types import EpochHash, HistoryProof, LookupProof, UpdateProof
from glasskey.core.plexi import KeyInfo, SignatureResponse
from glasskey.server._countersign import CountersignStatus
from glasskey.server._replica import ReplicaLag
from glasskey.server._rootlog import CheckpointRecord
from glasskey.server._witnessing import WitnessStatus


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A proof with the signed state it is valid in: epoch hash and covering checkpoint."""

    epoch_hash: EpochHash
    checkpoint: CheckpointRecord


@dataclass(frozen=True, slots=True)
class StateProof:
    """The signed root-log state a proof is valid in, with the log proofs that tie it down.

    ``log_inclusion`` proves the epoch's leaf is in ``checkpoint``; ``log_consistency`` proves
    the checkpoint extends the log size the client saw (``consistency_from``). It is None when
    the client named a size larger than the checkpoint's: no proof can exist, and the client
    treats that as a rollback.
    """

    snapshot: Snapshot
    log_inclusion: list[bytes]
    consistency_from: int | None
    log_consistency: list[bytes] | None
    auditor_signature: SignatureResponse | None
    #: The auditor's newest countersignature for this log: a client that sees it name a
    #: later epoch than the served one knows the served head is a rollback.
    auditor_latest: SignatureResponse | None = None

    @property
    def epoch(self) -> int:
        return self.snapshot.epoch_hash.epoch


@dataclass(frozen=True, slots=True)
class Bundle:
    """A user's current key: its AKD lookup proof in the state it was served from."""

    user_id: str
    proof: LookupProof
    state: StateProof
    #: When the served version's epoch was published (Unix seconds; the log's word).
    published_at: float | None = None


@dataclass(frozen=True, slots=True)
class VersionBundle:
    """Version ``proof.version`` of a user's key with its existence proof (fixed version)."""

    user_id: str
    proof: UpdateProof
    state: StateProof


@dataclass(frozen=True, slots=True)
class Absence:
    """A user that never published: the proof that its first version is not in the tree."""

    user_id: str
    proof: AbsenceProof
    state: StateProof


@dataclass(frozen=True, slots=True)
class History:
    """A user's key history: ``most_recent`` None is ``Complete``, else ``MostRecent(n)``."""

    user_id: str
    most_recent: int | None
    proof: HistoryProof
    state: StateProof
    #: Publication time of each version's epoch, in ``proof.update_proofs`` order.
    published_at: tuple[float | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Root:
    """The newest signed checkpoint of the log ``origin``."""

    origin: str
    state: StateProof


@dataclass(frozen=True, slots=True)
class Consistency:
    """RFC 6962 consistency proof between two root-log sizes, and the larger size's root."""

    from_size: int
    to_size: int
    proof: list[bytes]
    to_root: bytes


@dataclass(frozen=True, slots=True)
class RootLogEntry:
    epoch: int
    root_hash: bytes
    appended_at: float


@dataclass(frozen=True, slots=True)
class AuditLog:
    """Recent epochs' roots (newest first) with the newest checkpoint and countersignature."""

    entries: list[RootLogEntry]
    checkpoint: CheckpointRecord | None
    auditor_signature: SignatureResponse | None


@dataclass(frozen=True, slots=True)
class AuditProof:
    """AKD append-only proof over epochs ``start..end`` (encoded AppendOnlyProof); the
    epochs' ``roots`` (empty unless they were asked for). ``end`` is where this page stops,
    ``requested_end`` where the caller asked to go: the rest is the next page's."""

    start: int
    end: int
    proof: bytes
    roots: list[bytes]
    requested_end: int


@dataclass(frozen=True, slots=True)
class AuditorInfo:
    """The auditor countersigning this log; ``url`` never carries credentials."""

    url: str
    namespace: str
    keys: tuple[KeyInfo, ...]
    latest: SignatureResponse | None
    status: CountersignStatus


@dataclass(frozen=True, slots=True)
class LogKeys:
    """The public keys and configuration a client pins, with the log's publication promise."""

    origin: str
    log_public_key: str
    vrf_public_key: bytes
    configuration: str
    domain_label: bytes | None
    #: Seconds within which every accepted upload is published (``ServerSettings``).
    max_publication_delay: float
    #: Seconds between re-signings of the head checkpoint (``ServerSettings``).
    checkpoint_refresh: float
    #: Which user ids name the same user (``ServerSettings.user_id_policy``).
    user_id_policy: str = "exact"


@dataclass(frozen=True, slots=True)
class Readiness:
    """A ready server: its epoch, whether it publishes, its queue, the auditor's progress."""

    epoch: int
    publisher: bool
    queue_depth: int
    auditor: CountersignStatus | None
    witnesses: tuple[WitnessStatus, ...] = ()
    #: A read replica's lag behind its writer (None: not a replica).
    replica: ReplicaLag | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """The durable record of one accepted key upload."""

    update_id: int
    user_id: str
    value_sha256: bytes
    accepted_at: float


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    """Where an upload is: ``pending`` or ``published`` (then with its epoch and, when the
    signed log has caught up, the lookup proof of the current key)."""

    receipt: Receipt
    status: str
    epoch: int | None
    bundle: Bundle | None
