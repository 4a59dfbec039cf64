"""Direct protobuf serialisation of AKD proofs: bytes built from the dataclasses in one pass.

Filling upb messages field by field from the proof dataclasses and then serialising them
cost more than the proof itself (~50 nested messages per lookup proof, each a Python-to-C
round trip per field). The wire format of ``akd.proto`` is simple enough to write directly:
every field is a varint or a length-delimited byte string / sub-message, written in
ascending field order, present-but-default fields written out, repeated ``epochs`` unpacked.
That is exactly what upb and akd's rust-protobuf produce; ``tests/core/test_akd_pbwrite.py``
compares these bytes with the upb encoder on every vector and on random proofs.

A label's length (0..256) and its stripped value (<= 32 bytes) make its message at most
38 bytes, so its length prefixes are table look-ups.
"""

from __future__ import annotations

from typing import Final

from glasskey.core._varint import encode_varint
from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.types import (
    AppendOnlyProof,
    AzksElement,
    HistoryProof,
    LookupProof,
    MembershipProof,
    NonMembershipProof,
    SiblingProof,
    SingleAppendOnlyProof,
    UpdateProof,
)

#: Varints of 0..16383 (every length below 16 KiB): a tuple index instead of a loop.
_SMALL: Final = tuple(encode_varint(i) for i in range(1 << 14))


def _varint(value: int) -> bytes:
    """A uint64 varint; out-of-range values raise ``ValueError`` as upb's setters do."""
    if 0 <= value < 16384:
        return _SMALL[value]
    if not 0 <= value < 1 << 64:
        raise ValueError(f"value out of range for uint64: {value}")
    return encode_varint(value)


