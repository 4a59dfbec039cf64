"""Edge cases the Plexi vectors do not cover (spec 6.2 "write own tests")."""

from __future__ import annotations

import struct

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.errors import MalformedError, SignatureError
from glasskey.core.plexi import (
    AuditorConfiguration,
    Ciphersuite,
    EpochStatement,
    KeyInfo,
    NamespaceInfo,
    NamespaceStatus,
    SignatureResponse,
    candidate_keys,
    ciphersuite_display,
    encode_bincode,
    encode_protobuf,
    parse_root,
    select_signing_key,
    signed_bytes,
    verify_ed25519,
)

DIGEST = bytes(range(32))


def test_protobuf_emits_zero_values_and_nested_epoch() -> None:
    data = encode_protobuf(EpochStatement(1, "", 0, 0, DIGEST))
    assert data.hex() == "0801" + "1200" + "1800" + "22020800" + "2a20" + DIGEST.hex()


def test_protobuf_large_values_and_multibyte_lengths() -> None:
    ns = "a" * 200
    data = encode_protobuf(EpochStatement(1, ns, 2**64 - 1, 2**32, DIGEST))
    # namespace length 200 = varint c8 01; u64 max = 9 x ff + 01; epoch 2^32 = 80 80 80 80 10
    assert data.startswith(bytes.fromhex("0801" + "12c801") + ns.encode())
    rest = data[5 + 200 :]
    assert rest.hex() == (
        "18" + "ff" * 9 + "01" + "2206" + "08" + "8080808010" + "2a20" + DIGEST.hex()
    )


def test_bincode_layout_non_ascii_namespace() -> None:
    ns = "höst.example"
    raw = ns.encode()
    data = encode_bincode(EpochStatement(2, ns, 5, 2**40, DIGEST))
    assert len(data) == 68 + len(raw)
    assert data == (
        struct.pack("<IQ", 2, len(raw)) + raw + struct.pack("<QQQ", 5, 2**40, 32) + DIGEST
    )


def test_unknown_ciphersuite_cannot_be_verified() -> None:
    with pytest.raises(SignatureError, match="unknown ciphersuite 3"):
        signed_bytes(EpochStatement(3, "n", 1, 1, DIGEST))
    assert ciphersuite_display(3) == "unknown 3"
    assert ciphersuite_display(1) == "ed25519(protobuf)"
    assert Ciphersuite(2).display_name == "ed25519(bincode)"


@pytest.mark.parametrize(
    "field,value",
    [("epoch", -1), ("epoch", 2**64), ("timestamp", 1.5), ("timestamp", True), ("ciphersuite", -1)],
)
def test_statement_rejects_out_of_range(field: str, value: object) -> None:
    kwargs: dict[str, object] = {
        "ciphersuite": 1,
        "namespace": "n",
        "timestamp": 1,
        "epoch": 1,
        "digest": DIGEST,
    }
    kwargs[field] = value
    with pytest.raises(MalformedError):
        EpochStatement(**kwargs)  # type: ignore[arg-type]


def test_small_order_public_key_rejected() -> None:
    # The identity point (small order) with an all-zero signature: accepted by lax
    # verifiers for some messages, refused by strict ones.
    identity = bytes([1] + [0] * 31)
    with pytest.raises(SignatureError):
        verify_ed25519(identity, b"msg", bytes(64))


def test_non_canonical_s_rejected() -> None:
    key = nacl.signing.SigningKey(bytes(32))
    message = b"hello"
    sig = bytearray(key.sign(message).signature)
    # s + L is a non-canonical encoding of the same scalar.
    L = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(sig[32:], "little") + L
    if s < 2**256:
        sig[32:] = s.to_bytes(32, "little")
        with pytest.raises(SignatureError):
            verify_ed25519(bytes(key.verify_key), message, bytes(sig))


def test_key_selection_by_not_before() -> None:
    a, b, c = (KeyInfo(bytes([i] * 32), nb) for i, nb in ((1, 0), (2, 1000), (3, 5000)))
    keys = [a, b, c]
    assert select_signing_key(keys, 999) == 0
    assert select_signing_key(keys, 1000) == 1
    assert select_signing_key(keys, 4999) == 1  # c is announced but not yet valid
    assert select_signing_key(keys, 5000) == 2
    with pytest.raises(SignatureError):
        select_signing_key([c], 10)
    # Candidates: valid at the timestamp and with the right key id.
    assert candidate_keys(keys, 1500, None) == [a, b]
    assert candidate_keys(keys, 1500, 2) == [b]
    assert candidate_keys(keys, 1500, 3) == []


