"""The tree's storage keys: how a node's label becomes the key of its row, and back.

A node's row is keyed ``BE16(bit length) || the label's first ceil(length/8) bytes``, so a
level's rows sort together and a label's prefixes are computed from its bytes alone. Every
reader of ``akd_nodes`` (insertion, proofs, audits, tests) goes through these functions, so
the key format is written down once, apart from the tree's algorithms.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Final

from glasskey.core.akd._node_label import LABEL_BITS, NodeLabel, node_label_unchecked
from glasskey.directory._errors import StoreCorrupted

_BE16: Final = struct.Struct(">H")
#: The root's key: length 0, no label bytes.
ROOT_KEY: Final = b"\x00\x00"
#: A storage key's longest form: BE16(256) and 32 label bytes.
MAX_KEY_BYTES: Final = 34


def node_key(label: int, length: int) -> bytes:
    """Storage key of a canonical label: ``BE16(length) || first ceil(length/8) bytes``."""
    return _BE16.pack(length) + label.to_bytes(32, "big")[: (length + 7) >> 3]


def not_a_label(key: bytes) -> StoreCorrupted:
    """The error for a stored key that is no label's: only a damaged or foreign database
    holds one."""
    return StoreCorrupted(f"tree node key {key.hex()} is not a node label's")


def _checked_length(key: bytes) -> int:
    """The bit length of a stored key that is some label's: 2 to ``MAX_KEY_BYTES`` bytes,
    length at most 256 bits, else ``not_a_label``."""
    if not 2 <= len(key) <= MAX_KEY_BYTES or (length := _BE16.unpack_from(key)[0]) > LABEL_BITS:
        raise not_a_label(key)
    return int(length)


def key_label(key: bytes) -> tuple[int, int]:
    """Inverse of ``node_key``: (label as a 256-bit integer, bit length)."""
    length = _checked_length(key)
    body = key[2:]
    return int.from_bytes(body + b"\x00" * (32 - len(body)), "big"), length


def key_length(key: bytes) -> int:
    """The bit length a key's first two bytes give."""
    length: int = _BE16.unpack_from(key)[0]
    return length


def is_leaf_key(key: bytes) -> bool:
    """A leaf's key: length 256 (``BE16 = 01 00``) followed by all 32 label bytes."""
    return len(key) == 34 and key[:2] == b"\x01\x00"


def key_node_label_uncached(key: bytes) -> NodeLabel:
    """The ``NodeLabel`` of a stored key, for keys that seldom recur (an audit proof's
    inserted leaves and unchanged subtrees): a cache miss there costs ~2 us with its eviction,
    this ~0.7 us, and evicting the upper levels slows the next lookups. A key that is no
    label's (``_checked_length``) is ``StoreCorrupted``."""
    length = _checked_length(key)
    return node_label_unchecked(key[2:].ljust(32, b"\x00"), length)


#: ``key_node_label_uncached`` behind a cache, for lookups: the upper levels recur in every
#: proof. Same labels, same error on a corrupt key.
key_node_label: Final = lru_cache(maxsize=1 << 16)(key_node_label_uncached)


def prefix_key(label: bytes, length: int) -> bytes:
    """``node_key`` of the first ``length`` bits of the 32-byte ``label``, from its bytes."""
    full, rem = length >> 3, length & 7
    if rem:
        return _BE16.pack(length) + label[:full] + bytes((label[full] & (0xFF00 >> rem) & 0xFF,))
    return _BE16.pack(length) + label[:full]
