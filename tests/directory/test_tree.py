"""The prefix tree directly: proofs for paths deeper than the first read (SHALLOW_BITS)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.verify import verify_membership, verify_nonmembership
from glasskey.core.errors import VerificationError
from glasskey.directory.akd._tree import (
    SHALLOW_BITS,
    AkdTree,
    _ReadDepth,
    key_label,
    key_node_label,
    node_key,
    prefix_key,
)
from glasskey.storage._memory import MemoryStore


@pytest.mark.parametrize("name", ["whatsapp_v1", "experimental"])
def test_deep_shared_prefixes_still_prove(name: str) -> None:
    config = get_configuration(name)
    tree = AkdTree(config)
    store = MemoryStore()
    rng = random.Random(7)
    base = rng.getrandbits(256)
    # Leaves that share 60 and 200 leading bits (far below SHALLOW_BITS), plus random ones.
    deep = [base, base ^ (1 << (255 - 60)), base ^ (1 << (255 - 200)), base ^ 1]
    leaves = [
        (label, rng.randbytes(32)) for label in deep + [rng.getrandbits(256) for _ in range(50)]
    ]
    with store.write() as txn:
        root, _ = tree.insert(txn, leaves, 1)
    with store.read() as txn:
        members = [label.to_bytes(32, "big") for label, _ in leaves]
        absent = [(base ^ (1 << (255 - 120))).to_bytes(32, "big"), (base ^ 2).to_bytes(32, "big")]
        membership, non_membership = tree.proofs(txn, members, absent)
    assert max(len(p.sibling_proofs) for p in membership) > SHALLOW_BITS // 8
    for proof in membership:
        verify_membership(config, root, proof)
    for proof in non_membership:
        verify_nonmembership(config, root, proof)
    assert any(p.longest_prefix.length > SHALLOW_BITS for p in non_membership)
    with pytest.raises(VerificationError):
        verify_nonmembership(config, root, non_membership[0].__class__(
            membership[0].label, non_membership[0].longest_prefix,
            non_membership[0].longest_prefix_children,
            non_membership[0].longest_prefix_membership_proof,
        ))  # fmt: skip


@given(st.binary(min_size=32, max_size=32), st.integers(min_value=0, max_value=256))
def test_prefix_key_from_bytes_matches_the_integer_form(label: bytes, length: int) -> None:
    """The byte-slicing shortcuts the proof walk uses agree with the reference definitions."""
    value = int.from_bytes(label, "big")
    prefix = value & ~((1 << (256 - length)) - 1) if length else 0
    key = node_key(prefix, length)
    assert prefix_key(label, length) == key
    assert key_label(key) == (prefix, length)
    assert key_node_label(key) == NodeLabel.from_int(prefix, length)


def test_first_read_shrinks_to_the_trees_depth_and_deep_paths_still_prove(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first read asks for as many prefix lengths as recent paths needed; a path that
    goes deeper (here: two leaves sharing 60 bits) costs exactly one more read."""
    monkeypatch.setattr(_ReadDepth, "WINDOW", 8)
    config = get_configuration("whatsapp_v1")
    tree = AkdTree(config)
    store = MemoryStore()
    rng = random.Random(11)
    base = rng.getrandbits(256)
    labels = [rng.getrandbits(256) for _ in range(64)] + [base, base ^ (1 << (255 - 60))]
    with store.write() as txn:
        root, _ = tree.insert(txn, [(label, rng.randbytes(32)) for label in labels], 1)
    reads: list[int] = []

    class Counting:
        def __init__(self, txn: object) -> None:
            self.txn = txn

        def get_nodes(self, keys):  # type: ignore[no-untyped-def]
            reads.append(len(keys))
            return self.txn.get_nodes(keys)  # type: ignore[attr-defined]

    def prove(label: int) -> None:
        reads.clear()
        with store.read() as txn:
            (proof,), _ = tree.proofs(Counting(txn), [label.to_bytes(32, "big")], [])  # type: ignore[arg-type]
        verify_membership(config, root, proof)

    for label in labels[:24]:  # three windows of ordinary (~6-12 bit deep) paths
        prove(label)
    assert tree._read_depth.bits() < 20
    assert len(reads) == 1 and reads[0] <= tree._read_depth.bits() + 2
    prove(base)  # 60 shared bits: deeper than the first read asked for
    assert len(reads) == 2
    assert tree._read_depth.bits() == SHALLOW_BITS  # and the next reads ask for more again
