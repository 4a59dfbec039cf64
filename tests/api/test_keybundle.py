"""The key bundle value format: one canonical encoding, strict decoding, no device names."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.api.keybundle import (
    KEY_BUNDLE_CONTENT_TYPE,
    Device,
    KeyBundle,
    decode_key_bundle,
    encode_key_bundle,
    is_key_bundle,
)
from glasskey.core.errors import MalformedError, UsageError

PHONE = Device("phone-1", b"\x05" * 32, b"\xab" * 32, 1_700_000_000)
LAPTOP = Device("laptop", b"\x06" * 3, b"\xcd" * 2, 1_700_000_100)


def test_the_encoding_is_exactly_these_bytes() -> None:
    value = encode_key_bundle(KeyBundle((PHONE, LAPTOP)))
    assert value == (
        b'{"devices":[{"added_at":1700000100,"id":"laptop","identity_key":"BgYG",'
        b'"signed_prekey_fingerprint":"zc0="},{"added_at":1700000000,"id":"phone-1",'
        b'"identity_key":"BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=",'
        b'"signed_prekey_fingerprint":"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="}],'
        b'"type":"glasskey.key-bundle","v":1}'
    )
    assert decode_key_bundle(value) == KeyBundle((LAPTOP, PHONE))
    assert KEY_BUNDLE_CONTENT_TYPE == "application/vnd.glasskey.key-bundle+json; version=1"


def test_device_order_does_not_matter_and_ids_are_unique() -> None:
    assert encode_key_bundle(KeyBundle((PHONE, LAPTOP))) == encode_key_bundle(
        KeyBundle((LAPTOP, PHONE))
    )
    with pytest.raises(UsageError, match="unique"):
        KeyBundle((PHONE, PHONE))
    assert KeyBundle((PHONE,)).with_device(LAPTOP).without_device("phone-1") == KeyBundle((LAPTOP,))


def _doc(**device: object) -> bytes:
    base = {"added_at": 1, "id": "d", "identity_key": "AA==", "signed_prekey_fingerprint": "AQ=="}
    base.update(device)  # type: ignore[arg-type]
    doc = {"devices": [base], "type": "glasskey.key-bundle", "v": 1}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def test_a_canonical_document_decodes() -> None:
    assert decode_key_bundle(_doc()) == KeyBundle((Device("d", b"\x00", b"\x01", 1),))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (_doc(name="Alice's phone"), "no names"),
        (_doc(added_at=True), "whole Unix seconds"),
        (_doc(added_at=1.5), "whole Unix seconds"),
        (_doc(id="my phone"), "device id"),
        (_doc(identity_key="AA"), "not valid base64"),
        (_doc(identity_key=""), "1-2048 bytes"),
        (_doc().replace(b'"v":1', b'"v":2'), "unsupported key bundle version"),
        (_doc().replace(b",", b", "), "canonical"),
        (b" " + _doc(), "canonical"),
        (b"opaque key bytes", "not ASCII JSON"),
        (b'{"devices":[],"type":"x","v":1}', '"type" is not'),
    ],
)
def test_anything_else_is_refused(value: bytes, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        decode_key_bundle(value)
    assert not is_key_bundle(value)


def test_unsorted_devices_are_not_canonical() -> None:
    good = encode_key_bundle(KeyBundle((PHONE, LAPTOP)))
    doc = json.loads(good)
    doc["devices"].reverse()
    swapped = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(MalformedError, match="canonical"):
        decode_key_bundle(swapped)


devices = st.builds(
    Device,
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    st.binary(min_size=1, max_size=40),
    st.binary(min_size=1, max_size=40),
    st.integers(0, 2**53 - 1),
)
bundles = st.lists(devices, max_size=5, unique_by=lambda d: d.device_id).map(
    lambda ds: KeyBundle(tuple(ds))
)


@settings(max_examples=60, deadline=None)
@given(bundles, st.data())
def test_round_trip_and_single_byte_tampers(bundle: KeyBundle, data: st.DataObject) -> None:
    value = encode_key_bundle(bundle)
    assert decode_key_bundle(value) == bundle
    index = data.draw(st.integers(0, len(value) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(value)
    tampered[index] ^= flip
    try:
        other = decode_key_bundle(bytes(tampered))
    except MalformedError:
        return
    # A tamper that still decodes is another bundle, encoded as exactly those bytes.
    assert other != bundle and encode_key_bundle(other) == bytes(tampered)


def test_base64_is_standard_and_padded() -> None:
    value = encode_key_bundle(KeyBundle((LAPTOP,)))
    assert base64.b64encode(LAPTOP.signed_prekey_fingerprint).decode() in value.decode()
