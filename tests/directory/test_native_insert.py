"""Publish's tree insertion in the native extension against the Python walk (AkdTree._insert).

Both must leave identical trees: the same root after every epoch, the same number of nodes
created and the same stored record for every node (value, child hashes, epochs), in both
configurations, on the memory and the SQLite store, for random batches of new labels and new
versions and for labels crowded under shared prefixes (every push-down case); and a
corrupted store — a child hash, a child or a key that is no label's — fails the same way.
"""

from __future__ import annotations

import random
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core import _native
from glasskey.core.akd.configuration import get_configuration
from glasskey.directory import Directory
from glasskey.directory.akd import _tree
from glasskey.directory.akd._keys import ROOT_KEY
from glasskey.storage import open_store
from glasskey.storage._base import NodeRecord
from glasskey.storage._errors import StoreCorrupted
from glasskey.storage._memory import MemoryStore
from tests.native import needs_native, without_native
from tests.vectors import AKD_TEST_VRF_SEED

#: Both paths where each is checked against an expected error (the Python one runs alone in
#: the fallback job); the differential tests need both.
both_paths = pytest.mark.parametrize(
    "native",
    [pytest.param(True, marks=needs_native, id="native"), pytest.param(False, id="python")],
)


def pure_python() -> AbstractContextManager[Any]:
    return without_native(_tree, "native_vrf")


def either_path(native: bool) -> AbstractContextManager[None]:
    """The extension's path, or the Python reference's."""
    return nullcontext() if native else pure_python()


def records(d: Directory) -> dict[bytes, object]:
    with d.store.read() as txn:
        keys = list(d.store.nodes)  # type: ignore[attr-defined]
        return {
            k: (r.value, r.last_epoch, r.min_epoch, r.left_key, r.left_hash, r.right_key,
                r.right_hash)
            for k, r in txn.get_nodes(keys).items()
        }  # fmt: skip


Epochs = list[list[tuple[bytes, bytes]]]


def run(config: str, epochs: Epochs, native: bool) -> tuple[list[bytes], dict[bytes, object]]:
    domain = None if config == "whatsapp_v1" else b"ExampleLabel"
    d = Directory.in_memory(config, AKD_TEST_VRF_SEED, domain, vrf_workers=1)
    roots = []
    for batch in epochs:
        with either_path(native):
            roots.append(d.publish(batch).root_hash)
    out = records(d)
    d.close()
    return roots, out


_batches = st.lists(
    st.dictionaries(
        st.binary(min_size=1, max_size=3), st.binary(min_size=1, max_size=4), min_size=1,
        max_size=40,
    ).map(lambda m: sorted(m.items())),
    min_size=1,
    max_size=4,
)  # fmt: skip


@needs_native
@settings(max_examples=25)
@given(_batches, st.sampled_from(["whatsapp_v1", "experimental"]))
def test_random_epochs_leave_identical_trees(
    epochs: list[list[tuple[bytes, bytes]]], config: str
) -> None:
    assert run(config, epochs, native=True) == run(config, epochs, native=False)


@needs_native
@pytest.mark.parametrize("config", ["whatsapp_v1", "experimental"])
def test_a_bigger_directory(config: str) -> None:
    epochs = [
        [(b"user-%d" % i, b"k1") for i in range(800)],
        [(b"user-%d" % i, b"k2") for i in range(0, 800, 3)]
        + [(b"new-%d" % i, b"v") for i in range(300)],
        [(b"user-5", b"k3")],
    ]  # fmt: skip
    native = run(config, epochs, native=True)
    assert native == run(config, epochs, native=False)
    assert len(native[1]) > 2000


@both_paths
def test_a_missing_child_hash_is_refused_alike(native: bool) -> None:
    d = Directory.in_memory("whatsapp_v1", AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(50)])
    with d.store.read() as txn:
        root = txn.get_nodes([ROOT_KEY])[ROOT_KEY]
    d.store.nodes[ROOT_KEY] = type(root)(  # type: ignore[attr-defined]
        root.key, root.value, root.last_epoch, root.min_epoch, root.left_key, None,
        root.right_key, None,
    )  # fmt: skip
    expected = f"tree node {ROOT_KEY.hex()} lacks a child hash"
    with pytest.raises(StoreCorrupted, match=expected), either_path(native):
        d.publish([(b"zzz-new", b"v")])  # one path: the root's other child is not read
    d.close()


def insert_epochs(
    store_url: str, config: str, epochs: list[list[int]], native: bool
) -> tuple[list[tuple[bytes, int]], dict[bytes, NodeRecord]]:
    """Direct ``AkdTree.insert`` of raw leaf labels, epoch by epoch: (root, created) per
    epoch and every stored record at the end."""
    cfg = get_configuration(config, None if config == "whatsapp_v1" else b"ExampleLabel")
    tree = _tree.AkdTree(cfg)
    store = open_store(store_url)
    out = []
    for epoch, labels in enumerate(epochs, start=1):
        leaves = [(label, label.to_bytes(32, "big")[::-1]) for label in labels]
        with store.write() as txn, either_path(native):
            out.append(tree.insert(txn, leaves, epoch))
    with store.read() as txn:
        rows = txn.nodes_changed_after(0, 1 << 60) if not isinstance(store, MemoryStore) else None
        keys = list(rows) if rows is not None else list(store.nodes)  # type: ignore[attr-defined]
        records = txn.get_nodes(keys)
    store.close()
    return out, records


