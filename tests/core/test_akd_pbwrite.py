"""The direct protobuf writer (core/akd/_pbwrite.py) against upb, byte for byte.

The reference below is the encoder glasskey used before: upb messages filled field by field
and serialised by the protobuf runtime. Both must give identical bytes on the akd vectors,
on directory-generated proofs and on random proofs (hypothesis), including empty byte
strings, labels whose value is all zero bytes, long labels and large epochs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core import _native
from glasskey.core.akd import _pbwrite, wire
from glasskey.core.akd._node_label import DIRECTIONS, NodeLabel
from glasskey.core.akd.proto import akd_pb2 as pb
from glasskey.core.akd.types import (
    AppendOnlyProof,
    AzksElement,
    HistoryParams,
    HistoryProof,
    LookupProof,
    MembershipProof,
    NonMembershipProof,
    SiblingProof,
    SingleAppendOnlyProof,
    UpdateProof,
)
from glasskey.directory import Directory
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector

# -- the upb reference ---------------------------------------------------------------------------


def _label(m: Any, label: NodeLabel) -> None:
    m.label_val = label.val.rstrip(b"\x00")
    m.label_len = label.length


def _element(m: Any, e: AzksElement) -> None:
    _label(m.label, e.label)
    m.value = e.value


def _membership(m: Any, p: MembershipProof) -> None:
    _label(m.label, p.label)
    m.hash_val = p.hash_val
    for sp in p.sibling_proofs:
        out = m.sibling_proofs.add()
        _label(out.label, sp.label)
        for s in sp.siblings:
            _element(out.siblings.add(), s)
        out.direction = int(sp.direction)


def _nonmembership(m: Any, p: NonMembershipProof) -> None:
    _label(m.label, p.label)
    _label(m.longest_prefix, p.longest_prefix)
    for c in p.longest_prefix_children:
        _element(m.longest_prefix_children.add(), c)
    _membership(m.longest_prefix_membership_proof, p.longest_prefix_membership_proof)


def _update(m: Any, p: UpdateProof) -> None:
    m.epoch, m.value, m.version = p.epoch, p.value, p.version
    m.existence_vrf_proof = p.existence_vrf_proof
    _membership(m.existence_proof, p.existence_proof)
    if p.previous_version_vrf_proof is not None:
        m.previous_version_vrf_proof = p.previous_version_vrf_proof
    if p.previous_version_proof is not None:
        _membership(m.previous_version_proof, p.previous_version_proof)
    m.commitment_nonce = p.commitment_nonce


def upb_lookup(p: LookupProof) -> bytes:
    m = pb.LookupProof()
    m.epoch, m.value, m.version = p.epoch, p.value, p.version
    m.existence_vrf_proof = p.existence_vrf_proof
    _membership(m.existence_proof, p.existence_proof)
    m.marker_vrf_proof = p.marker_vrf_proof
    _membership(m.marker_proof, p.marker_proof)
    m.freshness_vrf_proof = p.freshness_vrf_proof
    _nonmembership(m.freshness_proof, p.freshness_proof)
    m.commitment_nonce = p.commitment_nonce
    return m.SerializeToString()


def upb_history(p: HistoryProof) -> bytes:
    m = pb.HistoryProof()
    for u in p.update_proofs:
        _update(m.update_proofs.add(), u)
    m.past_marker_vrf_proofs.extend(p.past_marker_vrf_proofs)
    for mp in p.existence_of_past_marker_proofs:
        _membership(m.existence_of_past_marker_proofs.add(), mp)
    m.future_marker_vrf_proofs.extend(p.future_marker_vrf_proofs)
    for nm in p.non_existence_of_future_marker_proofs:
        _nonmembership(m.non_existence_of_future_marker_proofs.add(), nm)
    return m.SerializeToString()


def _single(m: Any, p: SingleAppendOnlyProof) -> None:
    for e in p.inserted:
        _element(m.inserted.add(), e)
    for e in p.unchanged_nodes:
        _element(m.unchanged_nodes.add(), e)


def upb_append_only(p: AppendOnlyProof) -> bytes:
    m = pb.AppendOnlyProof()
    for s in p.proofs:
        _single(m.proofs.add(), s)
    m.epochs.extend(p.epochs)
    return m.SerializeToString()


def upb_single(p: SingleAppendOnlyProof) -> bytes:
    m = pb.SingleAppendOnlyProof()
    _single(m, p)
    return m.SerializeToString()


def upb_membership(p: MembershipProof) -> bytes:
    m = pb.MembershipProof()
    _membership(m, p)
    return m.SerializeToString()


def upb_nonmembership(p: NonMembershipProof) -> bytes:
    m = pb.NonMembershipProof()
    _nonmembership(m, p)
    return m.SerializeToString()


def upb_update(p: UpdateProof) -> bytes:
    m = pb.UpdateProof()
    _update(m, p)
    return m.SerializeToString()


def assert_all_encoders_agree(
    lookup: LookupProof | None = None,
    history: HistoryProof | None = None,
    audit: AppendOnlyProof | None = None,
) -> None:
    if lookup is not None:
        expected = upb_lookup(lookup)
        assert wire.encode_lookup_proof(lookup) == expected  # native when installed
        assert _pbwrite.lookup_body(lookup) == expected  # the pure-Python encoder
        if _native.vrf is not None:
            assert _native.vrf.encode_lookup_proof(lookup) == expected
        for mp in (lookup.existence_proof, lookup.marker_proof):
            assert wire.encode_membership_proof(mp) == upb_membership(mp)
        nm = lookup.freshness_proof
        assert wire.encode_non_membership_proof(nm) == upb_nonmembership(nm)
    if history is not None:
        assert wire.encode_history_proof(history) == upb_history(history)
        for u in history.update_proofs:
            assert wire.encode_update_proof(u) == upb_update(u)
    if audit is not None:
        assert wire.encode_append_only_proof(audit) == upb_append_only(audit)
        for s in audit.proofs:
            assert wire.encode_single_append_only_proof(s) == upb_single(s)


# -- vectors and real proofs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["whatsapp_v1", "experimental"])
def test_akd_vectors_encode_like_upb(name: str) -> None:
    v = akd_vector(name)
    assert_all_encoders_agree(lookup=wire.decode_lookup_proof(v.lookup_proof))
    for blob in (v.history_most_recent_1, v.history_complete):
        assert_all_encoders_agree(history=wire.decode_history_proof(blob))


def test_directory_proofs_encode_like_upb() -> None:
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(40)])
    d.publish([(b"user-%d" % i, b"k2") for i in range(0, 40, 3)] + [(b"x", b"v")])
    for v in range(3, 7):
        d.publish([(b"user-3", b"k%d" % v)])
    for label in (b"user-0", b"user-1", b"user-3", b"x"):
        assert_all_encoders_agree(lookup=d.lookup(label)[0])
    assert_all_encoders_agree(history=d.key_history(b"user-3", HistoryParams.complete())[0])
    assert_all_encoders_agree(history=d.key_history(b"user-0", HistoryParams.most_recent_n(1))[0])
    assert_all_encoders_agree(audit=d.audit(0, 6))
    d.close()


# -- random proofs --------------------------------------------------------------------------------

_bytes = st.binary(max_size=40)
_u64 = st.integers(min_value=0, max_value=2**64 - 1)


@st.composite
def _labels(draw: st.DrawFn) -> NodeLabel:
    length = draw(st.integers(min_value=0, max_value=256))
    val = draw(st.sampled_from([bytes(32), b"\xff" * 32, None]))
    if val is None:
        val = draw(st.binary(min_size=32, max_size=32))
    return NodeLabel.from_int(int.from_bytes(val, "big"), length)


_elements = st.builds(AzksElement, _labels(), _bytes)
_siblings = st.builds(
    SiblingProof,
    _labels(),
    st.lists(_elements, max_size=2).map(tuple),
    st.sampled_from(DIRECTIONS),
)
_memberships = st.builds(
    MembershipProof, _labels(), _bytes, st.lists(_siblings, max_size=4).map(tuple)
)
_nonmemberships = st.builds(
    NonMembershipProof,
    _labels(),
    _labels(),
    st.lists(_elements, max_size=2).map(tuple),
    _memberships,
)
_lookups = st.builds(
    LookupProof,
    epoch=_u64, value=_bytes, version=_u64, existence_vrf_proof=_bytes,
    existence_proof=_memberships, marker_vrf_proof=_bytes, marker_proof=_memberships,
    freshness_vrf_proof=_bytes, freshness_proof=_nonmemberships, commitment_nonce=_bytes,
)  # fmt: skip
_updates = st.builds(
    UpdateProof,
    epoch=_u64, value=_bytes, version=_u64, existence_vrf_proof=_bytes,
    existence_proof=_memberships, previous_version_vrf_proof=st.none() | _bytes,
    previous_version_proof=st.none() | _memberships, commitment_nonce=_bytes,
)  # fmt: skip
_histories = st.builds(
    HistoryProof,
    st.lists(_updates, max_size=3).map(tuple),
    st.lists(_bytes, max_size=3).map(tuple),
    st.lists(_memberships, max_size=2).map(tuple),
    st.lists(_bytes, max_size=3).map(tuple),
    st.lists(_nonmemberships, max_size=2).map(tuple),
)
_singles = st.builds(
    SingleAppendOnlyProof,
    st.lists(_elements, max_size=4).map(tuple),
    st.lists(_elements, max_size=4).map(tuple),
)
_audits = st.builds(
    AppendOnlyProof,
    st.lists(_singles, max_size=3).map(tuple),
    st.lists(_u64, max_size=3).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(_lookups, _histories, _audits)
def test_random_proofs_encode_like_upb(
    lookup: LookupProof, history: HistoryProof, audit: AppendOnlyProof
) -> None:
    assert_all_encoders_agree(lookup=lookup, history=history, audit=audit)


def test_a_long_value_needs_a_multibyte_length() -> None:
    e = AzksElement(NodeLabel.from_int(1 << 255, 1), b"x" * 20_000)
    single = SingleAppendOnlyProof((e,), ())
    assert wire.encode_single_append_only_proof(single) == upb_single(single)


def test_an_epoch_beyond_uint64_is_refused_like_upb() -> None:
    audit = AppendOnlyProof((), (2**64,))
    with pytest.raises(ValueError):
        upb_append_only(audit)
    with pytest.raises(ValueError):
        wire.encode_append_only_proof(audit)


def test_memoised_siblings_near_the_root_differ_in_every_field_like_upb() -> None:
    """Siblings under short labels are memoised by value: proofs that share all but one of
    the fields a sibling is written from (parent label and length, element label, length and
    hash, direction) still encode like upb, in either order, and after the memo is full."""

    def sibling(
        val: bytes, length: int, e_val: bytes, e_len: int, h: bytes, d: int
    ) -> SiblingProof:
        return SiblingProof(
            NodeLabel.from_int(int.from_bytes(val, "big"), length),
            (AzksElement(NodeLabel.from_int(int.from_bytes(e_val, "big"), e_len), h),),
            DIRECTIONS[d],
        )

    base = (b"\x80" + bytes(31), 1, b"\x40" + bytes(31), 2, b"h" * 32, 1)
    variants = [base]
    for field, other in enumerate(
        (b"\x00" * 32, 3, b"\xc0" + bytes(31), 4, b"i" * 32, 0)  # one field changed each
    ):
        variants.append(tuple(other if i == field else v for i, v in enumerate(base)))
    proofs = [
        MembershipProof(NodeLabel.leaf(b"\x01" * 32), b"v" * 32, (sibling(*v),))  # type: ignore[arg-type]
        for v in variants
    ]
    for order in (proofs, proofs[::-1]):
        encoded = [wire.encode_membership_proof(p) for p in order]
        assert encoded == [upb_membership(p) for p in order]
        assert len(set(encoded)) == len(variants)
    leaf = NodeLabel.leaf(b"\x01" * 32)
    for i in range(_pbwrite._MEMO_SIZE + 1):  # fills the memo: it is cleared, not grown
        filler = sibling(*base[:4], i.to_bytes(32, "big"), 0)  # type: ignore[arg-type]
        wire.encode_membership_proof(MembershipProof(leaf, b"v" * 32, (filler,)))
    assert len(_pbwrite._memo) <= _pbwrite._MEMO_SIZE
    assert [wire.encode_membership_proof(p) for p in proofs] == [upb_membership(p) for p in proofs]


def test_lookup_proofs_with_long_fields_and_out_of_range_integers() -> None:
    """Multi-byte lengths at every nesting level (the native writer moves such bodies to
    make room), and integers upb refuses: the native writer hands those to the Python one,
    which raises upb's ValueError."""
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k" * (i * 997)) for i in range(1, 30)])
    proof = d.lookup(b"user-17")[0]
    d.close()
    assert len(proof.value) > 16_000
    assert_all_encoders_agree(lookup=proof)
    big = replace(proof, commitment_nonce=b"n" * 300, existence_vrf_proof=b"v" * 70_000)
    assert_all_encoders_agree(lookup=big)
    for field in ("epoch", "version"):
        for value in (2**64, -1):
            bad = replace(proof, **{field: value})
            with pytest.raises(ValueError):
                upb_lookup(bad)
            with pytest.raises(ValueError, match="out of range"):
                wire.encode_lookup_proof(bad)


