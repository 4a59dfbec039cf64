"""The storage protocol every backend implements (in-memory, SQLite, PostgreSQL).

Why this shape: the directory engine needs exactly four kinds of state — tree nodes, value
states (which version of which label holds which value), the published epochs, and the
durable queue of accepted-but-unpublished updates — and it needs them *transactionally*: an
epoch is written whole or not at all. So a backend hands out read and write transactions,
and every method on a transaction is batched (one call, one round trip) so that publish and
proof generation stay at O(tree depth) and O(1) round trips respectively.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class NodeRecord:
    """One node of the AKD prefix tree as stored.

    ``key`` encodes the label (``BE16(bit length) || label bytes``, see
    ``glasskey.directory.akd._keys.node_key``). For a leaf ``value`` is the raw AZKS value
    (commitment or stale marker) and ``last_epoch == min_epoch`` is its insertion epoch; for
    the root and interior nodes ``value`` is the node hash. Children are denormalised (label
    key *and* hash contribution) so a membership proof needs only the path's rows.
    """

    key: bytes
    value: bytes
    last_epoch: int
    min_epoch: int
    left_key: bytes | None = None
    left_hash: bytes | None = None
    right_key: bytes | None = None
    right_hash: bytes | None = None


#: A node as one row of its columns, in ``NodeRecord``'s field order: what a pass over many
#: nodes returns, the cursor's own tuples (SQLite, 38k rows of a 10k-update epoch: 38 ms,
#: 46 ms when each row becomes a ``NodeRecord``).
NodeRow = tuple[bytes, bytes, int, int, bytes | None, bytes | None, bytes | None, bytes | None]


@dataclass(frozen=True, slots=True)
class ValueState:
    """Version ``version`` of ``label`` holds ``value`` since epoch ``epoch``.

    ``existence_vrf`` and ``freshness_vrf`` are the VRF proofs a lookup of this version needs
    (of ``(label, fresh, version)`` and ``(label, stale, version)``), ``stale_label`` the
    node label of the latter (where the freshness proof's path ends). They are derivable from
    the VRF key, so publishing leaves them empty and ``Directory.fill_vrf_proofs`` stores them
    afterwards: a lookup then reads its proofs instead of computing two or three (~0.2 ms
    each), while publishing keeps its pace.
    """

    label: bytes
    version: int
    epoch: int
    value: bytes
    node_label: bytes  # 32-byte VRF-derived fresh leaf label
    existence_vrf: bytes | None = None
    freshness_vrf: bytes | None = None
    stale_label: bytes | None = None


#: What ``put_vrf_proofs`` stores for one version: (label, version, existence proof,
#: freshness proof, stale node label).
StoredProofs = tuple[bytes, int, bytes, bytes, bytes]


@dataclass(frozen=True, slots=True)
class PendingRecord:
    update_id: int
    label: bytes
    value: bytes


class StoreTransaction(Protocol):
    """Reads always; writes only on a transaction from ``Store.write()``."""

    def latest_epoch(self) -> int: ...
    def epoch_root(self, epoch: int) -> bytes | None: ...
    def get_nodes(self, keys: Collection[bytes]) -> dict[bytes, NodeRecord]:
        """Records by key. Only a write transaction's records may be mutated (then written
        back with ``put_nodes``); a read transaction's may be shared with other readers."""
        ...

    def nodes_changed_after(self, epoch: int, expected_reads: int) -> dict[bytes, NodeRow] | None:
        """Every node whose ``last_epoch`` is after ``epoch``, as rows by key, by one
        sequential pass over the nodes, when that pass costs less than ``expected_reads``
        reads by key; else ``None`` (the caller reads by key). An audit proof visits exactly
        these nodes and their children, and on SQLite a pass over every row costs about one
        read by key per page (a pass reads ~9 rows a microsecond, a read by key is one B-tree
        search of ~2 us), so a large epoch's proof reads far less this way; a small epoch's,
        in a large tree, reads by key."""
        ...

    def latest_states(self, labels: Collection[bytes]) -> dict[bytes, ValueState]: ...
    def label_states(self, label: bytes) -> list[ValueState]: ...
    def states_at(
        self, keys: Collection[tuple[bytes, int]]
    ) -> dict[tuple[bytes, int], ValueState]: ...
    def unproven_states(self, limit: int) -> list[tuple[bytes, int]]: ...
    def pending(self, limit: int) -> list[PendingRecord]: ...
    def pending_count(self) -> int: ...
    def update_status(self, update_id: int) -> tuple[str, int | None] | None: ...
    def stats(self) -> dict[str, int]: ...

    # writes
    def put_nodes(self, nodes: Iterable[NodeRecord]) -> None: ...
    def put_states(self, states: Iterable[ValueState]) -> None: ...
    def put_vrf_proofs(self, proofs: Iterable[StoredProofs]) -> None: ...
    def add_epoch(self, epoch: int, root_hash: bytes) -> None: ...
    def enqueue(self, label: bytes, value: bytes) -> int: ...
    def mark_published(self, update_ids: Collection[int], epoch: int) -> None: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """A portable statement (``?`` placeholders) on a caller's own table beside the
        directory's, in this transaction: the caller's rows commit with the directory's or
        not at all. The in-memory store has no SQL tables and raises ``NotImplementedError``."""


class Store(Protocol):
    """A storage backend: hands out transactions; ``close()`` releases connections."""

    url: str

    def read(self) -> AbstractContextManager[StoreTransaction]: ...
    def write(self, publisher: bool = True) -> AbstractContextManager[StoreTransaction]: ...
    def close(self) -> None: ...
