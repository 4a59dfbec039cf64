"""Direct protobuf decoding of canonical lookup proofs: the mirror of ``_pbwrite``.

Decoding a lookup proof through upb cost more than verifying it (~0.45 ms: every field read
of ~50 nested messages creates a Python wrapper object). Honest encoders — glasskey's own
``_pbwrite``, upb, akd's rust-protobuf — all write the same *canonical* layout: every field
once, in ascending order, length-delimited fields with their lengths, nothing unknown. This
module reads exactly that layout straight from the bytes and returns ``None`` for anything
else: any other layout, and any proof the full decoder would reject. ``wire`` then runs the
upb decoder, which decides (with its exact error message). So this path never accepts what
the full decoder refuses and never decodes differently: ``tests/core/test_pbread.py`` checks
both on the vectors, on directory proofs, on random proofs and on every single-byte tamper.

Sibling proofs near the root recur in every proof of an epoch, so their decoded objects are
remembered by their bytes (frozen dataclasses: sharing them is safe).
"""

from __future__ import annotations

from typing import Final

from glasskey.core.akd._node_label import DIRECTIONS, NodeLabel
from glasskey.core.akd.types import (
    AzksElement,
    LookupProof,
    MembershipProof,
    NonMembershipProof,
    SiblingProof,
)


class _NotCanonical(Exception):
    """Not the canonical layout (or not valid): let the full decoder decide."""


_MEMO_SIZE: Final = 1 << 14
_sibling_memo: dict[bytes, SiblingProof] = {}
_ZERO32: Final = bytes(32)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the varint at ``pos`` (at most 10 bytes, as upb reads)."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    value = b & 0x7F
    shift = 7
    for i in range(pos + 1, min(pos + 10, len(data))):
        b = data[i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            if value >= 1 << 64:
                raise _NotCanonical
            return value, i + 1
        shift += 7
    raise _NotCanonical


def _field(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """(start, end) of the length-delimited field ``tag`` at ``pos``, within ``end``."""
    if pos >= end or data[pos] != tag:
        raise _NotCanonical
    n = data[pos + 1]
    if n < 0x80:
        start = pos + 2
    else:
        n, start = _varint(data, pos + 1)
    stop = start + n
    if stop > end:
        raise _NotCanonical
    return start, stop


def _scalar(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """(value, next position) of the varint field ``tag`` at ``pos``."""
    if pos >= end or data[pos] != tag:
        raise _NotCanonical
    value, nxt = _varint(data, pos + 1)
    if nxt > end:
        raise _NotCanonical
    return value, nxt


def _label(data: bytes, start: int, end: int) -> NodeLabel:
    """``NodeLabel {1: label_val, 2: label_len}`` filling [start, end) exactly."""
    vs, ve = _field(data, start, end, 0x0A)
    length, pos = _scalar(data, ve, end, 0x10)
    if pos != end or ve - vs > 32 or length > 256:
        raise _NotCanonical
    val = data[vs:ve]
    return NodeLabel(val + _ZERO32[: 32 - len(val)], length)


def _element(data: bytes, start: int, end: int) -> AzksElement:
    """``AzksElement {1: label, 2: value (32 bytes)}`` filling [start, end) exactly."""
    ls, le = _field(data, start, end, 0x0A)
    vs, ve = _field(data, le, end, 0x12)
    if ve != end or ve - vs != 32:
        raise _NotCanonical
    return AzksElement(_label(data, ls, le), data[vs:ve])


def _sibling(data: bytes, start: int, end: int) -> SiblingProof:
    """``SiblingProof {1: label, 2: one sibling, 3: direction 0 or 1}``."""
    key = data[start:end]
    cached = _sibling_memo.get(key)
    if cached is not None:
        return cached
    ls, le = _field(data, start, end, 0x0A)
    ss, se = _field(data, le, end, 0x12)
    direction, pos = _scalar(data, se, end, 0x18)
    if pos != end or direction > 1:
        raise _NotCanonical
    proof = SiblingProof(_label(data, ls, le), (_element(data, ss, se),), DIRECTIONS[direction])
    if len(_sibling_memo) >= _MEMO_SIZE:
        _sibling_memo.clear()
    _sibling_memo[key] = proof
    return proof


def _membership(data: bytes, start: int, end: int) -> MembershipProof:
    """``MembershipProof {1: label, 2: hash_val (32 bytes), 3: sibling_proofs*}``."""
    ls, le = _field(data, start, end, 0x0A)
    hs, he = _field(data, le, end, 0x12)
    if he - hs != 32:
        raise _NotCanonical
    siblings = []
    pos = he
    while pos < end:
        ss, pos = _field(data, pos, end, 0x1A)
        siblings.append(_sibling(data, ss, pos))
    return MembershipProof(_label(data, ls, le), data[hs:he], tuple(siblings))


def _nonmembership(data: bytes, start: int, end: int) -> NonMembershipProof:
    """``NonMembershipProof {1: label, 2: longest_prefix, 3: two children, 4: membership}``."""
    ls, le = _field(data, start, end, 0x0A)
    ps, pe = _field(data, le, end, 0x12)
    as_, ae = _field(data, pe, end, 0x1A)
    bs, be = _field(data, ae, end, 0x1A)
    ms, me = _field(data, be, end, 0x22)
    if me != end:
        raise _NotCanonical
    return NonMembershipProof(
        _label(data, ls, le),
        _label(data, ps, pe),
        (_element(data, as_, ae), _element(data, bs, be)),
        _membership(data, ms, me),
    )


def read_lookup_proof(data: bytes) -> LookupProof | None:
    """The proof if ``data`` is a canonical, valid ``LookupProof``; else None (see above)."""
    try:
        end = len(data)
        epoch, pos = _scalar(data, 0, end, 0x08)
        vs, ve = _field(data, pos, end, 0x12)
        version, pos = _scalar(data, ve, end, 0x18)
        evs, eve = _field(data, pos, end, 0x22)
        es, ee = _field(data, eve, end, 0x2A)
        mvs, mve = _field(data, ee, end, 0x32)
        ms, me = _field(data, mve, end, 0x3A)
        fvs, fve = _field(data, me, end, 0x42)
        fs, fe = _field(data, fve, end, 0x4A)
        ns, ne = _field(data, fe, end, 0x52)
        if ne != end:
            return None
        return LookupProof(
            epoch=epoch,
            value=data[vs:ve],
            version=version,
            existence_vrf_proof=data[evs:eve],
            existence_proof=_membership(data, es, ee),
            marker_vrf_proof=data[mvs:mve],
            marker_proof=_membership(data, ms, me),
            freshness_vrf_proof=data[fvs:fve],
            freshness_proof=_nonmembership(data, fs, fe),
            commitment_nonce=data[ns:ne],
        )
    except (_NotCanonical, IndexError):
        return None
