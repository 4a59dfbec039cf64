"""RFC 6962 / RFC 9162 Merkle trees: hashing, proof generation, proof verification.

Pure (no I/O). This is the log that makes the sequence of epoch roots append-only and
publicly checkable: every published epoch root is one leaf, a signed checkpoint commits to the
tree, and clients check inclusion and consistency proofs against checkpoints they trust.

Hashing (RFC 9162 §2.1.1), SHA-256 throughout::

    leaf hash  = SHA-256(0x00 || data)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), plus the two
policies pinned by the transparency-dev test vectors: a consistency proof *from* size 0 is
always rejected (it proves nothing, and accepting it lets a client "upgrade" from no state
without noticing), and every leaf hash and proof hash must be exactly 32 bytes.

Proof generation works on *nodes*: a node ``(level, index)`` is the perfect subtree covering
leaves ``[index·2^level, (index+1)·2^level)``. Every proof hash is either such a node or the
root of a right-edge range ``[start, size)``, which is itself a fold of O(log n) nodes. So a
proof needs O(log n) node hashes, fetched from a :class:`HashStore` in one batch — the server
keeps those nodes in SQL next to the epoch table (see :class:`CompactRange.append`, which
returns the nodes each append completes, 2 per leaf on average).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from glasskey.core.errors import ConsistencyError, InclusionError, UsageError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string."""

MAX_TREE_SIZE = (1 << 64) - 1
"""Tree sizes and indexes are uint64, as in checkpoints and RFC 9162's TLS structures."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + bytes(left) + bytes(right)).digest()


def merkle_tree_hash(entries: Iterable[bytes]) -> bytes:
    """MTH of raw entries (each is leaf-hashed first). O(n) time, O(log n) memory."""
    tree = CompactRange()
    for entry in entries:
        tree.append(leaf_hash(entry))
    return tree.root()


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a tree given its leaf hashes. O(n) time, O(log n) memory."""
    tree = CompactRange()
    for h in leaf_hashes:
        tree.append(h)
    return tree.root()


# --------------------------------------------------------------------------------------------
# Nodes and the shape of proofs (no hashes involved)


