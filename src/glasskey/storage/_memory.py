"""In-memory backend: for tests, benchmarks and throwaway demos.

A write transaction buffers its changes in an overlay and applies them only on success, so
the in-memory backend keeps the same all-or-nothing epoch semantics as the SQL backends.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from glasskey.storage._base import NodeRecord, PendingRecord, StoredProofs, ValueState


class _MemoryTransaction:
    def __init__(self, store: MemoryStore, writable: bool) -> None:
        self._store = store
        self._writable = writable
        self._nodes: dict[bytes, NodeRecord] = {}
        self._states: list[ValueState] = []
        self._proofs: dict[tuple[bytes, int], StoredProofs] = {}
        self._epochs: dict[int, bytes] = {}
        self._enqueued: list[PendingRecord] = []
        self._published: dict[int, int] = {}

    def _check_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("write on a read-only transaction")

    def latest_epoch(self) -> int:
        epochs = list(self._epochs) + list(self._store.epochs)
        return max(epochs, default=0)

    def epoch_root(self, epoch: int) -> bytes | None:
        return self._epochs.get(epoch, self._store.epochs.get(epoch))

    def get_nodes(self, keys: Collection[bytes]) -> dict[bytes, NodeRecord]:
        """The stored records of ``keys`` (absent keys are left out).

        A read transaction gets the committed records themselves: nothing mutates a record
        once a write transaction has applied it (a writer works on copies and replaces the
        stored object), and readers only read, so copying them (~60 % of an audit proof's
        time) bought nothing. A write transaction gets copies, which the tree rewrites.
        """
        if not self._writable:
            nodes = self._store.nodes
            return {key: node for key in keys if (node := nodes.get(key)) is not None}
        found: dict[bytes, NodeRecord] = {}
        for key in keys:
            node = self._nodes.get(key) or self._store.nodes.get(key)
            if node is not None:
                found[key] = NodeRecord(
                    node.key, node.value, node.last_epoch, node.min_epoch,
                    node.left_key, node.left_hash, node.right_key, node.right_hash,
                )  # fmt: skip
        return found

    def nodes_changed_after(self, epoch: int, expected_reads: int) -> None:
        """Never: a read by key is one dict lookup, cheaper than any pass over every node."""
        return None

    def latest_states(self, labels: Collection[bytes]) -> dict[bytes, ValueState]:
        found: dict[bytes, ValueState] = {}
        for label in labels:
            states = self.label_states(label)
            if states:
                found[label] = states[-1]
        return found

    def label_states(self, label: bytes) -> list[ValueState]:
        states = list(self._store.states.get(label, []))
        states.extend(s for s in self._states if s.label == label)
        if self._proofs:
            states = [self._with_proofs(s) for s in states]
        return sorted(states, key=lambda s: s.version)

    def _with_proofs(self, state: ValueState) -> ValueState:
        proofs = self._proofs.get((state.label, state.version))
        if proofs is None or state.existence_vrf is not None:
            return state
        return dataclasses.replace(
            state, existence_vrf=proofs[2], freshness_vrf=proofs[3], stale_label=proofs[4]
        )

    def states_at(self, keys: Collection[tuple[bytes, int]]) -> dict[tuple[bytes, int], ValueState]:
        found: dict[tuple[bytes, int], ValueState] = {}
        for label, version in keys:
            for state in self.label_states(label):
                if state.version == version:
                    found[(label, version)] = state
        return found

    def unproven_states(self, limit: int) -> list[tuple[bytes, int]]:
        out: list[tuple[bytes, int]] = []
        for label in sorted(self._store.states):
            for state in self.label_states(label):
                if state.existence_vrf is None:
                    out.append((label, state.version))
                    if len(out) >= limit:
                        return out
        return out

    def pending(self, limit: int) -> list[PendingRecord]:
        published = self._published
        return [r for r in self._store.pending.values() if r.update_id not in published][:limit]

    def pending_count(self) -> int:
        return len(self._store.pending) + len(self._enqueued) - len(self._published)

    def update_status(self, update_id: int) -> tuple[str, int | None] | None:
        if update_id in self._published:
            return ("published", self._published[update_id])
        if update_id in self._store.published:
            return ("published", self._store.published[update_id])
        if update_id in self._store.pending or any(
            r.update_id == update_id for r in self._enqueued
        ):
            return ("pending", None)
        return None

    def stats(self) -> dict[str, int]:
        return {
            "nodes": len(self._store.nodes),
            "labels": len(self._store.states),
            "epochs": len(self._store.epochs),
        }

    def put_nodes(self, nodes: Iterable[NodeRecord]) -> None:
        self._check_writable()
        for node in nodes:
            self._nodes[node.key] = node

    def put_states(self, states: Iterable[ValueState]) -> None:
        self._check_writable()
        self._states.extend(states)

    def put_vrf_proofs(self, proofs: Iterable[StoredProofs]) -> None:
        self._check_writable()
        for stored in proofs:
            self._proofs[(stored[0], stored[1])] = stored

    def add_epoch(self, epoch: int, root_hash: bytes) -> None:
        self._check_writable()
        self._epochs[epoch] = root_hash

    def enqueue(self, label: bytes, value: bytes) -> int:
        self._check_writable()
        self._store.next_id += 1
        record = PendingRecord(self._store.next_id, label, value)
        self._enqueued.append(record)
        return record.update_id

    def mark_published(self, update_ids: Collection[int], epoch: int) -> None:
        self._check_writable()
        for update_id in update_ids:
            self._published[update_id] = epoch

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError("the in-memory store has no SQL tables")

    def _apply(self) -> None:
        store = self._store
        store.nodes.update(self._nodes)
        for state in self._states:
            store.states.setdefault(state.label, []).append(state)
        for label, version in self._proofs:
            versions = store.states.get(label, [])
            for i, state in enumerate(versions):
                if state.version == version:
                    versions[i] = self._with_proofs(state)
        store.epochs.update(self._epochs)
        for record in self._enqueued:
            store.pending[record.update_id] = record
        for update_id, epoch in self._published.items():
            store.pending.pop(update_id, None)
            store.published[update_id] = epoch


class MemoryStore:
    """Dictionary-backed store; one writer at a time (a lock), readers see committed state."""

    def __init__(self) -> None:
        self.url = "memory://"
        self.nodes: dict[bytes, NodeRecord] = {}
        self.states: dict[bytes, list[ValueState]] = {}
        self.epochs: dict[int, bytes] = {}
        self.pending: dict[int, PendingRecord] = {}
        self.published: dict[int, int] = {}
        self.next_id = 0
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[_MemoryTransaction]:
        yield _MemoryTransaction(self, writable=False)

    @contextmanager
    def write(self, publisher: bool = True) -> Iterator[_MemoryTransaction]:
        with self._lock:
            txn = _MemoryTransaction(self, writable=True)
            yield txn
            txn._apply()

    def close(self) -> None:
        pass
