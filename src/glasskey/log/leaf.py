"""The leaf format of the epoch-root log: one leaf per published AKD epoch.

Every epoch the directory publishes gets appended to the RFC 6962 log as this fixed 63-byte
leaf (the leaf *data*; its RFC 6962 leaf hash is ``SHA-256(0x00 || data)``)::

    b"glasskey/epoch-root/v1\\x00"   23 bytes  domain separator and version, NUL-terminated
    BE64(epoch)                        8 bytes  the AKD epoch number, unsigned big-endian
    root_hash                         32 bytes  the AKD root hash of that epoch

Why this shape: the prefix keeps the leaf from ever being confused with a leaf of another
log or another version of this one (its NUL cannot occur in the text before it); fixed
widths make the encoding unambiguous with no length fields; and the epoch inside the leaf
lets a client that holds an inclusion proof for leaf *i* learn *which* epoch that root
belongs to instead of assuming ``epoch == i`` (they differ if the log starts after epoch 0 or
an epoch is ever skipped). ``docs/log-format.md`` repeats this for people who implement it
in another language.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from glasskey.core.errors import MalformedError, UsageError
from glasskey.log.rfc6962 import HASH_SIZE, leaf_hash

EPOCH_ROOT_PREFIX = b"glasskey/epoch-root/v1\x00"
EPOCH_ROOT_LEAF_SIZE = len(EPOCH_ROOT_PREFIX) + 8 + HASH_SIZE
_MAX_EPOCH = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class EpochRoot:
    """An (epoch, AKD root hash) pair: the content of one epoch-root log leaf."""

    epoch: int
    root_hash: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.epoch, int) or isinstance(self.epoch, bool):
            raise UsageError(f"epoch must be an integer, got {type(self.epoch).__name__}")
        if not 0 <= self.epoch <= _MAX_EPOCH:
            raise UsageError(f"epoch {self.epoch} is outside the uint64 range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            size = len(self.root_hash) if isinstance(self.root_hash, bytes) else "non-bytes"
            raise UsageError(f"an epoch root hash is {HASH_SIZE} bytes, got {size}")

    def to_leaf(self) -> bytes:
        """The 63-byte leaf data."""
        return EPOCH_ROOT_PREFIX + struct.pack(">Q", self.epoch) + self.root_hash

    def leaf_hash(self) -> bytes:
        """The RFC 6962 leaf hash of :meth:`to_leaf` (what the Merkle tree stores)."""
        return leaf_hash(self.to_leaf())

    @classmethod
    def from_leaf(cls, data: bytes) -> EpochRoot:
        """Decode leaf data; raise :class:`MalformedError` on anything but an exact leaf."""
        if len(data) != EPOCH_ROOT_LEAF_SIZE:
            raise MalformedError(
                f"an epoch-root leaf is {EPOCH_ROOT_LEAF_SIZE} bytes, got {len(data)}"
            )
        if not data.startswith(EPOCH_ROOT_PREFIX):
            raise MalformedError("leaf does not start with b'glasskey/epoch-root/v1\\x00'")
        (epoch,) = struct.unpack_from(">Q", data, len(EPOCH_ROOT_PREFIX))
        return cls(epoch, bytes(data[len(EPOCH_ROOT_PREFIX) + 8 :]))


def epoch_root_leaf(epoch: int, root_hash: bytes) -> bytes:
    """Shorthand for ``EpochRoot(epoch, root_hash).to_leaf()``."""
    return EpochRoot(epoch, root_hash).to_leaf()


def epoch_root_leaf_hash(epoch: int, root_hash: bytes) -> bytes:
    """Shorthand for ``EpochRoot(epoch, root_hash).leaf_hash()``."""
    return EpochRoot(epoch, root_hash).leaf_hash()


__all__ = [
    "EPOCH_ROOT_LEAF_SIZE",
    "EPOCH_ROOT_PREFIX",
    "EpochRoot",
    "epoch_root_leaf",
    "epoch_root_leaf_hash",
]
