"""Protobuf base-128 varints, for the few messages glasskey frames by hand.

Hand framing is for byte-exact encodings (Plexi's signed message) and for joining messages
that are already encoded (audit blobs into one AppendOnlyProof) without decoding them.
"""

from __future__ import annotations


def encode_varint(value: int) -> bytes:
    """``value`` (non-negative) as a protobuf varint: 7 bits a byte, low bits first."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
