"""RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI known answers, plus the akd values from the spec.

Every intermediate value of the RFC's Appendix B.3 examples is checked (key expansion, H, the
nonce, U, V, the proof, beta) on both the libsodium path and the pure-Python reference, so a
mismatch points at the step that broke. The Appendix B.4 (ELL2) examples are only used for key
expansion: akd uses TAI exclusively and this module does not implement Elligator2.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import pytest

from glasskey.core import _edwards25519 as ed
from glasskey.core import ecvrf
from glasskey.core.errors import VrfError
from tests.vectors import AKD_TEST_VRF_PUBLIC, AKD_TEST_VRF_SEED, vector_path

TAI = "ECVRF-EDWARDS25519-SHA512-TAI"


@cache
def _rfc_vectors() -> list[dict[str, Any]]:
    data = json.loads(vector_path("ecvrf", "rfc9381-edwards25519.json").read_text())
    vectors: list[dict[str, Any]] = data["vectors"]
    return vectors


def _tai() -> list[dict[str, Any]]:
    return [v for v in _rfc_vectors() if v["suite"] == TAI]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [f"example-{v['example']}" for v in vectors]


def test_vector_file_has_the_three_tai_examples() -> None:
    assert [v["example"] for v in _tai()] == [16, 17, 18]


@pytest.mark.parametrize("v", _rfc_vectors(), ids=_ids(_rfc_vectors()))
def test_key_expansion(v: dict[str, Any]) -> None:
    """PK from SK, and the clamped scalar x (both suites share RFC 8032 key expansion)."""
    sk = ecvrf.VrfSecretKey(bytes.fromhex(v["SK"]))
    assert sk.public_key.hex() == v["PK"]
    assert ecvrf.public_key_from_seed(bytes.fromhex(v["SK"])).hex() == v["PK"]
    x = ecvrf._clamp(hashlib.sha512(bytes.fromhex(v["SK"])).digest())
    assert x.to_bytes(32, "little").hex() == v["x"]
    assert sk._x == x % ed.Q


@pytest.mark.parametrize("v", _tai(), ids=_ids(_tai()))
def test_encode_to_curve(v: dict[str, Any]) -> None:
    pk, alpha = bytes.fromhex(v["PK"]), bytes.fromhex(v["alpha"])
    assert ecvrf._encode_to_curve_fast(pk, alpha).hex() == v["H"]
    assert ed.compress(ecvrf._encode_to_curve_reference(pk, alpha)).hex() == v["H"]


@pytest.mark.parametrize("v", _tai(), ids=_ids(_tai()))
def test_nonce(v: dict[str, Any]) -> None:
    sk = ecvrf.VrfSecretKey(bytes.fromhex(v["SK"]))
    h = bytes.fromhex(v["H"])
    assert hashlib.sha512(sk._nonce_key + h).digest().hex() == v["k_string"]
    assert ecvrf._nonce(sk._nonce_key, h).to_bytes(32, "little").hex() == v["k"]


@pytest.mark.parametrize("v", _tai(), ids=_ids(_tai()))
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_prove_transcript(v: dict[str, Any], path: str) -> None:
    sk = ecvrf.VrfSecretKey(bytes.fromhex(v["SK"]))
    prover = ecvrf._prove_fast if path == "fast" else ecvrf._prove_reference
    t = prover(sk._x, sk._nonce_key, sk.public_key, bytes.fromhex(v["alpha"]))
    assert t.h.hex() == v["H"]
    assert t.k.to_bytes(32, "little").hex() == v["k"]
    assert t.u.hex() == v["U"]
    assert t.v.hex() == v["V"]
    assert t.proof.hex() == v["pi"]


@pytest.mark.parametrize("v", _tai(), ids=_ids(_tai()))
def test_prove_evaluate_verify_and_output(v: dict[str, Any]) -> None:
    sk = ecvrf.VrfSecretKey(bytes.fromhex(v["SK"]))
    pk, alpha, pi = bytes.fromhex(v["PK"]), bytes.fromhex(v["alpha"]), bytes.fromhex(v["pi"])
    assert sk.prove(alpha) == pi
    assert sk.evaluate(alpha) == (pi, bytes.fromhex(v["beta"]))
    assert ecvrf.verify(pk, pi, alpha).hex() == v["beta"]
    assert ecvrf.VrfPublicKey(pk).verify(pi, alpha).hex() == v["beta"]
    assert ecvrf.proof_to_hash(pi).hex() == v["beta"]
    ref_key = ed.decompress(pk)
    assert ref_key is not None
    assert ecvrf._verify_reference(pk, ref_key, pi, alpha).hex() == v["beta"]
    assert ecvrf._verify_fast(pk, pk, pi, alpha).hex() == v["beta"]


@pytest.mark.parametrize("v", _tai(), ids=_ids(_tai()))
def test_proof_for_other_input_is_rejected(v: dict[str, Any]) -> None:
    pi = bytes.fromhex(v["pi"])
    with pytest.raises(VrfError):
        ecvrf.verify(bytes.fromhex(v["PK"]), pi, bytes.fromhex(v["alpha"]) + b"\x00")


# -- akd (spec sections 5.2 and 14) --------------------------------------------------------------

AKD_ALPHA = bytes.fromhex("19f9bede9b6911309b352a1b1dc7328c856093a33649ef2391c81a7636566173")
AKD_PROOF = bytes.fromhex(
    "c8420ebba728c7ef0f89a63eebafab0e1c23bc1431d5c00c43d3f5c2ee0e4ec2"
    "90f766ddec663283627741e89924ddad"
    "64a0a6a610ab895758ba4f835cb7248bad09c7f643936f9733e6d0f2c3400200"
)
AKD_LABEL = bytes.fromhex("1ebcd0ddae05780a3052f0fe1238c1c1bba4323faec7a34e1e166a226790fb8e")


def test_akd_test_key() -> None:
    assert AKD_TEST_VRF_SEED.hex() == (
        "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
    )
    assert ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED).public_key == AKD_TEST_VRF_PUBLIC
    assert AKD_TEST_VRF_PUBLIC.hex() == (
        "f6ec49c8085f4d4be69db8e248bf11ce288026f5b8c5f6599defe58303d0702d"
    )


def test_akd_existence_proof_reproduced() -> None:
    """The WhatsAppV1 existence proof for ("16", Fresh, 3) in akd's test vectors (spec 14)."""
    sk = ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED)
    proof, beta = sk.evaluate(AKD_ALPHA)
    assert proof == AKD_PROOF
    assert beta[:32] == AKD_LABEL
    assert ecvrf.verify(AKD_TEST_VRF_PUBLIC, AKD_PROOF, AKD_ALPHA) == beta
    assert ecvrf.proof_to_hash(AKD_PROOF) == beta


