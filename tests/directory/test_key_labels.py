"""A stored key's label, with and without the lookup cache, and a key that is no label's."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.akd._node_label import NodeLabel
from glasskey.directory.akd._keys import key_node_label, key_node_label_uncached
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
@pytest.mark.parametrize(
    "label_of", [key_node_label_uncached, key_node_label], ids=["audits", "lookups"]
)
def test_a_key_that_is_no_labels_is_store_corruption(
    key: bytes, why: str, label_of: Callable[[bytes], NodeLabel]
) -> None:
    # Lookups and audits name a damaged database the same way (the cached function was once
    # NodeLabel's own MalformedError, which reads as the client's fault), and the cache keeps
    # no label for a key that has none: the second call raises again.
    for _ in range(2):
        with pytest.raises(
            StoreCorrupted, match=rf"^tree node key {key.hex()} is not a node label's$"
        ):
            label_of(key)
