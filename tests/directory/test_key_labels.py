"""A stored key's label, with and without the lookup cache, and a key that is no label's."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.akd._node_label import NodeLabel
from glasskey.directory.akd._tree import key_node_label, key_node_label_uncached
from glasskey.storage._errors import StoreCorrupted


@given(length=st.integers(min_value=0, max_value=256), body=st.binary(max_size=32))
def test_the_uncached_label_is_the_cached_one(length: int, body: bytes) -> None:
    key = struct.pack(">H", length) + body
    label = key_node_label_uncached(key)
    assert type(label) is NodeLabel
    assert label == key_node_label(key) == NodeLabel(body.ljust(32, b"\x00"), length)
    assert hash(label) == hash(key_node_label(key))


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (struct.pack(">H", 257) + bytes(32), "length over 256 bits"),
        (struct.pack(">H", 0xFFFF), "length over 256 bits"),
        (struct.pack(">H", 256) + bytes(33), "body over 32 bytes"),
    ],
)
def test_a_key_that_is_no_labels_is_store_corruption(key: bytes, why: str) -> None:
    with pytest.raises(StoreCorrupted, match=rf"^tree node key {key.hex()} is not a node label's$"):
        key_node_label_uncached(key)
