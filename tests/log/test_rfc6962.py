"""Proof generation and verification for every small tree, against a literal RFC reading.

The reference functions below transcribe RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and
§2.1.4.1 (SUBPROOF) recursively over lists, deliberately unlike the loop-and-node-store code
under test, so agreement means something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.errors import ConsistencyError, InclusionError, UsageError
from glasskey.log.rfc6962 import (
    EMPTY_ROOT,
    CompactRange,
    LeafHashStore,
    MemoryHashStore,
    NodeId,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    range_nodes,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX = 64
LEAVES = [leaf_hash(b"leaf %d" % i) for i in range(MAX + 1)]
STORE = MemoryHashStore(LEAVES)


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def test_hash_functions_exact_values() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(MAX + 1))
def test_roots_agree_with_reference_mth(size: int) -> None:
    want = ref_mth(LEAVES[:size])
    assert root_from_leaf_hashes(LEAVES[:size]) == want
    assert STORE.root(size) == want


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_every_inclusion_proof_up_to_64(size: int) -> None:
    root = STORE.root(size)
    for index in range(size):
        proof = prove_inclusion(STORE, index, size)
        assert proof == ref_path(index, LEAVES[:size])
        assert len(proof) == len(inclusion_ranges(index, size))
        verify_inclusion(LEAVES[index], index, size, proof, root)
        assert root_from_inclusion_proof(LEAVES[index], index, size, proof) == root


@pytest.mark.parametrize("size2", range(1, MAX + 1))
def test_every_consistency_proof_up_to_64(size2: int) -> None:
    root2 = STORE.root(size2)
    for size1 in range(1, size2 + 1):
        proof = prove_consistency(STORE, size1, size2)
        assert proof == ref_subproof(size1, LEAVES[:size2], True)
        verify_consistency(size1, size2, proof, STORE.root(size1), root2)


def test_leaf_list_store_gives_the_same_proofs() -> None:
    for size in (1, 2, 3, 7, 8, 9, 33):
        for index in range(size):
            assert inclusion_proof(LEAVES, index, size) == prove_inclusion(STORE, index, size)
        for size1 in range(1, size + 1):
            assert consistency_proof(LEAVES, size1, size) == prove_consistency(STORE, size1, size)
    assert inclusion_proof(LEAVES[:5], 2) == prove_inclusion(STORE, 2, 5)
    assert consistency_proof(LEAVES[:5], 3) == prove_consistency(STORE, 3, 5)


class CountingStore:
    """Records how a prover uses the store: one batched call of O(log n) nodes."""

    def __init__(self, inner: MemoryHashStore) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def node_hashes(self, nodes: Sequence[NodeId]) -> list[bytes]:
        self.calls.append(len(nodes))
        return self.inner.node_hashes(nodes)


def test_proofs_read_log_n_nodes_in_one_call() -> None:
    big = MemoryHashStore(leaf_hash(i.to_bytes(4, "big")) for i in range(1000))
    counting = CountingStore(big)
    prove_inclusion(counting, 999, 1000)
    prove_consistency(counting, 377, 1000)
    assert len(counting.calls) == 2
    # 1000 = 0b1111101000: at most 2·log2(1000) ≈ 20 nodes, never the 1000 leaves.
    assert all(0 < n <= 20 for n in counting.calls)


def test_range_nodes_decompose_ranges() -> None:
    assert range_nodes(0, 0) == []
    assert range_nodes(0, 13) == [NodeId(3, 0), NodeId(2, 2), NodeId(0, 12)]
    assert range_nodes(8, 13) == [NodeId(2, 2), NodeId(0, 12)]
    assert range_nodes(4, 8) == [NodeId(2, 1)]
    assert NodeId(2, 3).start == 12 and NodeId(2, 3).end == 16


def test_ranges_exact() -> None:
    # Leaf 5 of 8: sibling leaf 4, then leaves 6-7, then the left half 0-3.
    assert inclusion_ranges(5, 8) == [(4, 5), (6, 8), (0, 4)]
    assert inclusion_ranges(0, 1) == []
    # RFC 9162 §2.1.4.3 example: from 6 (d0..d5) to 7: [k, j, d, c]-shaped proof of 3 hashes.
    assert consistency_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]
    assert consistency_ranges(4, 7) == [(4, 7)]
    assert consistency_ranges(3, 3) == []


def test_compact_range_reports_every_new_node() -> None:
    tree = CompactRange()
    seen: dict[NodeId, bytes] = {}
    for i in range(MAX):
        created = tree.append(LEAVES[i])
        assert created[0] == (NodeId(0, i), LEAVES[i])
        # one merge per trailing 1-bit of the old size
        trailing_ones = (i ^ (i + 1)).bit_length() - 1
        assert len(created) == 1 + trailing_ones
        seen.update(created)
        assert tree.root() == STORE.root(i + 1)
        assert len(tree.hashes) == (i + 1).bit_count()
    assert len(seen) == 2 * MAX - 1
    for node, h in seen.items():
        assert STORE.node_hashes([node]) == [h]


def test_compact_range_rebuilds_from_store() -> None:
    for size in (0, 1, 5, 32, 63):
        rebuilt = CompactRange.from_store(STORE, size)
        assert rebuilt.size == size and rebuilt.root() == STORE.root(size)
        grown = rebuilt.copy()
        grown.append(LEAVES[size])
        assert grown.root() == STORE.root(size + 1)
        assert rebuilt.size == size  # copy is independent
        assert CompactRange(size, rebuilt.hashes) == rebuilt
    assert CompactRange.peak_nodes(5) == [NodeId(2, 0), NodeId(0, 4)]


def test_compact_range_rejects_bad_state() -> None:
    with pytest.raises(UsageError, match="size 3 has 2 hashes, got 1"):
        CompactRange(3, [LEAVES[0]])
    with pytest.raises(UsageError, match="32 bytes"):
        CompactRange(1, [b"short"])
    with pytest.raises(UsageError, match="leaf hash must be 32 bytes"):
        CompactRange().append(b"x")
    with pytest.raises(UsageError, match="uint64"):
        CompactRange(-1)


def test_prover_usage_errors() -> None:
    with pytest.raises(UsageError, match="not in a tree of size 3"):
        prove_inclusion(STORE, 3, 3)
    with pytest.raises(UsageError, match="empty tree"):
        prove_consistency(STORE, 0, 3)
    with pytest.raises(UsageError, match="larger than size2"):
        prove_consistency(STORE, 4, 3)
    with pytest.raises(UsageError, match="larger than the 5 leaves"):
        inclusion_proof(LEAVES[:5], 0, 6)
    with pytest.raises(UsageError, match="not in a tree of size"):
        prove_inclusion(MemoryHashStore(LEAVES[:4]), 0, 8)
    with pytest.raises(UsageError, match="store holds 4"):
        prove_inclusion(LeafHashStore(LEAVES[:4]), 0, 8)


def test_inclusion_verifier_messages() -> None:
    root = STORE.root(8)
    proof = prove_inclusion(STORE, 5, 8)
    with pytest.raises(InclusionError, match=r"^leaf index 8 is not in a tree of size 8$"):
        verify_inclusion(LEAVES[5], 8, 8, proof, root)
    with pytest.raises(InclusionError, match=r"^inclusion proof has 2 hashes, expected 3$"):
        verify_inclusion(LEAVES[5], 5, 8, proof[:2], root)
    with pytest.raises(InclusionError, match=r"^inclusion proof has 4 hashes, expected 3$"):
        verify_inclusion(LEAVES[5], 5, 8, [*proof, root], root)
    with pytest.raises(InclusionError, match="hash #1 must be 32 bytes, got 31"):
        verify_inclusion(LEAVES[5], 5, 8, [proof[0], proof[1][:31], proof[2]], root)
    with pytest.raises(InclusionError, match=r"leads to root .* not the expected"):
        verify_inclusion(LEAVES[4], 5, 8, proof, root)
    with pytest.raises(InclusionError, match="root hash must be 32 bytes, got 33"):
        verify_inclusion(LEAVES[5], 5, 8, proof, root + b"\x00")
    with pytest.raises(InclusionError, match="must be an integer"):
        verify_inclusion(LEAVES[5], "5", 8, proof, root)  # type: ignore[arg-type]
    with pytest.raises(InclusionError, match="uint64"):
        verify_inclusion(LEAVES[5], -1, 8, proof, root)


def test_consistency_verifier_messages() -> None:
    r3, r8 = STORE.root(3), STORE.root(8)
    proof = prove_consistency(STORE, 3, 8)
    with pytest.raises(ConsistencyError, match=r"^tree shrank: size1 8 is larger than size2 3$"):
        verify_consistency(8, 3, proof, r8, r3)
    with pytest.raises(ConsistencyError, match="empty tree proves nothing"):
        verify_consistency(0, 8, proof, EMPTY_ROOT, r8)
    with pytest.raises(ConsistencyError, match="two different roots for the same tree size 8"):
        verify_consistency(8, 8, [], r8, r3)
    with pytest.raises(ConsistencyError, match=r"sizes are equal .* not empty"):
        verify_consistency(8, 8, proof, r8, r8)
    with pytest.raises(ConsistencyError, match="has 3 hashes, expected 4"):
        verify_consistency(3, 8, proof[:3], r3, r8)
    with pytest.raises(ConsistencyError, match="does not match the old root"):
        verify_consistency(3, 8, proof, STORE.root(2), r8)
    with pytest.raises(ConsistencyError, match="does not match the new root"):
        verify_consistency(3, 8, proof, r3, STORE.root(9))
    with pytest.raises(ConsistencyError, match="root1 must be 32 bytes"):
        verify_consistency(3, 8, proof, b"", r8)


# --- hypothesis: any single-byte change to a valid proof, leaf, root or position is caught ---


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX))
    return draw(st.integers(0, size - 1)), size


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, MAX))
    return draw(st.integers(1, size2 - 1)), size2


def _flip(data: bytes, position: int, xor: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] ^= xor
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(inclusion_cases(), st.integers(0, 10_000), st.integers(0, 31), st.integers(1, 255))
def test_tampered_inclusion_is_rejected(
    case: tuple[int, int], which: int, position: int, xor: int
) -> None:
    index, size = case
    proof = prove_inclusion(STORE, index, size)
    root = STORE.root(size)
    leaf = LEAVES[index]
    # Pick one of: a proof hash, the leaf hash, the root.
    target = which % (len(proof) + 2)
    if target < len(proof):
        proof = [*proof]
        proof[target] = _flip(proof[target], position, xor)
    elif target == len(proof):
        leaf = _flip(leaf, position, xor)
    else:
        root = _flip(root, position, xor)
    with pytest.raises(InclusionError):
        verify_inclusion(leaf, index, size, proof, root)


@settings(max_examples=200, deadline=None)
@given(inclusion_cases(), st.integers(-3, 3).filter(bool))
def test_moved_inclusion_is_rejected(case: tuple[int, int], delta: int) -> None:
    """The same proof claimed for a neighbouring leaf index does not verify."""
    index, size = case
    if not 0 <= index + delta < size:
        return
    proof = prove_inclusion(STORE, index, size)
    with pytest.raises(InclusionError):
        verify_inclusion(LEAVES[index], index + delta, size, proof, STORE.root(size))


def test_tree_size_is_bound_by_the_checkpoint_not_the_proof() -> None:
    """Why checkpoints sign (size, root) together: a proof alone does not pin the size.

    RFC 6962 paths for some neighbouring sizes have the same shape, so a proof made for the
    3-leaf tree also "verifies" when the verifier is told size 4 with the 3-leaf root. A
    verifier must take size and root from one signed checkpoint, never from separate sources.
    """
    root3 = STORE.root(3)
    verify_inclusion(LEAVES[0], 0, 4, prove_inclusion(STORE, 0, 3), root3)
    verify_consistency(1, 4, prove_consistency(STORE, 1, 3), LEAVES[0], root3)
    # With the real 4-leaf root, of course, neither verifies.
    with pytest.raises(InclusionError):
        verify_inclusion(LEAVES[0], 0, 4, prove_inclusion(STORE, 0, 3), STORE.root(4))
    with pytest.raises(ConsistencyError):
        verify_consistency(1, 4, prove_consistency(STORE, 1, 3), LEAVES[0], STORE.root(4))


@settings(max_examples=300, deadline=None)
@given(consistency_cases(), st.integers(0, 10_000), st.integers(0, 31), st.integers(1, 255))
def test_tampered_consistency_is_rejected(
    case: tuple[int, int], which: int, position: int, xor: int
) -> None:
    size1, size2 = case
    proof = prove_consistency(STORE, size1, size2)
    root1, root2 = STORE.root(size1), STORE.root(size2)
    target = which % (len(proof) + 2)
    if target < len(proof):
        proof = [*proof]
        proof[target] = _flip(proof[target], position, xor)
    elif target == len(proof):
        root1 = _flip(root1, position, xor)
    else:
        root2 = _flip(root2, position, xor)
    with pytest.raises(ConsistencyError):
        verify_consistency(size1, size2, proof, root1, root2)


@settings(max_examples=200, deadline=None)
@given(consistency_cases(), st.sampled_from(["drop", "extra", "swap"]))
def test_reshaped_consistency_is_rejected(case: tuple[int, int], how: str) -> None:
    size1, size2 = case
    proof = prove_consistency(STORE, size1, size2)
    root1, root2 = STORE.root(size1), STORE.root(size2)
    if how == "drop":
        proof = proof[:-1]
    elif how == "extra":
        proof = [*proof, root2]
    elif how == "swap":
        if len(proof) < 2 or proof[0] == proof[-1]:
            return
        proof = [proof[-1], *proof[1:-1], proof[0]]
    with pytest.raises(ConsistencyError):
        verify_consistency(size1, size2, proof, root1, root2)
