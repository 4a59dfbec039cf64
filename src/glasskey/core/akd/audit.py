"""Append-only (audit) proof verification with a strict tree rebuild (spec section 9.7).

An audit proof for epoch ``e-1 -> e`` lists the roots of subtrees that did not change
(``unchanged_nodes``, with their hash contributions) and the leaves inserted in ``e`` (raw
values). The verifier rebuilds the compressed trie twice — from the unchanged nodes alone,
which must give the old root, and with the new leaves added, which must give the new root.

Strictness (closes the akd <= 0.12 "append-only bypass", facebook/akd#495): akd's rebuild
silently *drops* elements whose labels are duplicates, prefixes of other labels, or zero
length, so a malicious server could smuggle a rewritten value past an auditor. Here the
element set must be an antichain of canonical labels; anything else is rejected. Honest
proofs always are antichains, so this never rejects an honest server.

The rebuild sorts the elements once and folds them with a stack (the trie of a sorted,
prefix-free set is the Cartesian tree of neighbouring common-prefix lengths), so it costs
O(n log n) for the sort and O(n) hashes — fast enough for 10k-insert epochs in well under a
second. With the native extension (:mod:`glasskey.core._native`) the same rebuild runs there.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

from glasskey.core._native import vrf as _native
from glasskey.core.akd.configuration import Configuration
from glasskey.core.akd.types import AppendOnlyProof, AzksElement, SingleAppendOnlyProof
from glasskey.core.akd.wire import (
    RawElement,
    decode_append_only_proof,
    decode_single_append_only_raw,
)
from glasskey.core.errors import AppendOnlyProofError, MalformedError

_BITS: Final = 256
_BE32 = struct.Struct(">I")
_BE64 = struct.Struct(">Q")


def _label_bytes(value: int, length: int) -> bytes:
    return _BE32.pack(length) + value.to_bytes(32, "big")


# An element of a rebuild: (label as int, bit length, contribution, label value).
_Element = tuple[int, int, bytes, bytes]


def _sorted_antichain(elements: list[_Element]) -> list[_Element]:
    """Sort the elements and refuse anything akd would silently drop (module docstring)."""
    items = sorted(elements, key=lambda e: (e[0], e[1]))
    for value, length, _, _ in items:
        if length == 0:
            raise AppendOnlyProofError("audit proof contains an element with a zero-length label")
        if value & ((1 << (_BITS - length)) - 1):
            raise AppendOnlyProofError(
                "audit proof contains a non-canonical label (bits set beyond its length)"
            )
    for (a, a_len, _, _), (b, b_len, _, _) in pairwise(items):
        # Sorted canonical labels: a is a prefix of b iff they agree on a's first a_len bits.
        if a_len <= b_len and _BITS - (a ^ b).bit_length() >= a_len:
            kind = "duplicate labels" if (a, a_len) == (b, b_len) else "a label that is a prefix"
            raise AppendOnlyProofError(
                f"audit proof contains {kind} of another ({_label_bytes(b, b_len)[4:].hex()}/"
                f"{b_len}); an honest tree never does"
            )
    return items


def root_hash_of(config: Configuration, elements: Sequence[_Element]) -> bytes:
    """Root hash of the trie whose leaves are ``elements`` taken as pseudo-leaves.

    ``elements`` must be a sorted antichain of canonical labels (``_sorted_antichain``).
    Interior nodes get the longest common prefix of their leaves as label, exactly like
    akd's canonical trie. For such a set the first differing bit of two neighbouring
    subtrees' labels is always below both lengths, which keeps the fold branch-free.
    """
    if not elements:
        return config.root_hash_from_value(config.empty_root_value)
    label_value = config.label_value
    parent_hash = config.parent_hash
    pack = _BE32.pack
    stack: list[_Element] = []

    def merge(left: _Element, right: _Element, depth: int) -> _Element:
        prefix = left[0] & ~((1 << (_BITS - depth)) - 1) if depth else 0
        return (
            prefix,
            depth,
            parent_hash(left[2], left[3], right[2], right[3]),
            label_value(pack(depth) + prefix.to_bytes(32, "big")),
        )

    previous = -1
    for element in elements:
        value = element[0]
        if stack:
            split = _BITS - (previous ^ value).bit_length()
            top = stack.pop()
            while stack:
                below = stack[-1]
                join = _BITS - (below[0] ^ top[0]).bit_length()
                if join <= split:
                    break
                stack.pop()
                top = merge(below, top, join)
            stack.append(top)
        stack.append(element)
        previous = value
    while len(stack) > 1:
        top = stack.pop()
        below = stack[-1]
        stack[-1] = merge(below, top, _BITS - (below[0] ^ top[0]).bit_length())
    only = stack[0]
    if only[1] == 0:
        root_value = only[2]
    elif (only[0] >> (_BITS - 1)) & 1 == 0:
        root_value = parent_hash(only[2], only[3], config.empty_node_hash, config.empty_label_value)
    else:
        root_value = parent_hash(config.empty_node_hash, config.empty_label_value, only[2], only[3])
    return config.root_hash_from_value(root_value)


def _elements(
    config: Configuration, elements: Iterable[AzksElement], epoch_bytes: bytes | None
) -> list[_Element]:
    """Rebuild elements; with ``epoch_bytes`` the values are raw leaves to hash with it."""
    label_value, hash_ = config.label_value, config.hash
    out = []
    for e in elements:
        label_bytes = e.label.to_bytes()
        contribution = e.value if epoch_bytes is None else hash_(e.value + epoch_bytes)
        out.append((e.label.as_int(), e.label.length, contribution, label_value(label_bytes)))
    return out


def _raw(
    config: Configuration, elements: Iterable[RawElement], epoch_bytes: bytes | None
) -> list[_Element]:
    """``_elements`` for ``wire.decode_single_append_only_raw``'s tuples."""
    label_value, hash_, pack = config.label_value, config.hash, _BE32.pack
    from_bytes = int.from_bytes
    if epoch_bytes is None:
        return [
            (from_bytes(val, "big"), length, value, label_value(pack(length) + val))
            for val, length, value in elements
        ]
    return [
        (
            from_bytes(val, "big"),
            length,
            hash_(value + epoch_bytes),
            label_value(pack(length) + val),
        )
        for val, length, value in elements
    ]


