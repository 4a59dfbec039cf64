"""Append-only (audit) proofs from the stored tree: which nodes changed after an epoch.

Apart from ``_tree`` (insertion and lookup proofs) because it needs nothing of the tree
object: only the store's node records, their keys' labels and the root's key.
"""

from __future__ import annotations

from collections.abc import Callable

from glasskey.core._gc import collector_paused
from glasskey.core.akd.types import (
    AppendOnlyProof,
    AzksElement,
    SingleAppendOnlyProof,
    new_element,
)
from glasskey.directory._errors import StoreCorrupted
from glasskey.directory.akd._keys import ROOT_KEY, key_node_label_uncached
from glasskey.storage._base import NodeRecord, NodeRow, StoreTransaction

__all__ = ["append_only_proof", "single_append_only_proof"]

#: How many more reads by key a level's frontier predicts per node: the frontier of a large
#: epoch stays about as wide for the remaining ~log2(tree / frontier) levels (measured: at
#: 100k labels a 10k-update epoch reads 104k children in 17 levels, its widest 30k).
_READS_PER_FRONTIER_NODE = 10


def append_only_proof(txn: StoreTransaction, start: int, end: int) -> AppendOnlyProof:
    """One single proof per epoch in ``start..end`` computed on the latest tree (11.7)."""
    return AppendOnlyProof(
        tuple(single_append_only_proof(txn, s) for s in range(start, end)),
        tuple(range(start, end)),
    )


def single_append_only_proof(txn: StoreTransaction, start: int) -> SingleAppendOnlyProof:
    """Breadth-first over the nodes changed after ``start``: unchanged subtrees are one
    element each, inserted leaves one each (akd's order: level by level, left first).

    An unchanged child's contribution is the hash its parent stores for it (children are
    denormalised), so no leaf hash is recomputed; the loop runs once per visited node.
    Each level's children are read by key until the frontier predicts more reads than one
    pass over the nodes costs (``StoreTransaction.nodes_changed_after``); from then on
    the pass has every changed node, and a child it lacks is unchanged. Runs with the
    cyclic collector paused (``glasskey.core._gc``)."""
    with collector_paused():
        return _walk(txn, start)


def _walk(txn: StoreTransaction, start: int) -> SingleAppendOnlyProof:
    inserted: list[AzksElement] = []
    unchanged: list[AzksElement] = []
    root = txn.get_nodes([ROOT_KEY]).get(ROOT_KEY)
    if root is None or root.last_epoch <= start:
        return SingleAppendOnlyProof((), ())
    add_inserted, add_unchanged = inserted.append, unchanged.append
    label_of, element = key_node_label_uncached, new_element
    after = start + 1
    level: list[NodeRecord] = [root]
    while level:
        pairs: list[tuple[bytes, bytes | None]] = []
        for r in level:
            if r.left_key is not None:
                pairs.append((r.left_key, r.left_hash))
            if r.right_key is not None:
                pairs.append((r.right_key, r.right_hash))
        changed = txn.nodes_changed_after(start, len(pairs) * _READS_PER_FRONTIER_NODE)
        if changed is not None:
            _walk_rows(changed, _rows_of(changed, level), start, add_inserted, add_unchanged)
            break
        children = txn.get_nodes([k for k, _ in pairs])
        next_level: list[NodeRecord] = []
        for key, contribution in pairs:
            child = children.get(key)
            if child is None:
                raise StoreCorrupted(f"tree node {key.hex()} is referenced but missing")
            if child.last_epoch <= start:
                if contribution is None:
                    raise StoreCorrupted(f"the parent of node {key.hex()} lacks its hash")
                add_unchanged(element(label_of(key), contribution))
            elif child.min_epoch > after:
                continue
            elif len(key) == 34 and key[:2] == b"\x01\x00":  # is_leaf_key, inlined
                add_inserted(element(label_of(key), child.value))
            else:
                next_level.append(child)
        level = next_level
    return SingleAppendOnlyProof(tuple(inserted), tuple(unchanged))


def _rows_of(changed: dict[bytes, NodeRow], level: list[NodeRecord]) -> list[NodeRow]:
    """The pass's rows of this level's nodes: each changed after ``start``, so each is there."""
    rows = []
    for r in level:
        row = changed.get(r.key)
        if row is None:
            raise StoreCorrupted(f"tree node {r.key.hex()} changed but is not in the pass")
        rows.append(row)
    return rows


def _walk_rows(
    changed: dict[bytes, NodeRow],
    level: list[NodeRow],
    start: int,
    add_inserted: Callable[[AzksElement], None],
    add_unchanged: Callable[[AzksElement], None],
) -> None:
    """``_walk``'s loop on the pass's rows (``NodeRow``, read by index: a ``NodeRecord``
    per row would add ~0.2 us to each of the ~38k rows of a 10k-update epoch): every
    changed node is in ``changed``, so a child it lacks is unchanged."""
    label_of, element = key_node_label_uncached, new_element
    after = start + 1
    while level:
        pairs: list[tuple[bytes, bytes | None]] = []
        for r in level:
            if r[4] is not None:
                pairs.append((r[4], r[5]))
            if r[6] is not None:
                pairs.append((r[6], r[7]))
        next_level: list[NodeRow] = []
        for key, contribution in pairs:
            child = changed.get(key)
            if child is None or child[2] <= start:
                if contribution is None:
                    raise StoreCorrupted(f"the parent of node {key.hex()} lacks its hash")
                add_unchanged(element(label_of(key), contribution))
            elif child[3] > after:
                continue
            elif len(key) == 34 and key[:2] == b"\x01\x00":  # is_leaf_key, inlined
                add_inserted(element(label_of(key), child[1]))
            else:
                next_level.append(child)
        level = next_level
