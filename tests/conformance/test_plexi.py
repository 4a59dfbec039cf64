"""Plexi conformance: the upstream test vectors and a real WhatsApp production signature.

Each vector must (a) derive its public key and key id, (b) rebuild the exact signed bytes of
its ciphersuite, (c) re-sign to the identical signature, (d) verify strictly, and (e) fail
under every near miss (other layout, other ciphersuite value, timestamp in seconds, one bit).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import nacl.signing
import pytest

from glasskey.core.errors import SignatureError
from glasskey.core.plexi import (
    AuditorConfiguration,
    EpochStatement,
    KeyInfo,
    SignatureResponse,
    encode_bincode,
    encode_protobuf,
    key_id,
    signed_bytes,
    verify_statement,
)
from tests.vectors import vector_path

VECTORS_SHA256 = "caf1ff841e2071e7c9333e8430197f2191c721f8f37c2f9a7663d3fb89ae96ca"

# Spec 3.2 / 3.3: the exact signed bytes of vector 0 (protobuf) and vector 1 (bincode).
EXPECTED_SIGNED = [
    "0801"
    + "1210"
    + b"log1.example.com".hex()
    + "18b1a5e1d1fc31"
    + "22020801"
    + "2a20"
    + "11" * 32,
    "02000000"
    + "1000000000000000"
    + b"log2.example.com".hex()
    + "b15238ca8f010000"
    + "0100000000000000"
    + "2000000000000000"
    + "11" * 32,
]

# Spec 6.2: plexi README, `plexi audit` against production, whatsapp.key-transparency.v1.
WHATSAPP = {
    "public_key": "2bbfbb39997fdb95feee40ef9f8827de0256732be06f64ed6408cc7e97c7f4d4",
    "namespace": "whatsapp.key-transparency.v1",
    "timestamp": 1727110425630,
    "epoch": 489193,
    "digest": "cbe5097ae832a3ae51ad866104ffd4aa1f7479e873fd18df9cb96a02fc91ebfe",
    "signature": "fe94973e19da826487b637c019d3ce52f0c08093ada00b4fe6563e2f8117b4345121342bc33aae"
    "249be47979dfe704478e2c18aed86e674df9f934b718949c08",
    "signed": "0801121c77686174736170702e6b65792d7472616e73706172656e63792e7631189ed8b6fea13222"
    "0408e9ed1d2a20cbe5097ae832a3ae51ad866104ffd4aa1f7479e873fd18df9cb96a02fc91ebfe",
}


def _vectors() -> list[dict[str, Any]]:
    data = vector_path("plexi", "test-vectors.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == VECTORS_SHA256
    vectors: list[dict[str, Any]] = json.loads(data)
    return vectors


def _statement(v: dict[str, Any], **override: Any) -> EpochStatement:
    fields = {
        "ciphersuite": v["ciphersuite"],
        "namespace": v["namespace"],
        "timestamp": v["timestamp"],
        "epoch": v["epoch"],
        "digest": bytes.fromhex(v["digest"]),
    }
    fields.update(override)
    return EpochStatement(**fields)


@pytest.mark.parametrize("index", [0, 1])
def test_vector_signs_and_verifies_byte_identically(index: int) -> None:
    v = _vectors()[index]
    signing_key = nacl.signing.SigningKey(bytes.fromhex(v["signing_key"]))
    public = bytes(signing_key.verify_key)
    assert public.hex() == v["verifying_key"]
    assert key_id(public) == v["key_id"] == 188
    message = signed_bytes(_statement(v))
    assert message.hex() == EXPECTED_SIGNED[index]
    assert len(message) == (65, 84)[index]
    assert signing_key.sign(message).signature.hex() == v["signature"]
    verify_statement(_statement(v), bytes.fromhex(v["signature"]), public)


@pytest.mark.parametrize("index", [0, 1])
def test_vector_negative_controls(index: int) -> None:
    v = _vectors()[index]
    public = bytes.fromhex(v["verifying_key"])
    signature = bytes.fromhex(v["signature"])
    other_suite = 3 - v["ciphersuite"]
    near_misses = [
        _statement(v, ciphersuite=other_suite),
        _statement(v, timestamp=v["timestamp"] // 1000),
        _statement(v, epoch=2),
        _statement(v, namespace=v["namespace"] + "x"),
    ]
    for statement in near_misses:
        with pytest.raises(SignatureError):
            verify_statement(statement, signature, public)
    # The other ciphersuite's layout with this ciphersuite's value.
    st = _statement(v)
    other_layout = encode_bincode(st) if index == 0 else encode_protobuf(st)
    nacl_key = nacl.signing.VerifyKey(public)
    with pytest.raises(Exception):  # noqa: B017 - any libsodium rejection
        nacl_key.verify(other_layout, signature)
    flipped = bytearray(signature)
    flipped[10] ^= 0x01
    with pytest.raises(SignatureError):
        verify_statement(st, bytes(flipped), public)


@pytest.mark.parametrize("index", [0, 1])
def test_vector_as_signature_response_json(index: int) -> None:
    v = _vectors()[index]
    public = bytes.fromhex(v["verifying_key"])
    response = SignatureResponse.from_json_obj(
        {
            "ciphersuite": v["ciphersuite"],
            "namespace": v["namespace"],
            "timestamp": v["timestamp"],
            "epoch": v["epoch"],
            "digest": v["digest"].upper(),
            "signature": v["signature"],
            "key_id": v["key_id"],
        }
    )
    info = AuditorConfiguration((KeyInfo(bytes(32 * [1]), 0), KeyInfo(public, 0)))
    assert response.verify(info.keys).public_key == public
    assert response.to_json_dict()["digest"] == v["digest"]


def test_whatsapp_production_signature() -> None:
    public = bytes.fromhex(WHATSAPP["public_key"])
    assert key_id(public) == 212
    statement = EpochStatement(
        1,
        WHATSAPP["namespace"],
        WHATSAPP["timestamp"],
        WHATSAPP["epoch"],
        bytes.fromhex(WHATSAPP["digest"]),
    )
    assert signed_bytes(statement).hex() == WHATSAPP["signed"]
    assert len(signed_bytes(statement)) == 79
    verify_statement(statement, bytes.fromhex(WHATSAPP["signature"]), public)
    response = SignatureResponse.from_json_obj(
        {
            "version": 1,
            "namespace": WHATSAPP["namespace"],
            "timestamp": WHATSAPP["timestamp"],
            "epoch": WHATSAPP["epoch"],
            "digest": WHATSAPP["digest"],
            "signature": WHATSAPP["signature"],
            "key_id": 212,
            "serialized_message": WHATSAPP["signed"],
        }
    )
    assert response.verify([KeyInfo(public, 0)]).key_id == 212
    # The bincode layout matches no millisecond of that second.
    signature = bytes.fromhex(WHATSAPP["signature"])
    for ms in range(1727110425000, 1727110426000, 37):
        with pytest.raises(SignatureError):
            verify_statement(
                EpochStatement(2, WHATSAPP["namespace"], ms, WHATSAPP["epoch"], statement.digest),
                signature,
                public,
            )


def test_plexi_json_unit_string_field_order() -> None:
    """plexi-core's own JSON test string (spec 2.3) is what the writer emits."""
    response = SignatureResponse(
        ciphersuite=1,
        namespace="n",
        timestamp=2,
        epoch=3,
        digest=b"\x04",
        signature=b"\x05",
        key_id=6,
        serialized_message=b"\x07",
    )
    assert response.to_json() == (
        '{"version":1,"ciphersuite":1,"namespace":"n","timestamp":2,"epoch":3,"digest":"04",'
        '"signature":"05","key_id":6,"serialized_message":"07"}'
    )