def verify_single_append_only(
    config: Configuration,
    proof: SingleAppendOnlyProof | bytes,
    start_hash: bytes,
    end_hash: bytes,
    end_epoch: int,
) -> None:
    """Raise ``AppendOnlyProofError`` unless the tree at ``end_hash`` only appends leaves
    (inserted in ``end_epoch``) to the tree at ``start_hash``."""
    for name, digest in (("start hash", start_hash), ("end hash", end_hash)):
        if not isinstance(digest, bytes) or len(digest) != 32:
            raise MalformedError(f"{name} must be 32 bytes")
    if not 1 <= end_epoch < 2**64:
        raise MalformedError(f"end epoch {end_epoch} is out of range")
    if _native is not None:
        _verify_natively(config, proof, start_hash, end_hash, end_epoch)
        return
    epoch_bytes = _BE64.pack(end_epoch)
    if isinstance(proof, bytes | bytearray | memoryview):
        raw_inserted, raw_unchanged = decode_single_append_only_raw(bytes(proof))
        unchanged = _raw(config, raw_unchanged, None)
        inserted = _raw(config, raw_inserted, epoch_bytes)
    else:
        unchanged = _elements(config, proof.unchanged_nodes, None)
        inserted = _elements(config, proof.inserted, epoch_bytes)
    end_set = _sorted_antichain(unchanged + inserted)
    inserted_keys = {(e[0], e[1]) for e in inserted}
    start_set = [e for e in end_set if (e[0], e[1]) not in inserted_keys]
    computed = root_hash_of(config, start_set)
    if computed != start_hash:
        raise AppendOnlyProofError(
            f"epoch {end_epoch - 1}: expected hash {start_hash.hex()} does not match computed "
            f"root hash {computed.hex()}"
        )
    computed = root_hash_of(config, end_set)
    if computed != end_hash:
        raise AppendOnlyProofError(
            f"epoch {end_epoch}: expected hash {end_hash.hex()} does not match computed "
            f"root hash {computed.hex()}"
        )