# -- IETF KEYTRANS wrapping (independent Go implementation, katie) -------------------------------


@cache
def _kt_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(vector_path("keytrans", "vrf.json").read_text())[
        "cases"
    ]
    return cases


def _kt_alpha(case: dict[str, Any]) -> bytes:
    label = bytes.fromhex(case["input"]["label"])
    return bytes([len(label)]) + label + int(case["input"]["version"]).to_bytes(4, "big")


@pytest.mark.parametrize("case", _kt_cases(), ids=[c["name"] for c in _kt_cases()])
def test_keytrans_vrf_vectors(case: dict[str, Any]) -> None:
    """A second, independent TAI implementation: prove/verify must agree with it."""
    inp, expect = case["input"], case["expect"]
    pk = bytes.fromhex(inp["public_key"])
    sk = ecvrf.VrfSecretKey(bytes.fromhex(inp["private_key"]))
    assert sk.public_key == pk
    alpha = _kt_alpha(case)
    if expect.get("error"):
        with pytest.raises(VrfError):
            ecvrf.verify(pk, bytes.fromhex(inp["proof"]), alpha)
        return
    assert alpha.hex() == expect["vrf_input"]
    proof = bytes.fromhex(expect["proof"])
    assert sk.prove(alpha) == proof
    assert ecvrf.verify(pk, proof, alpha)[:32].hex() == expect["output"]