def _ld(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field: tag, varint length, body."""
    n = len(body)
    return tag + (_SMALL[n] if n < 16384 else encode_varint(n)) + body


def label_body(label: NodeLabel) -> bytes:
    """``NodeLabel {label_val = val without trailing zero bytes; label_len}``."""
    val = label.val.rstrip(b"\x00")
    return b"\x0a" + _SMALL[len(val)] + val + b"\x10" + _SMALL[label.length]


def _element(element: AzksElement) -> bytes:
    label = element.label
    val = label.val.rstrip(b"\x00")
    lb = b"\x0a" + _SMALL[len(val)] + val + b"\x10" + _SMALL[label.length]
    value = element.value
    n = len(value)
    return b"".join(
        (b"\x0a", _SMALL[len(lb)], lb, b"\x12", _SMALL[n] if n < 16384 else encode_varint(n), value)
    )


#: Sibling proofs whose parent label has at most this many bits are memoised by value:
#: every proof in an epoch passes the same nodes near the root (a lookup's three paths have
#: ~30 of their ~49 levels in the top 10 bits at 100k labels), so their bytes recur.
_MEMO_BITS: Final = 10
#: A tree has at most 2^(_MEMO_BITS+1) such (parent, side) pairs per epoch; cleared when full.
_MEMO_SIZE: Final = 1 << (_MEMO_BITS + 2)
_memo: dict[tuple[bytes, int, bytes, int, bytes, int], bytes] = {}


def _sibling(sp: SiblingProof) -> bytes:
    """One ``SiblingProof`` message (memoised near the root, see ``_MEMO_BITS``)."""
    label = sp.label
    if label.length > _MEMO_BITS or len(sp.siblings) != 1:
        return _sibling_bytes(sp)
    e = sp.siblings[0]
    # Every field the bytes are written from, so equal keys are equal messages.
    key = (label.val, label.length, e.label.val, e.label.length, e.value, int(sp.direction))
    body = _memo.get(key)
    if body is None:
        body = _sibling_bytes(sp)
        if len(_memo) >= _MEMO_SIZE:
            _memo.clear()
        _memo[key] = body
    return body


def _sibling_bytes(sp: SiblingProof) -> bytes:
    label = sp.label
    val = label.val.rstrip(b"\x00")
    lb = b"\x0a" + _SMALL[len(val)] + val + b"\x10" + _SMALL[label.length]
    parts = [b"\x0a", _SMALL[len(lb)], lb]
    for e in sp.siblings:
        body = _element(e)
        parts += (b"\x12", _SMALL[len(body)] if len(body) < 16384 else encode_varint(len(body)))
        parts.append(body)
    parts += (b"\x18", _varint(int(sp.direction)))
    return b"".join(parts)


def membership_body(proof: MembershipProof) -> bytes:
    parts = [_ld(b"\x0a", label_body(proof.label)), _ld(b"\x12", proof.hash_val)]
    for sp in proof.sibling_proofs:
        body = _sibling(sp)
        parts += (b"\x1a", _SMALL[len(body)] if len(body) < 16384 else encode_varint(len(body)))
        parts.append(body)
    return b"".join(parts)


def nonmembership_body(proof: NonMembershipProof) -> bytes:
    parts = [_ld(b"\x0a", label_body(proof.label)), _ld(b"\x12", label_body(proof.longest_prefix))]
    parts.extend(_ld(b"\x1a", _element(c)) for c in proof.longest_prefix_children)
    parts.append(_ld(b"\x22", membership_body(proof.longest_prefix_membership_proof)))
    return b"".join(parts)


def lookup_body(proof: LookupProof) -> bytes:
    return b"".join(
        (
            b"\x08" + _varint(proof.epoch),
            _ld(b"\x12", proof.value),
            b"\x18" + _varint(proof.version),
            _ld(b"\x22", proof.existence_vrf_proof),
            _ld(b"\x2a", membership_body(proof.existence_proof)),
            _ld(b"\x32", proof.marker_vrf_proof),
            _ld(b"\x3a", membership_body(proof.marker_proof)),
            _ld(b"\x42", proof.freshness_vrf_proof),
            _ld(b"\x4a", nonmembership_body(proof.freshness_proof)),
            _ld(b"\x52", proof.commitment_nonce),
        )
    )


def update_body(proof: UpdateProof) -> bytes:
    parts = [
        b"\x08" + _varint(proof.epoch),
        _ld(b"\x12", proof.value),
        b"\x18" + _varint(proof.version),
        _ld(b"\x22", proof.existence_vrf_proof),
        _ld(b"\x2a", membership_body(proof.existence_proof)),
    ]
    if proof.previous_version_vrf_proof is not None:
        parts.append(_ld(b"\x32", proof.previous_version_vrf_proof))
    if proof.previous_version_proof is not None:
        parts.append(_ld(b"\x3a", membership_body(proof.previous_version_proof)))
    parts.append(_ld(b"\x42", proof.commitment_nonce))
    return b"".join(parts)


def history_body(proof: HistoryProof) -> bytes:
    parts = [_ld(b"\x0a", update_body(u)) for u in proof.update_proofs]
    parts.extend(_ld(b"\x12", p) for p in proof.past_marker_vrf_proofs)
    parts.extend(_ld(b"\x1a", membership_body(m)) for m in proof.existence_of_past_marker_proofs)
    parts.extend(_ld(b"\x22", p) for p in proof.future_marker_vrf_proofs)
    parts.extend(
        _ld(b"\x2a", nonmembership_body(n)) for n in proof.non_existence_of_future_marker_proofs
    )
    return b"".join(parts)


def single_append_only_body(proof: SingleAppendOnlyProof) -> bytes:
    parts = [_ld(b"\x0a", _element(e)) for e in proof.inserted]
    parts.extend(_ld(b"\x12", _element(e)) for e in proof.unchanged_nodes)
    return b"".join(parts)


def append_only_body(proof: AppendOnlyProof) -> bytes:
    parts = [_ld(b"\x0a", single_append_only_body(s)) for s in proof.proofs]
    parts.extend(b"\x10" + _varint(e) for e in proof.epochs)
    return b"".join(parts)
