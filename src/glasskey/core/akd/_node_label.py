"""AKD node labels: bit strings of up to 256 bits and the prefix arithmetic on them.

A label is ``(val: 32 bytes, length: bits)`` read MSB-first from byte 0 (spec section 3).
Equality compares all 32 bytes *and* the length, including bits beyond ``length``: that is
how akd tells the root label (all zero, length 0) from the empty label (non-zero ``val``,
length 0). The arithmetic below works on the 256-bit integer form because Python's big
integers make prefix masks and common-prefix lengths one operation each.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from glasskey.core.akd.configuration import Configuration
from glasskey.core.errors import MalformedError

LABEL_BITS: Final = 256
_FULL: Final = (1 << LABEL_BITS) - 1
_BE32 = struct.Struct(">I")


class Direction(IntEnum):
    """Which child of a parent a path continues into: next bit 0 is Left, 1 is Right."""

    LEFT = 0
    RIGHT = 1


#: ``DIRECTIONS[bit]`` is ``Direction(bit)`` for bit 0 or 1, without the enum lookup's cost
#: (it runs once per sibling when proofs are built and decoded).
DIRECTIONS: Final = (Direction.LEFT, Direction.RIGHT)


def _mask(bits: int) -> int:
    """Integer mask keeping the first ``bits`` (most significant) of a 256-bit value."""
    return _FULL ^ ((1 << (LABEL_BITS - bits)) - 1)


@dataclass(frozen=True, slots=True)
class NodeLabel:
    """A node label: 32 bytes of ``val`` and a length in bits (0..=256)."""

    val: bytes
    length: int

    def __post_init__(self) -> None:
        if len(self.val) != 32:
            raise MalformedError(f"node label value must be 32 bytes, got {len(self.val)}")
        if not 0 <= self.length <= LABEL_BITS:
            raise MalformedError(f"node label length must be 0..256 bits, got {self.length}")

    @classmethod
    def from_int(cls, value: int, length: int) -> NodeLabel:
        return cls(value.to_bytes(32, "big"), length)

    @classmethod
    def leaf(cls, val: bytes) -> NodeLabel:
        """A 256-bit leaf label (the first 32 bytes of a VRF output)."""
        return cls(val[:32], LABEL_BITS)

    def as_int(self) -> int:
        return int.from_bytes(self.val, "big")

    def to_bytes(self) -> bytes:
        """``BE32(length) || val`` — the 36-byte form that goes into hashes."""
        return _BE32.pack(self.length) + self.val

    def bit(self, index: int) -> int:
        """Bit ``index`` (0 = most significant bit of byte 0)."""
        return (self.val[index >> 3] >> (7 - (index & 7))) & 1

    def prefix(self, bits: int) -> NodeLabel:
        """The first ``bits`` bits, later bits zeroed (akd ``get_prefix``)."""
        if bits >= LABEL_BITS:
            return self
        if bits <= 0:
            return ROOT_LABEL
        return NodeLabel.from_int(self.as_int() & _mask(bits), bits)

    def is_prefix_of(self, other: NodeLabel) -> bool:
        """True when the first ``self.length`` bits of both labels agree."""
        if self.length > other.length:
            return False
        if self.length == 0:
            return True
        mask = _mask(self.length)
        return (self.as_int() & mask) == (other.as_int() & mask)

    def __str__(self) -> str:
        return f"{self.val.hex()}/{self.length}"


ROOT_LABEL: Final = NodeLabel(b"\x00" * 32, 0)

_new_object = object.__new__
_set_val: Callable[[NodeLabel, bytes], None] = vars(NodeLabel)["val"].__set__
_set_length: Callable[[NodeLabel, int], None] = vars(NodeLabel)["length"].__set__


def node_label_unchecked(val: bytes, length: int) -> NodeLabel:
    """``NodeLabel(val, length)`` without ``__post_init__``'s checks, for a caller that has
    bounded both (``glasskey.directory.akd._keys.key_node_label_uncached``): an audit proof
    makes one per element, and the frozen dataclass's ``__init__`` and checks cost twice this."""
    label: NodeLabel = _new_object(NodeLabel)
    _set_val(label, val)
    _set_length(label, length)
    return label


def empty_label(config: Configuration) -> NodeLabel:
    """The configuration's "no child here" label (length 0, non-zero ``val``)."""
    return NodeLabel(config.empty_label_val, 0)


def common_prefix_length(a: NodeLabel, b: NodeLabel) -> int:
    """Number of leading bits (below both lengths) on which ``a`` and ``b`` agree."""
    limit = min(a.length, b.length)
    if limit == 0:
        return 0
    diff = a.as_int() ^ b.as_int()
    agree = LABEL_BITS - diff.bit_length()
    return min(agree, limit)


def longest_common_prefix(config: Configuration, a: NodeLabel, b: NodeLabel) -> NodeLabel:
    """akd ``get_longest_common_prefix``: the empty label absorbs everything."""
    empty = empty_label(config)
    if a == empty or b == empty:
        return empty
    return a.prefix(common_prefix_length(a, b))


def prefix_ordering(parent: NodeLabel, child: NodeLabel) -> Direction | None:
    """Which side of ``parent`` the label ``child`` goes on, or None when it is not below it."""
    if parent.length >= child.length:
        return None
    if child.prefix(parent.length) != parent.prefix(parent.length):
        return None
    return Direction(child.bit(parent.length))
