"""Audit proofs from one pass over the changed nodes (SQLite) equal those read by key."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from glasskey.core.akd.audit import audit_verify
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import AppendOnlyProof
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory, StoreCorrupted
from glasskey.directory.akd import _audit
from glasskey.storage import open_store
from glasskey.storage._base import NodeRecord
from glasskey.storage._sqlite import _SqliteTransaction

CONFIG = get_configuration("whatsapp_v1")
KEY = VrfSecretKey(bytes(range(32)))


def _publish_epochs(d: Directory, seed: int) -> list[bytes]:
    """Seven epochs of 1 to 400 updates (new labels, new versions); their roots from epoch 0."""
    rng = random.Random(seed)
    roots = [d.get_epoch_hash().root_hash]
    for size in (300, 1, 40, 400, 2, 120, 1):
        batch = {b"user-%d" % rng.randrange(900): rng.randbytes(8) for _ in range(size)}
        roots.append(d.publish(sorted(batch.items())).root_hash)
    return roots


def _all_audits(d: Directory, epochs: int) -> list[AppendOnlyProof]:
    return [d.audit(s, e) for s in range(epochs) for e in range(s + 1, epochs + 1)]


def test_sqlite_audits_by_scan_equal_audits_by_key_and_memorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[int] = []
    original = _SqliteTransaction.nodes_changed_after

    def spy(self: _SqliteTransaction, epoch: int, expected_reads: int) -> Any:
        found = original(self, epoch, expected_reads)
        if found is not None:
            scans.append(epoch)
        return found

    monkeypatch.setattr(_SqliteTransaction, "nodes_changed_after", spy)
    sqlite = Directory(open_store(f"sqlite:///{tmp_path}/g.db"), CONFIG, KEY)
    memory = Directory(open_store("memory://"), CONFIG, KEY)
    roots = _publish_epochs(sqlite, 7)
    assert _publish_epochs(memory, 7) == roots
    by_scan = _all_audits(sqlite, 7)
    assert scans, "no audit used the pass over the changed nodes"
    # Proofs on the latest tree: after epoch 0 nearly every node changed (a pass), after epoch
    # 6 one leaf's path (reads by key).
    assert 0 in scans and 6 not in scans
    scans.clear()
    monkeypatch.setattr(_audit, "_READS_PER_FRONTIER_NODE", 0)  # never worth a pass
    by_key = _all_audits(sqlite, 7)
    assert scans == []
    assert by_scan == by_key == _all_audits(memory, 7)
    audit_verify(CONFIG, roots, sqlite.audit(0, 7))
    assert sum(len(single.inserted) for p in by_scan for single in p.proofs) > 0


def test_nodes_changed_after_is_exactly_the_later_nodes_and_declines_small_reads(
    tmp_path: Path,
) -> None:
    d = Directory(open_store(f"sqlite:///{tmp_path}/g.db"), CONFIG, KEY)
    _publish_epochs(d, 3)
    with d.store.read() as txn:
        conn = txn._conn  # type: ignore[attr-defined]
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        assert txn.nodes_changed_after(2, pages - 1) is None
        changed = txn.nodes_changed_after(2, pages)
        assert changed is not None
        keys = {row[0] for row in conn.execute("SELECT key FROM akd_nodes WHERE last_epoch > 2")}
        assert set(changed) == keys and len(keys) > 0
        assert {key: NodeRecord(*row) for key, row in changed.items()} == txn.get_nodes(list(keys))
        assert txn.nodes_changed_after(7, 10**9) == {}


@pytest.mark.parametrize("reads_per_node", [0, 10**9], ids=["by-key", "by-scan"])
def test_a_parent_without_its_childs_hash_fails_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads_per_node: int
) -> None:
    monkeypatch.setattr(_audit, "_READS_PER_FRONTIER_NODE", reads_per_node)
    d = Directory(open_store(f"sqlite:///{tmp_path}/g.db"), CONFIG, KEY)
    _publish_epochs(d, 5)
    with d.store.write() as txn:
        conn = txn._conn  # type: ignore[attr-defined]
        # A node changed in epoch 6 with a child unchanged since: the proof carries the hash
        # the parent stores for that child.
        parent_key = conn.execute(
            "SELECT p.key FROM akd_nodes p JOIN akd_nodes c ON c.key = p.left_key "
            "WHERE p.last_epoch = 6 AND c.last_epoch <= 5 LIMIT 1"
        ).fetchone()[0]
        parent = txn.get_nodes([parent_key])[parent_key]
        parent.left_hash = None
        txn.put_nodes([parent])
    with pytest.raises(StoreCorrupted, match="lacks its hash"):
        d.audit(5, 6)


def test_a_changed_node_missing_from_the_pass_is_corruption_not_an_unchanged_subtree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pass starts at the root's level (every frontier is worth it): a pass that lacks
    # the root, which changed, is a store that contradicts itself.
    monkeypatch.setattr(_audit, "_READS_PER_FRONTIER_NODE", 10**9)
    original = _SqliteTransaction.nodes_changed_after

    def without_root(self: _SqliteTransaction, epoch: int, expected_reads: int) -> Any:
        found = original(self, epoch, expected_reads)
        assert found is not None
        del found[_audit.ROOT_KEY]
        return found

    d = Directory(open_store(f"sqlite:///{tmp_path}/g.db"), CONFIG, KEY)
    _publish_epochs(d, 5)
    monkeypatch.setattr(_SqliteTransaction, "nodes_changed_after", without_root)
    with pytest.raises(StoreCorrupted, match=r"^tree node 0000 changed but is not in the pass$"):
        d.audit(5, 6)
