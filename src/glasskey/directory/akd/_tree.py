"""The AKD prefix tree on top of a store: batch insertion and proof generation.

Shape (spec section 4): a compressed binary trie over 256-bit leaf labels, with a root that
always exists, interior nodes labelled by the longest common prefix of their leaves and
exactly two children each. The shape depends only on the set of leaves, so any insertion
order reproduces akd's roots.

Round trips: insertion walks the tree breadth-first and fetches each level's children in one
``get_nodes`` call; a membership or non-membership proof fetches every prefix of the target
label in a single call (at most 257 keys) — the path's rows carry their children's labels
and hashes, so nothing else is read.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from operator import attrgetter
from typing import Final

import blake3

from glasskey.core._gc import collector_paused
from glasskey.core._native import vrf as native_vrf
from glasskey.core.akd._node_label import DIRECTIONS, NodeLabel, empty_label
from glasskey.core.akd.configuration import Configuration
from glasskey.core.akd.types import (
    AzksElement,
    EpochHash,
    MembershipProof,
    NonMembershipProof,
    SiblingProof,
)
from glasskey.directory._errors import StoreCorrupted
from glasskey.directory.akd._keys import (
    MAX_KEY_BYTES,
    ROOT_KEY,
    is_leaf_key,
    key_label,
    key_length,
    key_node_label,
    node_key,
    not_a_label,
    prefix_key,
)
from glasskey.storage._base import NodeRecord, StoreTransaction

BITS: Final = 256
_BE32 = struct.Struct(">I")
_BE64 = struct.Struct(">Q")
_blake3 = blake3.blake3
#: The most prefix lengths read up front for a proof (see ``AkdTree.proofs``).
SHALLOW_BITS: Final = 48


class _DeeperPath(Exception):
    """A proof path continues below the first read: read the remaining prefixes."""


class _ReadDepth:
    """How many prefix lengths a proof's first read asks for.

    Interior nodes of a trie over n random labels lie at most ~log2(n) + a few bits deep, so
    asking for all 49 lengths up to ``SHALLOW_BITS`` mostly probes for rows that do not exist
    (at 100k labels: ~22 of them do). This keeps the deepest interior length met in the last
    two windows of proofs, plus a margin; a path deeper than that costs one more read.
    Starts at ``SHALLOW_BITS``. Races between reader threads only blur the estimate.
    """

    WINDOW: Final = 1024
    MARGIN: Final = 3

    def __init__(self) -> None:
        self._current = 0
        self._previous = SHALLOW_BITS
        self._count = 0

    def bits(self) -> int:
        return min(SHALLOW_BITS, max(self._current, self._previous) + self.MARGIN)

    def observe(self, deepest: int) -> None:
        if deepest > self._current:
            self._current = deepest
        self._count += 1
        if self._count >= self.WINDOW:
            self._previous, self._current, self._count = self._current, 0, 0


_record_key: Final = attrgetter("key")


def _prefix(label: int, length: int) -> int:
    if length == 0:
        return 0
    return label & ~((1 << (BITS - length)) - 1)


def _common_bits(a: int, b: int, limit: int) -> int:
    return min(BITS - (a ^ b).bit_length(), limit)


def _bit(label: int, index: int) -> int:
    return (label >> (BITS - 1 - index)) & 1


@dataclass(slots=True)
class _Node:
    """A tree node while it is being read or rewritten (label decoded once)."""

    record: NodeRecord
    label: int
    length: int
    dirty: bool = False

    @classmethod
    def of(cls, record: NodeRecord) -> _Node:
        """A stored node; its key must be a label's and its children's keys fit one."""
        label, length = key_label(record.key)
        for child in (record.left_key, record.right_key):
            if child is not None and len(child) > MAX_KEY_BYTES:
                raise not_a_label(child)
        return cls(record, label, length)

    def child_key(self, side: int) -> bytes | None:
        return self.record.left_key if side == 0 else self.record.right_key

    def set_child(self, side: int, key: bytes) -> None:
        if side == 0:
            self.record.left_key = key
        else:
            self.record.right_key = key


class _TopNodes:
    """The tree's top ``TOP_BITS`` levels as one epoch has them, for proofs: the rows, and
    each proof walk's first steps through them.

    Where the time goes: a lookup (SQLite, 100k labels) spent ~0.4 ms of CPU in the
    directory, about a third of it asking SQLite for the ~57 prefix keys of its three
    targets and decoding the ~35 rows found, and most of the rest walking those rows into
    sibling proofs. The top levels are the same for every proof in an epoch — root, then
    2, 4, ... nodes — so each lookup re-read and re-walked about a dozen rows that every
    other lookup had just read. They are kept here instead: ``rows`` has, for prefixes of at
    most ``TOP_BITS`` bits, the row (or its absence) as the store had it, and ``walks`` the
    walk's state after its steps into nodes of at most ``TOP_BITS`` bits (the node reached,
    its length, the sibling proofs so far) by the target's first ``TOP_BITS`` bits — all
    those steps depend on. A lookup then reads ~15 rows instead of ~35.

    Valid for one ``(epoch, root hash)`` only: the tag is that ``EpochHash``, read in the
    same transaction as the rows, and a proof at another tag starts a new cache (so a new
    epoch, published by any process, is used from its first proof on, and a rewritten
    epoch — a restored backup — has another root). Rows of a published epoch never change
    (an epoch's rows and its root are written in one transaction), so a cached row is
    exactly the stored one. At most ~2^(TOP_BITS+1) rows and 2^TOP_BITS walks; threads
    share it under the GIL (a race only computes an entry twice).
    """

    TOP_BITS: Final = 10

    def __init__(self) -> None:
        # One tuple, replaced whole: a reader takes the tag and its cache in one read, so a
        # thread switching to a new epoch never hands another thread the wrong rows.
        self._current: tuple[EpochHash | None, _TopCache] = (None, _TopCache())

    def for_tag(self, tag: EpochHash) -> _TopCache:
        """The cache of ``tag`` (a new, empty one when the tag changed)."""
        current = self._current
        if current[0] != tag:
            current = self._current = (tag, _TopCache())  # old readers keep theirs
        return current[1]


#: A walk's state: the node reached, its length, the sibling proofs on the way.
_WalkState = tuple[NodeRecord, int, tuple[SiblingProof, ...]]


@dataclass(slots=True)
class _TopCache:
    """One epoch's entries of ``_TopNodes``."""

    rows: dict[bytes, NodeRecord | None] = field(default_factory=dict)
    walks: dict[int, _WalkState] = field(default_factory=dict)


def _top_index(target: bytes) -> int:
    """The first ``TOP_BITS`` bits of a 32-byte label, as an integer."""
    return (target[0] << 8 | target[1]) >> (16 - _TopNodes.TOP_BITS)


_NodeHasher = Callable[
    [NodeRecord, bytes | None, bytes | None, NodeRecord | None, bytes | None, bytes | None,
     NodeRecord | None],
    None,
]  # fmt: skip


class AkdTree:
    """Stateless tree algorithms for one configuration; state lives in the transaction."""

    def __init__(self, config: Configuration) -> None:
        self.config = config
        self._empty_label = empty_label(config)
        self._empty_element = AzksElement(self._empty_label, config.empty_node_hash)
        self._read_depth = _ReadDepth()
        self._top = _TopNodes()

    # -- contributions ----------------------------------------------------------------------

    def contribution(self, record: NodeRecord) -> bytes:
        """What a parent hashes for this node: leaves mix in their insertion epoch."""
        if is_leaf_key(record.key):
            return self.config.leaf_hash(record.value, record.last_epoch)
        return record.value

    def _label_value(self, key: bytes | None) -> bytes:
        if key is None:
            return self.config.empty_label_value
        # to_bytes(label) = BE32(length) || 32-byte value, straight from the storage key.
        return self.config.label_value(b"\x00\x00" + key.ljust(34, b"\x00"))

    # -- insertion ----------------------------------------------------------------------------

    def insert(
        self, txn: StoreTransaction, leaves: list[tuple[int, bytes]], epoch: int
    ) -> tuple[bytes, int]:
        """Insert new leaves ``(label, raw value)`` at ``epoch``; write every changed node.

        Returns (the new root hash, the number of nodes created). Groups of new leaves are
        index ranges into one sorted list, so the walk never copies the batch. Runs with the
        cyclic collector paused (``glasskey.core._gc``).
        """
        with collector_paused():
            return self._insert(txn, leaves, epoch)

    def _insert(
        self, txn: StoreTransaction, leaves: list[tuple[int, bytes]], epoch: int
    ) -> tuple[bytes, int]:
        leaves = sorted(leaves)
        labels = [label for label, _ in leaves]
        raws = [raw for _, raw in leaves]
        for a, b in pairwise(labels):
            if a == b:
                raise StoreCorrupted("two new leaves share one label (VRF collision?)")
        root_record = txn.get_nodes([ROOT_KEY]).get(ROOT_KEY)
        if root_record is None:
            root_record = NodeRecord(ROOT_KEY, self.config.empty_root_value, 0, 0)
        elif root_record.key != ROOT_KEY:
            raise StoreCorrupted(f"the tree root's row holds node {root_record.key.hex()}")
        if native_vrf is not None:  # the same walk in the extension (test_native_insert.py)
            return self._insert_native(txn, labels, raws, root_record, epoch)
        nodes: dict[bytes, _Node] = {}
        root = _Node.of(root_record)
        root.dirty = True
        nodes[ROOT_KEY] = root
        created = 0
        frontier: list[tuple[_Node, int, int]] = [(root, 0, len(labels))]
        while frontier:
            wanted: list[tuple[_Node, int, int, int]] = []
            for node, lo, hi in frontier:
                split = bisect_left(labels, node.label | (1 << (BITS - 1 - node.length)), lo, hi)
                if split > lo:
                    wanted.append((node, 0, lo, split))
                if hi > split:
                    wanted.append((node, 1, split, hi))
            missing = [
                key
                for node, side, _, _ in wanted
                if (key := node.child_key(side)) is not None and key not in nodes
            ]
            if missing:
                for key, record in txn.get_nodes(missing).items():
                    nodes[key] = _Node.of(record)
            frontier = []
            work = wanted
            while work:
                node, side, lo, hi = work.pop()
                key = node.child_key(side)
                if key is None:
                    subtree_key, count = self._build(nodes, labels, raws, lo, hi, epoch)
                    created += count
                    node.set_child(side, subtree_key)
                    continue
                child = nodes.get(key)
                if child is None:
                    raise StoreCorrupted(f"tree node {key.hex()} is referenced but missing")
                first = labels[lo]
                group_len = BITS if hi - lo == 1 else _common_bits(first, labels[hi - 1], BITS)
                depth = _common_bits(child.label, first, min(child.length, group_len))
                if depth == child.length:
                    if depth == BITS:
                        raise StoreCorrupted("a new leaf label already exists in the tree")
                    child.dirty = True
                    frontier.append((child, lo, hi))
                    continue
                # Push the existing child down under a new interior node at ``depth``.
                label = _prefix(child.label, depth)
                interior = _Node(
                    NodeRecord(node_key(label, depth), b"", epoch, child.record.min_epoch),
                    label,
                    depth,
                    True,
                )
                interior.set_child(_bit(child.label, depth), key)
                nodes[interior.record.key] = interior
                created += 1
                node.set_child(side, interior.record.key)
                split = bisect_left(labels, label | (1 << (BITS - 1 - depth)), lo, hi)
                if split > lo:
                    work.append((interior, 0, lo, split))
                if hi > split:
                    work.append((interior, 1, split, hi))
        root_hash = self._rehash(nodes, epoch)
        # In key order: a B-tree store then fills each page once instead of revisiting pages
        # at random (1M labels on SQLite: 0.87 -> 0.77 s for a 10k-update epoch's 113k rows).
        dirty = [n.record for n in nodes.values() if n.dirty]
        dirty.sort(key=_record_key)
        txn.put_nodes(dirty)
        return root_hash, created

    def _insert_native(
        self,
        txn: StoreTransaction,
        labels: list[int],
        raws: list[bytes],
        root_record: NodeRecord,
        epoch: int,
    ) -> tuple[bytes, int]:
        """``_insert``'s walk, new nodes and rehash in the extension; it writes what the
        Python path writes (every dirty node, in key order) and fails with its messages."""
        assert native_vrf is not None
        config = self.config
        try:
            root_value, created, dirty = native_vrf.insert(
                config.is_whatsapp, config.domain_label,
                [label.to_bytes(32, "big") for label in labels], raws, root_record,
                txn.get_nodes, NodeRecord, epoch, config.empty_node_hash,
                config.empty_label_value,
            )  # fmt: skip
        except ValueError as exc:
            raise StoreCorrupted(str(exc)) from None
        txn.put_nodes(dirty)
        return config.root_hash_from_value(root_value), created

    def _build(
        self,
        nodes: dict[bytes, _Node],
        labels: list[int],
        raws: list[bytes],
        lo: int,
        hi: int,
        epoch: int,
    ) -> tuple[bytes, int]:
        """Create the subtree of brand-new sorted leaves ``lo..hi``; (its root key, count)."""
        if hi - lo == 1:
            label = labels[lo]
            record = NodeRecord(node_key(label, BITS), raws[lo], epoch, epoch)
            nodes[record.key] = _Node(record, label, BITS, True)
            return record.key, 1
        depth = _common_bits(labels[lo], labels[hi - 1], BITS)
        label = _prefix(labels[lo], depth)
        split = bisect_left(labels, label | (1 << (BITS - 1 - depth)), lo, hi)
        left_key, left_count = self._build(nodes, labels, raws, lo, split, epoch)
        right_key, right_count = self._build(nodes, labels, raws, split, hi, epoch)
        record = NodeRecord(node_key(label, depth), b"", epoch, epoch, left_key, None, right_key)
        nodes[record.key] = _Node(record, label, depth, True)
        return record.key, left_count + right_count + 1

    def _rehash(self, nodes: dict[bytes, _Node], epoch: int) -> bytes:
        """Recompute every dirty node bottom-up; returns the new epoch root hash.

        This is the publish hot loop (~7 hashes per dirty node, a few hundred thousand per
        10k-update epoch), so the configuration's hashing rules are inlined here for the
        WhatsApp configuration — BLAKE3 called directly instead of through four layers of
        wrappers — and ``tests/directory`` checks the roots against akd's.
        """
        config = self.config
        empty_hash = config.empty_node_hash
        dirty = [n for n in nodes.values() if n.dirty and n.length < BITS]
        dirty.sort(key=lambda n: -n.length)
        if config.is_whatsapp:
            hash_node = self._whatsapp_node_hasher()
        else:
            hash_node = self._generic_node_hasher()

        for node in dirty:
            record = node.record
            min_epoch = record.min_epoch or epoch
            left_key, right_key = record.left_key, record.right_key
            left_child = right_child = None
            if left_key is None:
                left = empty_hash
            elif (child := nodes.get(left_key)) is not None:
                left_child = child.record
                min_epoch = min(min_epoch, left_child.min_epoch)
                left = None
            elif record.left_hash is not None:
                left = record.left_hash
            else:
                raise StoreCorrupted(f"tree node {record.key.hex()} lacks a child hash")
            if right_key is None:
                right = empty_hash
            elif (child := nodes.get(right_key)) is not None:
                right_child = child.record
                min_epoch = min(min_epoch, right_child.min_epoch)
                right = None
            elif record.right_hash is not None:
                right = record.right_hash
            else:
                raise StoreCorrupted(f"tree node {record.key.hex()} lacks a child hash")
            hash_node(record, left_key, left, left_child, right_key, right, right_child)
            record.last_epoch = epoch
            record.min_epoch = min_epoch
        return config.root_hash_from_value(nodes[ROOT_KEY].record.value)

    def _generic_node_hasher(self) -> _NodeHasher:
        """Sets ``record.value`` (and the rewritten children's hashes) via the configuration."""
        parent_hash = self.config.parent_hash
        label_value = self._label_value
        contribution = self.contribution

        def hash_node(
            record: NodeRecord,
            left_key: bytes | None,
            left: bytes | None,
            left_child: NodeRecord | None,
            right_key: bytes | None,
            right: bytes | None,
            right_child: NodeRecord | None,
        ) -> None:
            if left_child is not None:
                left = record.left_hash = contribution(left_child)
            if right_child is not None:
                right = record.right_hash = contribution(right_child)
            assert left is not None and right is not None
            record.value = parent_hash(left, label_value(left_key), right, label_value(right_key))

        return hash_node

    def _whatsapp_node_hasher(self) -> _NodeHasher:
        """``_generic_node_hasher`` with WhatsApp's rules inlined (configuration.py):
        leaf contribution ``H(raw || BE64(epoch))``, label value ``H(BE32(len) || val)``
        (``val`` zero-padded from the storage key), parent ``H(H(l || lv_l) || H(r || lv_r))``.
        """
        h = _blake3
        pack = _BE64.pack
        empty_lv = self.config.empty_label_value
        zeros = b"\x00\x00"

        def hash_node(
            record: NodeRecord,
            left_key: bytes | None,
            left: bytes | None,
            left_child: NodeRecord | None,
            right_key: bytes | None,
            right: bytes | None,
            right_child: NodeRecord | None,
        ) -> None:
            if left_child is not None and left_key is not None:
                if len(left_key) == 34 and left_key[:2] == b"\x01\x00":
                    left = h(left_child.value + pack(left_child.last_epoch)).digest()
                else:
                    left = left_child.value
                record.left_hash = left
            if right_child is not None and right_key is not None:
                if len(right_key) == 34 and right_key[:2] == b"\x01\x00":
                    right = h(right_child.value + pack(right_child.last_epoch)).digest()
                else:
                    right = right_child.value
                record.right_hash = right
            lv_l = empty_lv if left_key is None else h(zeros + left_key.ljust(34, b"\x00")).digest()
            lv_r = (
                empty_lv if right_key is None else h(zeros + right_key.ljust(34, b"\x00")).digest()
            )
            record.value = h(
                h(left + lv_l).digest() + h(right + lv_r).digest()  # type: ignore[operator]
            ).digest()

        return hash_node

    # -- proofs ------------------------------------------------------------------------------

    def root_hash(self, txn: StoreTransaction) -> bytes:
        root = txn.get_nodes([ROOT_KEY]).get(ROOT_KEY)
        value = self.config.empty_root_value if root is None else root.value
        return self.config.root_hash_from_value(value)

    def _element(self, key: bytes | None, contribution: bytes | None) -> AzksElement:
        if key is None:
            return self._empty_element
        if contribution is None:
            raise StoreCorrupted(f"tree node child {key.hex()} has no stored hash")
        return AzksElement(key_node_label(key), contribution)

    def _walk(
        self,
        path: dict[bytes, NodeRecord],
        target: bytes,
        read_bits: int = BITS,
        walks: dict[int, _WalkState] | None = None,
    ) -> tuple[NodeRecord, MembershipProof]:
        """akd's ``get_lcp_node_label_with_membership_proof`` over pre-read path rows (11.4).

        ``target`` is a 32-byte leaf label; a child is on its path exactly when the child's
        key is the key of the target's prefix of the child's length. ``path`` holds every
        existing prefix of length <= ``read_bits`` and the leaf; a missing deeper one raises
        ``_DeeperPath``. With ``walks`` (``_TopCache.walks``) the steps through the top
        levels start from, or are stored into, it.
        """
        current = path.get(ROOT_KEY)
        if current is None:
            current = NodeRecord(ROOT_KEY, self.config.empty_root_value, 0, 0)
        length = 0
        siblings: list[SiblingProof] = []
        if walks is not None:
            index = _top_index(target)
            start = walks.get(index)
            if start is None:
                top = _TopNodes.TOP_BITS
                current, length = self._steps(path, target, current, 0, siblings, top, read_bits)
                start = walks[index] = (current, length, tuple(siblings))
            current, length, siblings = start[0], start[1], list(start[2])
        current, length = self._steps(path, target, current, length, siblings, BITS, read_bits)
        label = key_node_label(current.key)
        return current, MembershipProof(label, self.contribution(current), tuple(siblings))

    def _steps(
        self,
        path: dict[bytes, NodeRecord],
        target: bytes,
        current: NodeRecord,
        length: int,
        siblings: list[SiblingProof],
        limit: int,
        read_bits: int,
    ) -> tuple[NodeRecord, int]:
        """``_walk``'s steps from ``current`` (``length`` bits) into children of at most
        ``limit`` bits, appending to ``siblings``; the node and length reached."""
        while length < BITS:
            side = (target[length >> 3] >> (7 - (length & 7))) & 1
            child_key = current.right_key if side else current.left_key
            if child_key is None:
                break
            child_length = key_length(child_key)
            if child_length > limit:
                break  # the rest of the walk depends on bits past the limit
            if child_key != prefix_key(target, child_length):
                break  # the child is not on the target's path: current is the longest prefix
            child = path.get(child_key)
            if child is None:
                if read_bits < child_length < BITS:
                    raise _DeeperPath  # not read yet: the caller reads every prefix and retries
                raise StoreCorrupted(f"tree node {child_key.hex()} is referenced but missing")
            other_key, other_hash = (
                (current.left_key, current.left_hash)
                if side
                else (current.right_key, current.right_hash)
            )
            siblings.append(
                SiblingProof(
                    key_node_label(current.key),
                    (self._element(other_key, other_hash),),
                    DIRECTIONS[side],
                )
            )
            current = child
            length = child_length
        return current, length

    @staticmethod
    def _prefix_keys(target: bytes, lengths: Iterable[int]) -> list[bytes]:
        return [prefix_key(target, n) for n in lengths]

    def proofs(
        self,
        txn: StoreTransaction,
        members: list[bytes],
        non_members: list[bytes],
        at: EpochHash | None = None,
    ) -> tuple[list[MembershipProof], list[NonMembershipProof]]:
        """Membership proofs for ``members`` and non-membership proofs for ``non_members``
        (32-byte leaf labels), from one read of the targets' prefixes.

        Interior nodes of a trie over random (VRF) labels sit ~log2(n) bits deep, so the first
        read asks only for the prefixes ``_ReadDepth`` expects (never more than
        ``SHALLOW_BITS``) plus the leaves. Only if a path goes deeper (a long shared prefix,
        rare and not exploitable without the VRF key) is a second read made for the rest.

        ``at``: the epoch hash that ``txn`` reads as its latest epoch; with it the
        top levels come from ``_TopNodes`` (the same rows, read once per epoch).
        """
        targets = [bytes(t[:32]) for t in (*members, *non_members)]
        unique = set(targets)
        bits = self._read_depth.bits()
        walks = None
        if at is None:
            first = (*range(bits + 1), BITS)
            path = txn.get_nodes({k for t in unique for k in self._prefix_keys(t, first)})
        else:
            top = self._top.for_tag(at)
            path, walks = self._read_with_top(txn, unique, bits, top), top.walks
        try:
            return self._proofs_from(path, targets, len(members), non_members, bits, walks)
        except _DeeperPath:
            deep = range(bits + 1, BITS)
            path.update(txn.get_nodes({k for t in unique for k in self._prefix_keys(t, deep)}))
            return self._proofs_from(path, targets, len(members), non_members, BITS, walks)

    def _read_with_top(
        self,
        txn: StoreTransaction,
        targets: set[bytes],
        bits: int,
        top: _TopCache,
    ) -> dict[bytes, NodeRecord]:
        """The first read of ``proofs``, with the top levels from (and into) ``top``: the top
        rows only for targets whose walk through them is not cached yet."""
        split = min(bits, _TopNodes.TOP_BITS) + 1
        rows, walks = top.rows, top.walks
        upper = {
            k
            for t in targets
            if _top_index(t) not in walks
            for k in self._prefix_keys(t, range(split))
        }
        lower = {k for t in targets for k in self._prefix_keys(t, (*range(split, bits + 1), BITS))}
        unknown = [k for k in upper if k not in rows]
        path = txn.get_nodes(lower.union(unknown))
        for key in unknown:
            rows[key] = path.get(key)
        for key in upper:
            record = rows[key]
            if record is not None:
                path[key] = record
        return path

    def _proofs_from(
        self,
        path: dict[bytes, NodeRecord],
        targets: list[bytes],
        member_count: int,
        non_members: list[bytes],
        read_bits: int,
        walks: dict[int, _WalkState] | None = None,
    ) -> tuple[list[MembershipProof], list[NonMembershipProof]]:
        walked: dict[bytes, tuple[NodeRecord, MembershipProof]] = {}
        for target in targets:  # a lookup's existence and marker leaf are often the same
            if target not in walked:
                walked[target] = record, proof = self._walk(path, target, read_bits, walks)
                # The deepest interior node this path met: the last parent, or the longest
                # prefix itself when the walk ended on an interior node.
                deepest = proof.sibling_proofs[-1].label.length if proof.sibling_proofs else 0
                if not is_leaf_key(record.key):
                    deepest = max(deepest, proof.label.length)
                self._read_depth.observe(deepest)
        membership = [walked[t][1] for t in targets[:member_count]]
        absent: list[NonMembershipProof] = []
        for raw, target in zip(non_members, targets[member_count:], strict=True):
            record, proof = walked[target]
            children = (
                self._element(record.left_key, record.left_hash),
                self._element(record.right_key, record.right_hash),
            )
            absent.append(NonMembershipProof(NodeLabel.leaf(raw), proof.label, children, proof))
        return membership, absent
