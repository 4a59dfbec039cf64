"""RFC 6962 / RFC 9162 conformance: transparency-dev/merkle vectors and the reference tree.

Every one of the 196 upstream proof cases must be accepted or rejected exactly as its
``wantErr`` says; rejections must be our typed errors (never a crash). Where a case is a
valid proof in the reference tree, the proof we generate must be byte-identical to it.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from glasskey.core.errors import ConsistencyError, InclusionError
from glasskey.log.rfc6962 import (
    EMPTY_ROOT,
    CompactRange,
    LeafHashStore,
    MemoryHashStore,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.vectors import VECTORS, vector_path

MERKLE = VECTORS / "rfc6962" / "transparency-dev-merkle"
INCLUSION_FILES = sorted((MERKLE / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((MERKLE / "consistency").rglob("*.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(MERKLE))


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@cache
def reference() -> dict[str, Any]:
    return _load(vector_path("rfc6962", "reference-tree.json"))


def reference_leaf_hashes() -> list[bytes]:
    return [bytes.fromhex(h) for h in reference()["node_hashes_by_level"][0]]


def reference_roots() -> list[bytes]:
    return [bytes.fromhex(h) for h in reference()["root_hashes_by_size"]]


def test_vector_counts() -> None:
    """The folder holds the 98 + 98 cases the vectors README describes."""
    vector_path("rfc6962", "transparency-dev-merkle")
    assert len(INCLUSION_FILES) == 98
    assert len(CONSISTENCY_FILES) == 98


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_id)
def test_inclusion_vector(path: Path) -> None:
    case = _load(path)
    args = (
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(InclusionError) as info:
            verify_inclusion(*args)
        assert "\n" not in str(info.value) and str(info.value)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_id)
def test_consistency_vector(path: Path) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(ConsistencyError) as info:
            verify_consistency(*args)
        assert "\n" not in str(info.value) and str(info.value)
    else:
        verify_consistency(*args)


def test_pinned_policies_are_the_ones_the_readme_names() -> None:
    """The two non-RFC policies: nothing is proven from size 0; leaf hashes are 32 bytes."""
    zero = _load(MERKLE / "consistency/additional/sizes-are-equal-zero-and-proof-is-empty.json")
    assert zero["wantErr"] is True and zero["root1"] == zero["root2"]
    with pytest.raises(ConsistencyError, match="empty tree"):
        verify_consistency(0, 0, [], _b64(zero["root1"]), _b64(zero["root2"]))
    empty_leaf = _load(MERKLE / "inclusion/single-entry/empty-root-and-leaf.json")
    assert empty_leaf["wantErr"] is True and empty_leaf["leafHash"] == ""
    with pytest.raises(InclusionError, match="leaf hash must be 32 bytes, got 0"):
        verify_inclusion(b"", 0, 1, [], b"")


def _valid_in_reference(path: Path) -> bool:
    """A case whose roots are the reference tree's: its proof is the one we must generate."""
    case = _load(path)
    roots = reference_roots()
    if case["wantErr"]:
        return False
    if "treeSize" in case:
        return bool(case["treeSize"] < len(roots) and _b64(case["root"]) == roots[case["treeSize"]])
    return bool(
        case["size2"] < len(roots)
        and _b64(case["root1"]) == roots[case["size1"]]
        and _b64(case["root2"]) == roots[case["size2"]]
    )


VALID_INCLUSION = [p for p in INCLUSION_FILES if _valid_in_reference(p)]
VALID_CONSISTENCY = [p for p in CONSISTENCY_FILES if _valid_in_reference(p)]


def test_valid_reference_cases_are_the_happy_paths() -> None:
    """Guard: generation below is checked against every upstream happy path (5 + 5)."""
    assert [p.name for p in VALID_INCLUSION] == ["happy-path.json"] * 5
    assert [p.name for p in VALID_CONSISTENCY] == ["happy-path.json"] * 5


@pytest.mark.parametrize("path", VALID_INCLUSION, ids=_id)
def test_generated_inclusion_proof_matches_vector(path: Path) -> None:
    case = _load(path)
    leaves = reference_leaf_hashes()
    assert _b64(case["leafHash"]) == leaves[case["leafIdx"]]
    want = [_b64(p) for p in case["proof"] or []]
    assert inclusion_proof(leaves, case["leafIdx"], case["treeSize"]) == want


@pytest.mark.parametrize("path", VALID_CONSISTENCY, ids=_id)
def test_generated_consistency_proof_matches_vector(path: Path) -> None:
    case = _load(path)
    want = [_b64(p) for p in case["proof"] or []]
    assert consistency_proof(reference_leaf_hashes(), case["size1"], case["size2"]) == want


def test_reference_leaf_hashes() -> None:
    inputs = [bytes.fromhex(x) for x in reference()["leaf_inputs"]]
    assert [leaf_hash(x) for x in inputs] == reference_leaf_hashes()
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


def test_reference_roots_for_every_size() -> None:
    inputs = [bytes.fromhex(x) for x in reference()["leaf_inputs"]]
    roots = reference_roots()
    assert roots[0] == EMPTY_ROOT
    tree = CompactRange()
    assert tree.root() == roots[0]
    for size in range(len(inputs) + 1):
        assert merkle_tree_hash(inputs[:size]) == roots[size]
        if size:
            tree.append(leaf_hash(inputs[size - 1]))
            assert tree.root() == roots[size]
            assert tree.size == size


def test_reference_subtree_hashes() -> None:
    """Every complete subtree hash, from both kinds of store."""
    leaves = reference_leaf_hashes()
    memory = MemoryHashStore(leaves)
    from_leaves = LeafHashStore(leaves)
    levels = reference()["node_hashes_by_level"]
    assert [len(level) for level in levels] == [8, 4, 2, 1]
    for level, hashes in enumerate(levels):
        nodes = [NodeId(level, i) for i in range(len(hashes))]
        want = [bytes.fromhex(h) for h in hashes]
        assert memory.node_hashes(nodes) == want
        assert from_leaves.node_hashes(nodes) == want
    for size, root in enumerate(reference_roots()):
        assert memory.root(size) == root
