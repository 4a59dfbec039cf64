"""Publish's rehash in the native extension against the Python loop (AkdTree._rehash).

Both must leave identical trees: the same root after every epoch and the same stored record
for every node (value, child hashes, epochs), in both configurations, for random batches of
new labels and new versions; and a store missing a child hash fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core import _native
from glasskey.directory import Directory
from glasskey.directory.akd import _tree
from glasskey.directory.akd._keys import ROOT_KEY
from glasskey.storage._errors import StoreCorrupted
from tests.vectors import AKD_TEST_VRF_SEED

pytestmark = pytest.mark.skipif(
    _native.vrf is None,
    reason="glasskey_native is not installed (make native builds it; needs cargo)",
)


@contextmanager
def pure_python() -> Iterator[None]:
    saved = _tree.native_vrf
    _tree.native_vrf = None
    try:
        yield
    finally:
        _tree.native_vrf = saved


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
        if native:
            roots.append(d.publish(batch).root_hash)
        else:
            with pure_python():
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


@settings(max_examples=25)
@given(_batches, st.sampled_from(["whatsapp_v1", "experimental"]))
def test_random_epochs_leave_identical_trees(
    epochs: list[list[tuple[bytes, bytes]]], config: str
) -> None:
    assert run(config, epochs, native=True) == run(config, epochs, native=False)


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


@pytest.mark.parametrize("native", [True, False])
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
    with pytest.raises(StoreCorrupted, match=expected):
        if native:
            d.publish([(b"zzz-new", b"v")])  # one path: the root's other child is not read
        else:
            with pure_python():
                d.publish([(b"zzz-new", b"v")])
    d.close()
