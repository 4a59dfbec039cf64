"""AKD proof structures as plain, immutable Python values (spec section 8).

These mirror akd's Rust types field for field so that the protobuf codec (``wire``) is a
mechanical mapping and the verifiers read like the specification. Tuples instead of lists:
a verified proof must not be mutable after the fact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from glasskey.core.akd._node_label import Direction, NodeLabel
from glasskey.core.errors import UsageError


@dataclass(frozen=True, slots=True)
class AzksElement:
    """A node as proofs carry it: its label and 32-byte value (or contribution)."""

    label: NodeLabel
    value: bytes


_new_object = object.__new__
_set_label: Callable[[AzksElement, NodeLabel], None] = vars(AzksElement)["label"].__set__
_set_value: Callable[[AzksElement, bytes], None] = vars(AzksElement)["value"].__set__


def new_element(label: NodeLabel, value: bytes) -> AzksElement:
    """``AzksElement(label, value)`` through its slots: a frozen dataclass's ``__init__``
    sets each field with ``object.__setattr__``, which costs twice this, and an audit proof
    makes one element per inserted leaf and unchanged subtree (23k at 10k updates)."""
    element: AzksElement = _new_object(AzksElement)
    _set_label(element, label)
    _set_value(element, value)
    return element


@dataclass(frozen=True, slots=True)
class SiblingProof:
    """One level of a membership path: the parent's label, the off-path sibling(s), direction.

    Only ``siblings[0]`` is used by verification (akd keeps an array for future arity).
    """

    label: NodeLabel
    siblings: tuple[AzksElement, ...]
    direction: Direction


@dataclass(frozen=True, slots=True)
class MembershipProof:
    """Path from a node up to the root; ``sibling_proofs[0]`` is the root level."""

    label: NodeLabel
    hash_val: bytes
    sibling_proofs: tuple[SiblingProof, ...]


@dataclass(frozen=True, slots=True)
class NonMembershipProof:
    """``label`` is absent: its longest existing prefix node has these two children."""

    label: NodeLabel
    longest_prefix: NodeLabel
    longest_prefix_children: tuple[AzksElement, AzksElement]
    longest_prefix_membership_proof: MembershipProof


@dataclass(frozen=True, slots=True)
class LookupProof:
    epoch: int
    value: bytes
    version: int
    existence_vrf_proof: bytes
    existence_proof: MembershipProof
    marker_vrf_proof: bytes
    marker_proof: MembershipProof
    freshness_vrf_proof: bytes
    freshness_proof: NonMembershipProof
    commitment_nonce: bytes


@dataclass(frozen=True, slots=True)
class UpdateProof:
    epoch: int
    value: bytes
    version: int
    existence_vrf_proof: bytes
    existence_proof: MembershipProof
    previous_version_vrf_proof: bytes | None
    previous_version_proof: MembershipProof | None
    commitment_nonce: bytes


@dataclass(frozen=True, slots=True)
class HistoryProof:
    update_proofs: tuple[UpdateProof, ...]
    past_marker_vrf_proofs: tuple[bytes, ...]
    existence_of_past_marker_proofs: tuple[MembershipProof, ...]
    future_marker_vrf_proofs: tuple[bytes, ...]
    non_existence_of_future_marker_proofs: tuple[NonMembershipProof, ...]


@dataclass(frozen=True, slots=True)
class SingleAppendOnlyProof:
    """One epoch's audit proof: new leaves (raw values) and untouched subtree roots."""

    inserted: tuple[AzksElement, ...]
    unchanged_nodes: tuple[AzksElement, ...]


@dataclass(frozen=True, slots=True)
class AppendOnlyProof:
    """Consecutive single proofs; ``epochs[i]`` is the *start* epoch of ``proofs[i]``."""

    proofs: tuple[SingleAppendOnlyProof, ...]
    epochs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EpochHash:
    """The published commitment: an epoch number and its 32-byte root hash."""

    epoch: int
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a lookup or history proof established for one version of a label."""

    epoch: int
    version: int
    value: bytes


class HistoryParams:
    """Which versions a history proof covers: ``Complete`` or ``MostRecent(n)`` (akd 0.12)."""

    __slots__ = ("most_recent",)

    def __init__(self, most_recent: int | None = None) -> None:
        if most_recent is not None and most_recent < 1:
            raise UsageError(f"MostRecent(n) needs n >= 1, got {most_recent}")
        self.most_recent = most_recent

    @classmethod
    def complete(cls) -> HistoryParams:
        return cls(None)

    @classmethod
    def most_recent_n(cls, n: int) -> HistoryParams:
        return cls(n)

    @property
    def is_complete(self) -> bool:
        return self.most_recent is None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HistoryParams) and other.most_recent == self.most_recent

    def __hash__(self) -> int:
        return hash(self.most_recent)

    def __repr__(self) -> str:
        return "Complete" if self.most_recent is None else f"MostRecent({self.most_recent})"


class HistoryVerification(Enum):
    """``Default`` checks every value; ``AllowMissingValues`` tolerates tombstoned (empty) ones."""

    DEFAULT = "default"
    ALLOW_MISSING_VALUES = "allow_missing_values"