# -- the native writer's slot reads ---------------------------------------------------------------

_needs_native = pytest.mark.skipif(
    _native.vrf is None, reason="the native accelerator is not installed (make native)"
)


@_needs_native
def test_the_native_writer_reads_the_per_level_classes_from_their_slots() -> None:
    """After one real proof, the offsets of NodeLabel, AzksElement and SiblingProof are known:
    one per attribute, distinct, inside the instance (after the object header)."""
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(20)])
    assert_all_encoders_agree(lookup=d.lookup(b"user-4")[0])
    d.close()
    assert _native.vrf is not None
    layouts = dict(_native.vrf.lookup_encoder_layouts())
    for cls, names in ((NodeLabel, 2), (AzksElement, 2), (SiblingProof, 3)):
        offsets = layouts[cls.__name__]
        assert offsets is not None, cls
        assert len(offsets) == names == len(set(offsets))
        assert all(16 <= o < cls.__basicsize__ for o in offsets)


@_needs_native
def test_subclasses_and_stand_ins_are_read_by_name_with_the_same_bytes() -> None:
    """Objects that are not exactly the dataclasses (a subclass with a slot of its own, a
    duck-typed stand-in) take getattr: the same bytes as the Python writer."""
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(20)])
    proof = d.lookup(b"user-9")[0]
    d.close()

    class WiderLabel(NodeLabel):
        __slots__ = ("note",)

    class Stand:
        def __init__(self, **fields: object) -> None:
            self.__dict__.update(fields)

    def odd(sp: SiblingProof) -> Any:
        label = WiderLabel(sp.label.val, sp.label.length)
        siblings = tuple(Stand(label=s.label, value=s.value) for s in sp.siblings)
        return Stand(label=label, siblings=siblings, direction=sp.direction)

    path = proof.existence_proof
    odd_path = replace(path, sibling_proofs=tuple(odd(sp) for sp in path.sibling_proofs))
    odd_proof = replace(proof, existence_proof=odd_path)
    assert wire.encode_lookup_proof(odd_proof) == _pbwrite.lookup_body(proof)
    assert wire.encode_lookup_proof(proof) == _pbwrite.lookup_body(proof)


