"""``wire.decode_single_append_only_raw`` (the auditor's fast path) accepts exactly what the
full decoder accepts, gives the same elements, and fails with the same error otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.akd import wire
from glasskey.core.akd.audit import verify_single_append_only
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.errors import MalformedError
from glasskey.directory import Directory
from tests.core.test_akd_pbwrite import _singles
from tests.vectors import AKD_TEST_VRF_SEED


def _outcome(decode: object, data: bytes) -> object:
    try:
        return decode(data)  # type: ignore[operator]
    except MalformedError as exc:
        return ("error", str(exc))


def _full(data: bytes) -> object:
    p = wire.decode_single_append_only_proof(data)
    as_raw = [
        [(e.label.val, e.label.length, e.value) for e in part]
        for part in (p.inserted, p.unchanged_nodes)
    ]
    return tuple(as_raw)


def _raw(data: bytes) -> object:
    inserted, unchanged = wire.decode_single_append_only_raw(data)
    return (inserted, unchanged)


@settings(max_examples=200, deadline=None)
@given(_singles, st.data())
def test_raw_decoder_agrees_with_the_full_one(single: object, data: st.DataObject) -> None:
    blob = wire.encode_single_append_only_proof(single)  # type: ignore[arg-type]
    assert _outcome(_raw, blob) == _outcome(_full, blob)
    if blob:
        i = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        mask = data.draw(st.integers(min_value=1, max_value=255))
        tampered = blob[:i] + bytes((blob[i] ^ mask,)) + blob[i + 1 :]
        assert _outcome(_raw, tampered) == _outcome(_full, tampered)
        assert _outcome(_raw, blob[:i]) == _outcome(_full, blob[:i])


@pytest.mark.parametrize(
    "junk", [b"\x0a\x02\x0a\x00", b"\x12\x00", b"\xff", b"\x0a\x05\x0a\x03\x01"]
)
def test_raw_decoder_raises_the_full_decoders_error(junk: bytes) -> None:
    assert _outcome(_raw, junk) == _outcome(_full, junk)
    assert _outcome(_full, junk)[0] == "error"  # type: ignore[index]


def test_blob_and_decoded_verification_agree_on_a_real_epoch() -> None:
    config = get_configuration("whatsapp_v1")
    d = Directory.in_memory(vrf_seed=AKD_TEST_VRF_SEED, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(60)])
    d.publish([(b"user-%d" % i, b"k2") for i in range(0, 60, 4)] + [(b"new", b"k")])
    h1, h2 = d.epoch_root(1), d.epoch_root(2)
    proof = d.audit(1, 2).proofs[0]
    blob = wire.encode_single_append_only_proof(proof)
    verify_single_append_only(config, blob, h1, h2, 2)
    verify_single_append_only(config, proof, h1, h2, 2)
    d.close()
