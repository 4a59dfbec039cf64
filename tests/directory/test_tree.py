"""The prefix tree directly: proofs for paths deeper than the first read (SHALLOW_BITS)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import EpochHash
from glasskey.core.akd.verify import lookup_verify, verify_membership, verify_nonmembership
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.errors import VerificationError
from glasskey.directory import Directory
from glasskey.directory.akd._keys import ROOT_KEY, key_label, key_node_label, node_key, prefix_key
from glasskey.directory.akd._tree import SHALLOW_BITS, AkdTree, _ReadDepth, _TopNodes
from glasskey.storage import open_store
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


def test_top_levels_are_read_once_per_epoch_hash_and_give_the_same_proofs() -> None:
    """With ``at``, the top ``TOP_BITS`` levels come from the per-epoch cache: the same
    proofs as a plain read, the top rows read only by the first proof, none for a target
    whose walk through them is cached, and a new epoch hash (here: epoch 2 rewrote the upper
    nodes) reads them afresh."""
    config = get_configuration("whatsapp_v1")
    tree, plain = AkdTree(config), AkdTree(config)
    store = MemoryStore()
    rng = random.Random(5)
    labels = [rng.getrandbits(256) for _ in range(400)]
    requested: list[bytes] = []

    class Recording:
        def __init__(self, txn: object) -> None:
            self.txn = txn

        def get_nodes(self, keys):  # type: ignore[no-untyped-def]
            requested.extend(keys)
            return self.txn.get_nodes(keys)  # type: ignore[attr-defined]

    def top_keys() -> list[bytes]:
        return [k for k in requested if key_label(k)[1] <= _TopNodes.TOP_BITS]

    for epoch, batch in ((1, labels[:300]), (2, labels[300:])):
        with store.write() as txn:
            root, _ = tree.insert(txn, [(label, rng.randbytes(32)) for label in batch], epoch)
        at = EpochHash(epoch, root)
        for i, label in enumerate(labels[:300:7]):
            member = label.to_bytes(32, "big")
            absent = rng.randbytes(32)
            requested.clear()
            with store.read() as txn:
                cached = tree.proofs(Recording(txn), [member], [absent], at)  # type: ignore[arg-type]
                assert cached == plain.proofs(txn, [member], [absent])
            verify_membership(config, root, cached[0][0])
            verify_nonmembership(config, root, cached[1][0])
            if i == 0:
                assert ROOT_KEY in top_keys()  # the epoch's first proof reads the top
            else:
                # Later ones read only top prefixes no earlier proof of this epoch had.
                assert ROOT_KEY not in top_keys() and len(top_keys()) < 2 * _TopNodes.TOP_BITS
            requested.clear()
            with store.read() as txn:  # the same targets again: their walks are cached
                assert tree.proofs(Recording(txn), [member], [absent], at) == cached  # type: ignore[arg-type]
            assert top_keys() == [] and requested


def test_a_lookup_sees_an_epoch_another_process_published() -> None:
    """Two directories on one SQLite file (each its own connection and cache, as two server
    workers): after the other one publishes, the next lookup is at the new epoch, with the
    new value and a proof against the new root — never the cached top of the old epoch."""
    config = get_configuration("whatsapp_v1")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'd.db'}"

        def open_directory() -> Directory:
            return Directory(open_store(url), config, VrfSecretKey(bytes(32)), vrf_workers=1)

        reader, publisher = open_directory(), open_directory()
        try:
            publisher.publish([(f"user{i}".encode(), b"v1") for i in range(64)])
            proof, first = reader.lookup(b"user3")
            assert (first.epoch, proof.value) == (1, b"v1")
            second = publisher.publish([(b"user3", b"v2"), (b"new", b"n1")])
            proof, seen = reader.lookup(b"user3")
            assert seen == second and seen.root_hash != first.root_hash
            result = lookup_verify(
                config, reader.vrf_public_key, seen.root_hash, 2, b"user3", proof
            )
            assert (result.epoch, result.version, result.value) == (2, 2, b"v2")
        finally:
            reader.close()
            publisher.close()


def test_cached_walks_depend_only_on_the_first_top_bits() -> None:
    """Two targets with the same first ``TOP_BITS`` bits that part at the next one, under a
    node of exactly ``TOP_BITS`` bits with children of ``TOP_BITS + 1``: the cached first
    steps stop above the parting, so each target still gets its own path."""
    config = get_configuration("whatsapp_v1")
    tree, plain = AkdTree(config), AkdTree(config)
    store = MemoryStore()
    rng = random.Random(3)
    top = _TopNodes.TOP_BITS
    prefix = rng.getrandbits(top) << (256 - top)
    quads = [
        prefix | (side << (255 - top)) | (low << (254 - top)) | rng.getrandbits(254 - top)
        for side in (0, 1)
        for low in (0, 1)
    ]
    labels = quads + [rng.getrandbits(256) for _ in range(40)]
    with store.write() as txn:
        root, _ = tree.insert(txn, [(label, rng.randbytes(32)) for label in labels], 1)
    at = EpochHash(1, root)
    with store.read() as txn:
        for label in (quads[0], quads[2], quads[1], quads[3]):
            member = label.to_bytes(32, "big")
            (proof,), _ = tree.proofs(txn, [member], [], at)
            assert proof == plain.proofs(txn, [member], [])[0][0]
            verify_membership(config, root, proof)
            # The path passes the node of TOP_BITS bits and its child of TOP_BITS + 1.
            assert {top, top + 1} <= {sp.label.length for sp in proof.sibling_proofs}
