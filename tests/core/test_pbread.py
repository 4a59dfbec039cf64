"""The direct lookup-proof reader (``_pbread``) against the upb decoder.

The reader may only ever say "not mine" (None) or give exactly what upb's decoding gives; it
must never accept bytes the full decoder rejects. And it must take every canonical proof —
else it is dead code that the fast figures in the closing notes do not come from.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.akd import _pbread, _pbwrite, wire
from glasskey.core.akd._node_label import DIRECTIONS
from glasskey.core.akd.types import (
    AzksElement,
    LookupProof,
    MembershipProof,
    NonMembershipProof,
    SiblingProof,
)
from glasskey.core.errors import MalformedError
from glasskey.directory import Directory
from tests.core.test_akd_pbwrite import _bytes, _labels, _lookups, _u64, upb_lookup
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector


@pytest.fixture(autouse=True)
def _empty_memo() -> None:
    _pbread._sibling_memo.clear()


def upb_verdict(data: bytes) -> LookupProof | str:
    try:
        return wire._decode_lookup_proof_upb(data)
    except MalformedError as exc:
        return str(exc)


def assert_agrees(data: bytes) -> LookupProof | None:
    """The reader's answer is None or upb's; and the public decoder gives upb's verdict."""
    fast = _pbread.read_lookup_proof(data)
    full = upb_verdict(data)
    if fast is not None:
        assert fast == full
    try:
        public: LookupProof | str = wire.decode_lookup_proof(data)
    except MalformedError as exc:
        public = str(exc)
    assert public == full
    return fast


def directory_proofs() -> list[bytes]:
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(60)])
    d.publish([(b"user-%d" % i, b"k2" * 40) for i in range(0, 60, 3)] + [(b"x", b"v")])
    for v in range(3, 7):
        d.publish([(b"user-3", b"k%d" % v)])
    out = [
        wire.encode_lookup_proof(d.lookup(x)[0]) for x in (b"user-0", b"user-1", b"user-3", b"x")
    ]
    d.close()
    return out


@pytest.mark.parametrize("name", ["whatsapp_v1", "experimental"])
def test_akd_vectors_are_read_directly(name: str) -> None:
    data = akd_vector(name).lookup_proof
    assert assert_agrees(data) is not None


def test_directory_proofs_and_every_single_byte_tamper() -> None:
    for data in directory_proofs():
        assert assert_agrees(data) is not None
        assert assert_agrees(upb_lookup(wire.decode_lookup_proof(data))) is not None
        for i in range(len(data)):
            for flip in (0x01, 0x80):
                tampered = bytearray(data)
                tampered[i] ^= flip
                assert_agrees(bytes(tampered))
        for cut in range(0, len(data), 7):
            assert_agrees(data[:cut])
        assert_agrees(data + b"\x00")
        assert_agrees(data + b"\x58\x01")  # an unknown field 11: upb keeps it, the reader defers


def test_memoised_siblings_are_the_decoded_ones() -> None:
    proofs = directory_proofs()
    first = [_pbread.read_lookup_proof(p) for p in proofs]
    assert _pbread._sibling_memo
    again = [_pbread.read_lookup_proof(p) for p in proofs]
    assert first == again == [wire._decode_lookup_proof_upb(p) for p in proofs]


def test_non_minimal_varints_and_bytes_like_inputs() -> None:
    data = directory_proofs()[0]
    assert data[0] == 0x08 and data[1] < 0x80
    padded = data[:1] + bytes([data[1] | 0x80, 0x00]) + data[2:]  # epoch as a 2-byte varint
    assert assert_agrees(padded) is not None
    expected = wire._decode_lookup_proof_upb(data)
    assert wire.decode_lookup_proof(bytearray(data)) == expected  # type: ignore[arg-type]
    assert wire.decode_lookup_proof(memoryview(data)) == expected  # type: ignore[arg-type]