# Labels under a few shared prefixes: the top 12 bits from a small set, so new leaves land
# next to old ones at every depth and interior nodes are pushed down at many lengths.
_crowded = st.lists(
    st.sets(
        st.tuples(st.integers(0, 15), st.integers(0, 2**10 - 1), st.integers(0, 3)).map(
            lambda t: (t[0] << 252) | (t[1] << 200) | (t[2] << 3)
        ),
        min_size=1,
        max_size=30,
    ).map(sorted),
    min_size=1,
    max_size=4,
)


@needs_native
@settings(max_examples=40, deadline=None)
@given(_crowded, st.sampled_from(["whatsapp_v1", "experimental"]))
def test_crowded_labels_leave_identical_trees(epochs: list[list[int]], config: str) -> None:
    seen: set[int] = set()
    unique = []
    for batch in epochs:  # a label is new once (the tree refuses it again, tested below)
        unique.append([label for label in batch if label not in seen])
        seen.update(batch)
    epochs = [batch for batch in unique if batch]
    native = insert_epochs("memory://", config, epochs, native=True)
    assert native == insert_epochs("memory://", config, epochs, native=False)
    assert sum(created for _, created in native[0]) == len(native[1]) - 1  # all but the root


@needs_native
def test_sqlite_gets_the_same_tree_either_way(tmp_path: Path) -> None:
    # SQLite's get_nodes answers in key order, the memory store's in request order: the walk
    # must not depend on it.
    rng = random.Random(7)
    epochs = [[rng.getrandbits(256) for _ in range(n)] for n in (600, 200, 1, 350)]
    native = insert_epochs(f"sqlite:///{tmp_path / 'n.db'}", "whatsapp_v1", epochs, True)
    python = insert_epochs(f"sqlite:///{tmp_path / 'p.db'}", "whatsapp_v1", epochs, False)
    assert native == python
    assert python == insert_epochs("memory://", "whatsapp_v1", epochs, False)


def _corrupted(edit: str) -> tuple[Directory, str]:
    d = Directory.in_memory("whatsapp_v1", AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(50)])
    nodes = d.store.nodes  # type: ignore[attr-defined]
    root = nodes[ROOT_KEY]
    child_key = root.left_key
    if edit == "missing child":
        del nodes[child_key]
        return d, f"tree node {child_key.hex()} is referenced but missing"
    if edit == "child key too long":
        long_key = b"\x01\x00" + bytes(33)
        nodes[ROOT_KEY] = NodeRecord(
            root.key, root.value, root.last_epoch, root.min_epoch, long_key, root.left_hash,
            root.right_key, root.right_hash,
        )  # fmt: skip
        return d, f"tree node key {long_key.hex()} is not a node label's"
    bad = b"\x01\x2c" + bytes(32)  # 300 bits
    nodes[ROOT_KEY] = NodeRecord(
        root.key, root.value, root.last_epoch, root.min_epoch, bad, root.left_hash,
        bad, root.right_hash,
    )  # fmt: skip
    nodes[bad] = NodeRecord(bad, bytes(32), 1, 1)
    return d, f"tree node key {bad.hex()} is not a node label's"


@pytest.mark.parametrize("edit", ["missing child", "key of no label", "child key too long"])
@both_paths
def test_a_corrupted_path_is_refused_alike(edit: str, native: bool) -> None:
    d, expected = _corrupted(edit)
    updates = [(b"user-%d" % i, b"k2") for i in range(50)]  # every path from the root
    with pytest.raises(StoreCorrupted, match=f"^{expected}$"), either_path(native):
        d.publish(updates)
    d.close()


def two_leaf_tree() -> tuple[_tree.AkdTree, MemoryStore]:
    """A tree of two leaves at epoch 1, inserted directly."""
    tree = _tree.AkdTree(get_configuration("whatsapp_v1"))
    store = MemoryStore()
    with store.write() as txn:
        tree.insert(txn, [(5 << 200, b"a"), (9 << 240, b"b")], 1)
    return tree, store


@both_paths
def test_an_existing_leaf_is_refused_alike(native: bool) -> None:
    tree, store = two_leaf_tree()
    refused = pytest.raises(StoreCorrupted, match=r"^a new leaf label already exists in the tree$")
    with refused, store.write() as txn, either_path(native):
        tree.insert(txn, [(9 << 240, b"c")], 2)


@both_paths
def test_a_root_row_holding_another_node_is_refused_alike(native: bool) -> None:
    tree, store = two_leaf_tree()
    leaf = next(key for key in store.nodes if len(key) == 34)
    root = store.nodes[ROOT_KEY]
    store.nodes[ROOT_KEY] = NodeRecord(leaf, root.value, root.last_epoch, root.min_epoch)
    refused = pytest.raises(StoreCorrupted, match=rf"^the tree root's row holds node {leaf.hex()}$")
    with refused, store.write() as txn, either_path(native):
        tree.insert(txn, [(3 << 250, b"c")], 2)


@needs_native
@pytest.mark.parametrize(
    "labels", [[bytes(32), bytes(32)], [b"\x01" * 32, bytes(32)]], ids=["repeated", "unsorted"]
)
def test_the_extension_refuses_labels_out_of_order(labels: list[bytes]) -> None:
    # _insert sorts and deduplicates first; the extension still never splits a repeat.
    assert _native.vrf is not None
    cfg = get_configuration("whatsapp_v1")
    root = NodeRecord(ROOT_KEY, cfg.empty_root_value, 0, 0)
    with pytest.raises(ValueError, match=r"^new leaf labels must be sorted and distinct$"):
        _native.vrf.insert(
            True, b"", labels, [b"a", b"b"], root, lambda keys: {}, NodeRecord, 1,
            cfg.empty_node_hash, cfg.empty_label_value,
        )  # fmt: skip