@dataclass(frozen=True, slots=True, order=True)
class NodeId:
    """A perfect subtree: leaves ``[index << level, (index + 1) << level)``."""

    level: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(value: int, what: str, error: type[Exception]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{what} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= MAX_TREE_SIZE:
        raise error(f"{what} {value} is outside the uint64 range")


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[start, end)`` whose MTHs form the inclusion proof, leaf side first.

    This is RFC 9162's PATH(m, D[n]) unrolled into a loop; it fixes the proof's length and
    order before any hash is read.
    """
    _check_size(index, "leaf index", UsageError)
    _check_size(size, "tree size", UsageError)
    if index >= size:
        raise UsageError(f"leaf index {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form the consistency proof from ``size1`` to ``size2``.

    RFC 9162's SUBPROOF(m, D[n], true) unrolled. ``size1`` must be in ``1..size2``: there
    is no useful proof from the empty tree (and verifiers reject one).
    """
    _check_size(size1, "size1", UsageError)
    _check_size(size2, "size2", UsageError)
    if size1 == 0:
        raise UsageError("there is no consistency proof from an empty tree")
    if size1 > size2:
        raise UsageError(f"size1 {size1} is larger than size2 {size2}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size2
    complete = True  # the "b" flag of SUBPROOF: lo..size1 is still the whole old tree
    while True:
        if size1 - lo == hi - lo:
            if not complete:
                out.append((lo, hi))
            break
        k = _split(hi - lo)
        if size1 - lo <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
            complete = False
    out.reverse()
    return out


def range_nodes(start: int, end: int) -> list[NodeId]:
    """Perfect subtrees covering ``[start, end)``, left to right, largest first.

    For the ranges proofs use (a perfect subtree, or ``[start, size)`` with ``start`` aligned
    to the next power of two above ``size - start``) the MTH of the range is the right-to-left
    fold of these nodes' hashes.
    """
    nodes: list[NodeId] = []
    pos = start
    while pos < end:
        level = (end - pos).bit_length() - 1
        if pos:
            level = min(level, (pos & -pos).bit_length() - 1)
        nodes.append(NodeId(level, pos >> level))
        pos += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Hash a left-to-right list of perfect-subtree hashes into the root of their range."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


# --------------------------------------------------------------------------------------------
# Stores


class HashStore(Protocol):
    """Where a prover gets node hashes from.

    ``node_hashes`` returns the hashes of the given perfect subtrees, in the same order, in
    one call (one SQL round trip for a database-backed store). Perfect subtree hashes never
    change once the tree has grown over them, so a store needs no notion of tree size; the
    caller must only ask for proofs up to a size the store holds.
    """

    def node_hashes(self, nodes: Sequence[NodeId]) -> Sequence[bytes]: ...


class LeafHashStore:
    """A :class:`HashStore` over a plain sequence of leaf hashes — nothing else stored.

    Cost: each node hash is recomputed from its leaves, so one proof costs O(size) hashing
    (about ``size`` SHA-256 calls; about a second per million leaves in CPython) and needs
    every leaf hash of the tree in memory. Fine for tests, tools and small logs; a server should
    persist the nodes :meth:`CompactRange.append` reports and read O(log n) of them instead.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaves = leaf_hashes

    def node_hashes(self, nodes: Sequence[NodeId]) -> list[bytes]:
        out = []
        for node in nodes:
            if node.end > len(self._leaves):
                raise UsageError(
                    f"node {node} needs leaves up to {node.end}, store holds {len(self._leaves)}"
                )
            out.append(_perfect_root(self._leaves[node.start : node.end]))
        return out


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree by hashing level after level (faster than appending)."""
    level = list(hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        level = [
            sha256(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
        ]
    return level[0]


class MemoryHashStore:
    """An in-memory tree keeping every perfect subtree hash: O(1) per node read.

    Memory is about 2·size hashes (64 bytes per leaf). Useful for tests and as the model of
    what a SQL-backed store keeps: exactly the nodes :meth:`CompactRange.append` returns.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self._range = CompactRange()
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, leaf_hash: bytes) -> None:
        for node, h in self._range.append(leaf_hash):
            if node.level == len(self._levels):
                self._levels.append([])
            self._levels[node.level].append(h)

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree at ``size`` (default: the current size)."""
        if size is None:
            return self._range.root()
        if not 0 <= size <= self.size:
            raise UsageError(f"tree size {size} is outside 0..{self.size}")
        if size == 0:
            return EMPTY_ROOT
        return _fold(self.node_hashes(range_nodes(0, size)))

    def node_hashes(self, nodes: Sequence[NodeId]) -> list[bytes]:
        out = []
        for node in nodes:
            if node.level >= len(self._levels) or node.index >= len(self._levels[node.level]):
                raise UsageError(f"node {node} is not in a tree of size {self.size}")
            out.append(self._levels[node.level][node.index])
        return out


def _range_hashes(store: HashStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each range, reading all needed nodes from the store in a single call."""
    per_range = [range_nodes(start, end) for start, end in ranges]
    flat = [node for nodes in per_range for node in nodes]
    hashes = list(store.node_hashes(flat)) if flat else []
    if len(hashes) != len(flat):
        raise UsageError(f"hash store returned {len(hashes)} hashes for {len(flat)} nodes")
    out = []
    pos = 0
    for nodes in per_range:
        out.append(_fold(hashes[pos : pos + len(nodes)]))
        pos += len(nodes)
    return out


def prove_inclusion(store: HashStore, index: int, size: int) -> list[bytes]:
    """Inclusion proof (RFC 9162 §2.1.3.1) for leaf ``index`` in the tree of ``size``.

    Reads O(log size) node hashes from ``store`` in one ``node_hashes`` call.
    """
    return _range_hashes(store, inclusion_ranges(index, size))


def prove_consistency(store: HashStore, size1: int, size2: int) -> list[bytes]:
    """Consistency proof (RFC 9162 §2.1.4.1) from ``size1`` to ``size2`` (1 <= size1).

    Reads O(log size2) node hashes from ``store`` in one ``node_hashes`` call.
    """
    return _range_hashes(store, consistency_ranges(size1, size2))


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """Inclusion proof computed from the full list of leaf hashes (O(size) hashing).

    ``size`` defaults to ``len(leaf_hashes)``; a smaller size proves against an older root.
    """
    size = len(leaf_hashes) if size is None else size
    if size > len(leaf_hashes):
        raise UsageError(f"tree size {size} is larger than the {len(leaf_hashes)} leaves given")
    return prove_inclusion(LeafHashStore(leaf_hashes), index, size)


def consistency_proof(
    leaf_hashes: Sequence[bytes], size1: int, size2: int | None = None
) -> list[bytes]:
    """Consistency proof computed from the full list of leaf hashes (O(size2) hashing)."""
    size2 = len(leaf_hashes) if size2 is None else size2
    if size2 > len(leaf_hashes):
        raise UsageError(f"tree size {size2} is larger than the {len(leaf_hashes)} leaves given")
    return prove_consistency(LeafHashStore(leaf_hashes), size1, size2)


# --------------------------------------------------------------------------------------------
# Compact range: the append-only tree state in O(log n) memory


class CompactRange:
    """The right border of a tree: one perfect-subtree hash per set bit of ``size``.

    This is all a log writer must keep in memory to append leaves and compute roots: the
    publisher appends one epoch root per epoch and signs ``root()``. The state is small and
    exact, so it can be rebuilt after a restart from the store (:meth:`from_store`) and
    checked against the last signed checkpoint.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, "tree size", UsageError)
        if len(hashes) != size.bit_count():
            raise UsageError(
                f"a compact range of size {size} has {size.bit_count()} hashes, got {len(hashes)}"
            )
        for h in hashes:
            if len(h) != HASH_SIZE:
                raise UsageError(f"compact range hashes must be {HASH_SIZE} bytes, got {len(h)}")
        self._size = size
        self._hashes = [bytes(h) for h in hashes]

    @classmethod
    def from_store(cls, store: HashStore, size: int) -> CompactRange:
        """Rebuild the state of a ``size``-leaf tree from its perfect subtrees in ``store``."""
        nodes = range_nodes(0, size)
        hashes = list(store.node_hashes(nodes)) if nodes else []
        return cls(size, hashes)

    @staticmethod
    def peak_nodes(size: int) -> list[NodeId]:
        """The nodes whose hashes make up the state at ``size`` (largest first)."""
        return range_nodes(0, size)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The peak hashes, left (largest subtree) to right."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf; return every perfect subtree this completes, leaf first.

        The returned list always starts with ``(NodeId(0, index), leaf_hash)`` and then has one
        entry per merge (as many as the trailing 1-bits of the old size). Persisting them lets
        a store answer :meth:`HashStore.node_hashes` for any later proof.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise UsageError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        if self._size == MAX_TREE_SIZE:
            raise UsageError("tree is full (uint64 size limit)")
        index = self._size
        acc = bytes(leaf_hash)
        created = [(NodeId(0, index), acc)]
        level = 0
        while (index >> level) & 1:
            acc = node_hash(self._hashes.pop(), acc)
            level += 1
            created.append((NodeId(level, index >> level), acc))
        self._hashes.append(acc)
        self._size += 1
        return created

    def root(self) -> bytes:
        """MTH of the tree so far (``EMPTY_ROOT`` when empty)."""
        if not self._hashes:
            return EMPTY_ROOT
        return _fold(self._hashes)

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


# --------------------------------------------------------------------------------------------
# Verification


def _check_hash(value: bytes, what: str, error: type[Exception]) -> None:
    if not isinstance(value, bytes | bytearray):
        raise error(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof(proof: Sequence[bytes], expected: int, what: str, error: type[Exception]) -> None:
    if len(proof) != expected:
        raise error(f"{what} has {len(proof)} hashes, expected {expected}")
    for i, h in enumerate(proof):
        _check_hash(h, f"{what} hash #{i}", error)


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4).

    Raises :class:`InclusionError` when the inputs cannot form a valid proof at all (index out
    of range, wrong number or size of hashes).
    """
    _check_size(index, "leaf index", InclusionError)
    _check_size(size, "tree size", InclusionError)
    _check_hash(leaf_hash, "leaf hash", InclusionError)
    if index >= size:
        raise InclusionError(f"leaf index {index} is not in a tree of size {size}")
    _check_proof(proof, len(inclusion_ranges(index, size)), "inclusion proof", InclusionError)
    fn, sn = index, size - 1
    acc = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise InclusionError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            acc = node_hash(p, acc)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            acc = node_hash(acc, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # cannot happen after the length check; kept as the RFC's final test
        raise InclusionError("inclusion proof does not reach the root")
    return acc


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the ``size``-leaf tree with ``root``.

    Returns ``None`` or raises :class:`InclusionError` with a one-line reason.
    """
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    _check_hash(root, "root hash", InclusionError)
    if not hmac.compare_digest(computed, bytes(root)):
        raise InclusionError(
            f"inclusion proof for leaf {index} of {size} leads to root {computed.hex()[:16]}…, "
            f"not the expected {bytes(root).hex()[:16]}…"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree ``(size2, root2)`` extends the tree ``(size1, root1)``.

    RFC 9162 §2.1.4.2, with the size-0 policy: a proof from an empty tree is rejected. When
    the sizes are equal the proof must be empty and the roots byte-identical (the roots are
    then compared as opaque values, as the reference vectors require).
    Returns ``None`` or raises :class:`ConsistencyError`.
    """
    _check_size(size1, "size1", ConsistencyError)
    _check_size(size2, "size2", ConsistencyError)
    if size1 > size2:
        raise ConsistencyError(f"tree shrank: size1 {size1} is larger than size2 {size2}")
    if size1 == 0:
        raise ConsistencyError("a consistency proof from an empty tree proves nothing")
    if size1 == size2:
        if len(proof) != 0:
            raise ConsistencyError(f"sizes are equal ({size1}) but the proof is not empty")
        if not hmac.compare_digest(bytes(root1), bytes(root2)):
            raise ConsistencyError(f"two different roots for the same tree size {size1}")
        return
    _check_hash(root1, "root1", ConsistencyError)
    _check_hash(root2, "root2", ConsistencyError)
    _check_proof(
        proof, len(consistency_ranges(size1, size2)), "consistency proof", ConsistencyError
    )

    path = list(proof)
    if size1 & (size1 - 1) == 0:  # old tree is a perfect subtree: its root is the first node
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old = new = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            old = node_hash(c, old)
            new = node_hash(c, new)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # cannot happen after the length check; kept as the RFC's final test
        raise ConsistencyError("consistency proof does not reach the new root")
    if not hmac.compare_digest(old, bytes(root1)):
        raise ConsistencyError(
            f"consistency proof {size1}→{size2} does not match the old root "
            f"{bytes(root1).hex()[:16]}…"
        )
    if not hmac.compare_digest(new, bytes(root2)):
        raise ConsistencyError(
            f"consistency proof {size1}→{size2} does not match the new root "
            f"{bytes(root2).hex()[:16]}…"
        )


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "CompactRange",
    "HashStore",
    "LeafHashStore",
    "MemoryHashStore",
    "NodeId",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "merkle_tree_hash",
    "node_hash",
    "prove_consistency",
    "prove_inclusion",
    "range_nodes",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]