_digests = st.binary(min_size=32, max_size=32)
_valid_elements = st.builds(AzksElement, _labels(), _digests)
_valid_siblings = st.builds(
    SiblingProof, _labels(), st.tuples(_valid_elements), st.sampled_from(DIRECTIONS)
)
_valid_memberships = st.builds(
    MembershipProof, _labels(), _digests, st.lists(_valid_siblings, max_size=5).map(tuple)
)
_valid_lookups = st.builds(
    LookupProof,
    epoch=_u64, value=_bytes, version=_u64, existence_vrf_proof=_bytes,
    existence_proof=_valid_memberships, marker_vrf_proof=_bytes,
    marker_proof=_valid_memberships, freshness_vrf_proof=_bytes,
    freshness_proof=st.builds(
        NonMembershipProof, _labels(), _labels(),
        st.tuples(_valid_elements, _valid_elements), _valid_memberships,
    ),
    commitment_nonce=_bytes,
)  # fmt: skip


@settings(max_examples=200)
@given(_valid_lookups)
def test_random_valid_proofs_are_read_directly(proof: LookupProof) -> None:
    data = _pbwrite.lookup_body(proof)
    assert data == upb_lookup(proof)
    assert assert_agrees(data) == proof


@settings(max_examples=200)
@given(_lookups, st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_random_proofs_and_tampers_agree(proof: LookupProof, where: int, byte: int) -> None:
    data = upb_lookup(proof)
    assert_agrees(data)
    if data:
        tampered = bytearray(data)
        tampered[where % len(data)] = byte
        assert_agrees(bytes(tampered))


def _defects() -> list[tuple[str, object]]:
    """(name, edit of a parsed upb LookupProof) for every rule the full decoder enforces."""

    return [
        ("hash_val of 31 bytes", lambda m: setattr(m.existence_proof, "hash_val", bytes(31))),
        ("hash_val of 33 bytes", lambda m: setattr(m.marker_proof, "hash_val", bytes(33))),
        ("direction 2", lambda m: setattr(m.existence_proof.sibling_proofs[0], "direction", 2)),
        ("no sibling", lambda m: m.existence_proof.sibling_proofs[0].ClearField("siblings")),
        ("two siblings", lambda m: m.marker_proof.sibling_proofs[-1].siblings.add().CopyFrom(
            m.marker_proof.sibling_proofs[-1].siblings[0])),
        ("element value of 31 bytes", lambda m: setattr(
            m.existence_proof.sibling_proofs[1].siblings[0], "value", bytes(31))),
        ("label_len 257", lambda m: setattr(m.existence_proof.label, "label_len", 257)),
        ("label_val of 33 bytes", lambda m: setattr(
            m.freshness_proof.longest_prefix, "label_val", bytes(33))),
        ("one child", lambda m: m.freshness_proof.longest_prefix_children.pop()),
        ("three children", lambda m: m.freshness_proof.longest_prefix_children.add().CopyFrom(
            m.freshness_proof.longest_prefix_children[0])),
        ("no commitment nonce", lambda m: m.ClearField("commitment_nonce")),
        ("no epoch", lambda m: m.ClearField("epoch")),
        ("no direction", lambda m: m.marker_proof.sibling_proofs[0].ClearField("direction")),
        ("no label_len", lambda m: m.freshness_proof.label.ClearField("label_len")),
        ("no child value", lambda m: m.freshness_proof.longest_prefix_children[1].ClearField(
            "value")),
    ]  # fmt: skip


@pytest.mark.parametrize(("name", "defect"), _defects(), ids=[n for n, _ in _defects()])
def test_every_rule_of_the_full_decoder_holds(name: str, defect: object) -> None:
    from glasskey.core.akd.proto import akd_pb2 as pb

    message = pb.LookupProof()
    message.ParseFromString(directory_proofs()[2])
    defect(message)  # type: ignore[operator]
    data = message.SerializeToString()
    assert isinstance(upb_verdict(data), str), f"{name}: the full decoder accepts it"
    assert assert_agrees(data) is None