def _verify_natively(
    config: Configuration,
    proof: SingleAppendOnlyProof | bytes,
    start_hash: bytes,
    end_hash: bytes,
    end_epoch: int,
) -> None:
    """``verify_single_append_only`` with the rebuild in the native extension (same rules,
    same messages: tests/core/test_native_audit.py)."""
    assert _native is not None
    unchanged: Sequence[RawElement | AzksElement]
    inserted: Sequence[RawElement | AzksElement]
    if isinstance(proof, bytes | bytearray | memoryview):
        inserted, unchanged = decode_single_append_only_raw(bytes(proof))
    else:  # read in place: copying 10k+ elements into tuples would wake the GC
        inserted, unchanged = proof.inserted, proof.unchanged_nodes
    try:
        start_value, end_value = _native.append_only_roots(
            config.is_whatsapp, config.domain_label, unchanged, inserted, end_epoch,
            config.empty_node_hash, config.empty_label_value,
        )  # fmt: skip
    except ValueError as exc:
        raise AppendOnlyProofError(str(exc)) from None
    empty = config.empty_root_value
    for epoch, expected, value in (
        (end_epoch - 1, start_hash, start_value),
        (end_epoch, end_hash, end_value),
    ):
        computed = config.root_hash_from_value(empty if value is None else value)
        if computed != expected:
            raise AppendOnlyProofError(
                f"epoch {epoch}: expected hash {expected.hex()} does not match computed "
                f"root hash {computed.hex()}"
            )


def audit_verify(
    config: Configuration, hashes: Sequence[bytes], proof: AppendOnlyProof | bytes
) -> None:
    """Verify a multi-epoch append-only proof against consecutive root hashes.

    ``hashes[0]`` is the root at ``proof.epochs[0]``; ``hashes[i+1]`` the root one epoch after
    ``proof.epochs[i]``. Unlike akd 0.12, the epochs must also be consecutive: a proof that
    skips an epoch does not show the skipped epoch only appended.
    """
    if isinstance(proof, bytes | bytearray | memoryview):
        proof = decode_append_only_proof(bytes(proof))
    if len(proof.epochs) + 1 != len(hashes):
        raise AppendOnlyProofError(
            f"audit proof covers {len(proof.epochs)} epochs but {len(hashes)} hashes were given "
            "(need one more hash than epochs)"
        )
    if len(proof.epochs) != len(proof.proofs):
        raise AppendOnlyProofError(
            f"audit proof has {len(proof.proofs)} proofs for {len(proof.epochs)} epochs"
        )
    if not proof.epochs:
        raise AppendOnlyProofError("audit proof covers no epochs")
    for earlier, later in pairwise(proof.epochs):
        if later != earlier + 1:
            raise AppendOnlyProofError(
                f"audit proof epochs are not consecutive ({earlier} then {later})"
            )
    for i, single in enumerate(proof.proofs):
        verify_single_append_only(config, single, hashes[i], hashes[i + 1], proof.epochs[i] + 1)


# -- audit blob names ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditBlobName:
    """``{epoch}/{previous_root_hex}/{current_root_hex}``; ``epoch`` is the *end* epoch."""

    epoch: int
    previous_hash: bytes
    current_hash: bytes

    def __str__(self) -> str:
        return f"{self.epoch}/{self.previous_hash.hex()}/{self.current_hash.hex()}"


def format_audit_blob_name(epoch: int, previous_hash: bytes, current_hash: bytes) -> str:
    return str(AuditBlobName(epoch, previous_hash, current_hash))


def parse_audit_blob_name(name: str) -> AuditBlobName:
    """Parse a blob name as akd does: split on '/', at least 3 parts, any hex case."""
    parts = name.split("/")
    if len(parts) < 3:
        raise MalformedError(f"audit blob name {name!r} does not have the form epoch/prev/cur")
    epoch_text, previous_hex, current_hex = parts[0], parts[1], parts[2]
    if (
        not (epoch_text.isascii() and epoch_text.isdigit())
        or len(epoch_text) > 20
        or int(epoch_text) >= 2**64
    ):
        raise MalformedError(f"audit blob name {name!r}: epoch is not a 64-bit number")
    hashes: list[bytes] = []
    for text in (previous_hex, current_hex):
        try:
            digest = bytes.fromhex(text)
        except ValueError:
            raise MalformedError(f"audit blob name {name!r}: {text!r} is not hex") from None
        if len(digest) != 32:
            raise MalformedError(f"audit blob name {name!r}: hashes must be 32 bytes")
        hashes.append(digest)
    return AuditBlobName(int(epoch_text), hashes[0], hashes[1])


def verify_audit_blob(config: Configuration, name: str | AuditBlobName, data: bytes) -> None:
    """Verify one published audit blob as WhatsApp's auditor does (spec 12.3)."""
    blob = parse_audit_blob_name(name) if isinstance(name, str) else name
    verify_single_append_only(config, data, blob.previous_hash, blob.current_hash, blob.epoch)
