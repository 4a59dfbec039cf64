"""The epoch-root leaf encoding is fixed bytes: pin them exactly."""

from __future__ import annotations

import pytest

from glasskey.core.errors import MalformedError, UsageError
from glasskey.log.leaf import (
    EPOCH_ROOT_LEAF_SIZE,
    EPOCH_ROOT_PREFIX,
    EpochRoot,
    epoch_root_leaf,
    epoch_root_leaf_hash,
)
from glasskey.log.rfc6962 import MemoryHashStore, prove_inclusion, verify_inclusion

ROOT = bytes(range(32))


def test_exact_encoding() -> None:
    leaf = EpochRoot(1, ROOT).to_leaf()
    assert leaf.hex() == (
        "676c6173736b65792f65706f63682d726f6f742f763100"  # "glasskey/epoch-root/v1\0"
        "0000000000000001"  # BE64(1)
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    )
    assert len(leaf) == EPOCH_ROOT_LEAF_SIZE == 63
    assert EPOCH_ROOT_PREFIX == b"glasskey/epoch-root/v1\x00"
    assert epoch_root_leaf(1, ROOT) == leaf
    # SHA-256(0x00 || leaf)
    assert epoch_root_leaf_hash(1, ROOT).hex() == (
        "c5c5a2856daec0a6b3b3c151fbccd7823a2e88f4a7a00ef2618afaf155f6c9d3"
    )


def test_largest_epoch_and_round_trip() -> None:
    top = EpochRoot(2**64 - 1, b"\xff" * 32)
    assert top.to_leaf()[23:31] == b"\xff" * 8
    assert EpochRoot.from_leaf(top.to_leaf()) == top
    assert EpochRoot.from_leaf(EpochRoot(0, ROOT).to_leaf()) == EpochRoot(0, ROOT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is 63 bytes, got 0"),
        (EpochRoot(1, ROOT).to_leaf()[:-1], "is 63 bytes, got 62"),
        (EpochRoot(1, ROOT).to_leaf() + b"\x00", "is 63 bytes, got 64"),
        (b"glasskey/epoch-root/v2\x00" + bytes(40), "does not start with"),
    ],
)
def test_malformed_leaves(data: bytes, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        EpochRoot.from_leaf(data)


def test_invalid_values() -> None:
    with pytest.raises(UsageError, match="uint64"):
        EpochRoot(-1, ROOT)
    with pytest.raises(UsageError, match="uint64"):
        EpochRoot(2**64, ROOT)
    with pytest.raises(UsageError, match="32 bytes, got 31"):
        EpochRoot(1, ROOT[:31])
    with pytest.raises(UsageError, match="integer"):
        EpochRoot(True, ROOT)


def test_a_log_of_epoch_roots_proves_each_epoch() -> None:
    """The intended use: one leaf per epoch, inclusion proof names the epoch inside."""
    epochs = [EpochRoot(e, bytes([e]) * 32) for e in range(1, 11)]
    store = MemoryHashStore(e.leaf_hash() for e in epochs)
    for i, epoch in enumerate(epochs):
        proof = prove_inclusion(store, i, store.size)
        verify_inclusion(epoch.leaf_hash(), i, store.size, proof, store.root())
        assert EpochRoot.from_leaf(epoch.to_leaf()).epoch == i + 1