@_needs_native
def test_a_path_the_raw_reader_declines_at_its_last_level_is_written_whole_by_name() -> None:
    """The native writer reads a path's levels through borrowed pointers and takes only exact
    ``bytes``, ``tuple`` and the three slotted classes; met at the deepest level, anything
    else makes it drop what it wrote of the path and rewrite it through getattr: the bytes of
    upb and of the Python writer, for every kind of odd last level."""
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(64)])
    proof = d.lookup(b"user-21")[0]
    d.close()

    class Bytes(bytes):
        pass

    levels = proof.existence_proof.sibling_proofs
    assert len(levels) >= 4
    last = levels[-1]
    element = last.siblings[0]
    odd_lasts = [
        replace(last, siblings=()),
        replace(last, siblings=(element, element)),
        replace(last, siblings=(replace(element, value=Bytes(element.value)),)),
        replace(last, label=NodeLabel(Bytes(last.label.val), last.label.length)),
    ]
    for odd in odd_lasts:
        path = replace(proof.existence_proof, sibling_proofs=(*levels[:-1], odd))
        assert_all_encoders_agree(lookup=replace(proof, existence_proof=path))
    # A list of siblings: the native writer refuses the whole proof; Python writes it.
    listed = replace(last, siblings=[element])  # type: ignore[arg-type]
    path = replace(proof.existence_proof, sibling_proofs=(*levels[:-1], listed))
    odd_proof = replace(proof, existence_proof=path)
    assert wire.encode_lookup_proof(odd_proof) == upb_lookup(odd_proof)
    negative = replace(last, direction=-1)  # type: ignore[arg-type]
    path = replace(proof.existence_proof, sibling_proofs=(*levels[:-1], negative))
    with pytest.raises(ValueError):
        wire.encode_lookup_proof(replace(proof, existence_proof=path))