def test_verify_tries_every_key_with_colliding_key_id() -> None:
    signers = []
    seed = 0
    while len(signers) < 2:  # find two keys whose last bytes collide
        sk = nacl.signing.SigningKey(seed.to_bytes(32, "big"))
        seed += 1
        if not signers or bytes(sk.verify_key)[-1] == bytes(signers[0].verify_key)[-1]:
            signers.append(sk)
    statement = EpochStatement(1, "ns", 10, 1, DIGEST)
    sig = signers[1].sign(signed_bytes(statement)).signature
    keys = [KeyInfo(bytes(s.verify_key), 0) for s in signers]
    response = SignatureResponse(1, "ns", 10, 1, DIGEST, sig, keys[0].key_id)
    assert response.verify(keys) == keys[1]
    # serialized_message must match the rebuilt bytes.
    bad = SignatureResponse(1, "ns", 10, 1, DIGEST, sig, keys[0].key_id, b"\x00")
    with pytest.raises(SignatureError, match="serialized_message"):
        bad.verify(keys)
    # A key whose not_before is after the timestamp is not a candidate.
    with pytest.raises(SignatureError, match="key_id"):
        response.verify([KeyInfo(keys[1].public_key, 11)])


def test_signature_response_reader_rules() -> None:
    base = {
        "namespace": "n",
        "timestamp": 2,
        "epoch": 3,
        "digest": "AB",
        "signature": "00" * 64,
    }
    with pytest.raises(MalformedError, match="version or ciphersuite"):
        SignatureResponse.from_json_obj(base)
    assert SignatureResponse.from_json_obj(base, default_ciphersuite=2).ciphersuite == 2
    both = SignatureResponse.from_json_obj({**base, "version": 1, "ciphersuite": 2})
    assert both.ciphersuite == 1
    out = both.to_json_dict()
    assert out["digest"] == "ab" and out["serialized_message"] is None and "key_id" not in out
    for bad in (
        {"signature": "00" * 63},
        {"digest": "abc"},
        {"digest": "zz"},
        {"epoch": -1},
        {"epoch": 1.0},
        {"key_id": 256},
        {"timestamp": "2"},
    ):
        with pytest.raises(MalformedError):
            SignatureResponse.from_json_obj({**base, "version": 1, **bad})


def test_namespace_info_json_order_and_omissions() -> None:
    info = NamespaceInfo("ns", 1, NamespaceStatus.INITIALIZATION)
    assert list(info.to_json_dict().items()) == [
        ("name", "ns"),
        ("log_directory", None),
        ("root", None),
        ("status", "Initialization"),
        ("reports_uri", "/namespaces/ns/reports"),
        ("audits_uri", "/namespaces/ns/audits"),
        ("signature_version", 1),
        ("ciphersuite", 1),
    ]
    full = NamespaceInfo("ns", 2, NamespaceStatus.ONLINE, "https://x", "1/" + "ab" * 32, 7)
    d = full.to_json_dict()
    assert list(d)[:4] == ["name", "log_directory", "root", "last_verified_epoch"]
    assert NamespaceInfo.from_json_obj(d) == full
    with pytest.raises(MalformedError):
        NamespaceInfo.from_json_obj({**d, "status": "online"})


def test_parse_root() -> None:
    assert parse_root("12/" + "AB" * 32) == (12, bytes([0xAB]) * 32)
    for bad in ("12", "x/" + "ab" * 32, "1/" + "ab" * 31, "-1/" + "ab" * 32):
        with pytest.raises(MalformedError):
            parse_root(bad)


def test_auditor_configuration_roundtrip() -> None:
    cfg = AuditorConfiguration((KeyInfo(bytes(range(32)), 5),), ("ab",))
    assert cfg.to_json_dict() == {
        "keys": [{"public_key": bytes(range(32)).hex(), "not_before": 5}],
        "logs": ["ab"],
    }
    assert AuditorConfiguration.from_json_obj(cfg.to_json_dict()) == cfg


@given(
    suite=st.sampled_from([1, 2]),
    ns=st.text(max_size=300),
    ts=st.integers(0, 2**64 - 1),
    epoch=st.integers(0, 2**64 - 1),
)
def test_sign_verify_roundtrip_property(suite: int, ns: str, ts: int, epoch: int) -> None:
    key = nacl.signing.SigningKey(bytes([7] * 32))
    statement = EpochStatement(suite, ns, ts, epoch, DIGEST)
    sig = key.sign(signed_bytes(statement)).signature
    response = SignatureResponse(suite, ns, ts, epoch, DIGEST, sig, None, signed_bytes(statement))
    parsed = SignatureResponse.from_json_obj(response.to_json_dict())
    assert parsed == response
    parsed.verify([KeyInfo(bytes(key.verify_key), 0)])
