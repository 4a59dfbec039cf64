"""The native ECVRF (glasskey-native, curve25519-dalek) against the pure-Python one.

Both must compute the same function, leniencies included: the same proofs, outputs and node
labels for every key and input; the same verdict — the same beta or the same error message —
for every public key, proof and input, honest, tampered, forged with torsion or random. The
pure-Python side is itself pinned to RFC 9381, akd's vectors and dalek's semantics by
tests/core/test_ecvrf.py and tests/conformance; here the native side is pinned to it.

Skipped (saying why) where the extension is not installed — but not where CI demands it:
with ``GLASSKEY_NATIVE=required`` importing glasskey already fails without it, and
:func:`test_the_native_path_is_the_one_in_use` checks that the suite really ran on it.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core import _edwards25519 as ed
from glasskey.core import _native, ecvrf
from glasskey.core.errors import VrfError
from glasskey.directory.akd._labels import LabelComputer
from tests.core.test_ecvrf import (
    ALPHA,
    enc,
    forge,
    non_canonical_encodings,
    point,
    small_order_points,
    torsion,
)
from tests.native import needs_native, without_native
from tests.vectors import AKD_TEST_VRF_PUBLIC, AKD_TEST_VRF_SEED, vector_path

seeds = st.binary(min_size=32, max_size=32)
alphas = st.binary(max_size=100)


def pure_python() -> AbstractContextManager[Any]:
    """Objects made inside use the pure-Python code (the switch is read at construction)."""
    return without_native(ecvrf, "_native")


@pytest.fixture(autouse=True)
def _no_remembered_verdicts() -> None:
    ecvrf._verified_beta.cache_clear()
    ecvrf.load_public_key.cache_clear()


def pair(seed: bytes) -> tuple[ecvrf.VrfSecretKey, ecvrf.VrfSecretKey]:
    """(pure-Python key, native key) for one seed."""
    with pure_python():
        pure = ecvrf.VrfSecretKey(seed)
    native = ecvrf.VrfSecretKey(seed)
    assert pure._native is None and native._native is not None
    return pure, native


def verdict(pk: bytes, proof: bytes, alpha: bytes) -> bytes | str:
    """beta, or the exact error message, from the public API."""
    try:
        return ecvrf.VrfPublicKey(pk).verify(proof, alpha)
    except VrfError as exc:
        return str(exc)


def both_verdicts(pk: bytes, proof: bytes, alpha: bytes) -> tuple[bytes | str, bytes | str]:
    ecvrf._verified_beta.cache_clear()
    with pure_python():
        pure = verdict(pk, proof, alpha)
    ecvrf._verified_beta.cache_clear()
    return pure, verdict(pk, proof, alpha)


def assert_same_verdict(pk: bytes, proof: bytes, alpha: bytes) -> bytes | str:
    pure, native = both_verdicts(pk, proof, alpha)
    assert native == pure
    return pure


def test_the_native_path_is_the_one_in_use() -> None:
    """Under GLASSKEY_NATIVE=required (CI's main job) every key is native; under off (CI's
    fallback job) none is. Either way the switch did what it says."""
    setting = os.environ.get(_native.ENV, "").strip().lower()
    key = ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED)
    if setting in {"required", "1", "true", "yes"}:
        assert _native.vrf is not None and key._native is not None
        assert ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC)._native is not None
    elif setting in {"off", "0", "false", "no"}:
        assert _native.vrf is None and key._native is None
    else:
        pytest.skip(f"{_native.ENV} is {setting or 'unset'}: either path may be in use")


# -- the switch --------------------------------------------------------------------------------


def test_switch_off_and_unknown_values() -> None:
    assert _native._load("off") is None
    assert _native._load(" OFF ") is None
    with pytest.raises(_native.NativeUnavailableError, match="'fast' is not one of auto"):
        _native._load("fast")


def test_required_without_the_extension_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> types.ModuleType:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(_native.importlib, "import_module", missing)
    assert _native._load("auto") is None
    with pytest.raises(_native.NativeUnavailableError, match="required but glasskey_native is"):
        _native._load("required")


def test_a_build_for_another_interface_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = types.ModuleType("glasskey_native")
    stale.ABI_VERSION = _native.ABI_VERSION + 1  # type: ignore[attr-defined]
    monkeypatch.setattr(_native.importlib, "import_module", lambda name: stale)
    assert _native._load("auto") is None
    with pytest.raises(_native.NativeUnavailableError, match="rebuild it with `make native`"):
        _native._load("required")


# -- known answers -----------------------------------------------------------------------------


@needs_native
def test_rfc9381_tai_examples() -> None:
    data = json.loads(vector_path("ecvrf", "rfc9381-edwards25519.json").read_text())
    tai = [v for v in data["vectors"] if v["suite"] == "ECVRF-EDWARDS25519-SHA512-TAI"]
    assert len(tai) == 3
    for v in tai:
        key = ecvrf.VrfSecretKey(bytes.fromhex(v["SK"]))
        alpha = bytes.fromhex(v["alpha"])
        assert key._native is not None
        assert key.public_key.hex() == v["PK"]
        assert key.prove(alpha).hex() == v["pi"]
        assert key.output(alpha).hex() == v["beta"]
        assert ecvrf.verify(key.public_key, bytes.fromhex(v["pi"]), alpha).hex() == v["beta"]
        assert ecvrf.proof_to_hash(bytes.fromhex(v["pi"])).hex() == v["beta"]


@needs_native
def test_akd_test_key() -> None:
    pure, native = pair(AKD_TEST_VRF_SEED)
    assert native.public_key == pure.public_key == AKD_TEST_VRF_PUBLIC
    assert native.evaluate(ALPHA) == pure.evaluate(ALPHA)


# -- proving -----------------------------------------------------------------------------------


@needs_native
@settings(max_examples=150)
@given(seeds, alphas)
def test_proofs_outputs_and_labels_are_identical(seed: bytes, alpha: bytes) -> None:
    pure, native = pair(seed)
    assert native.public_key == pure.public_key
    assert native.prove(alpha) == pure.prove(alpha)
    assert native.evaluate(alpha) == pure.evaluate(alpha)
    assert native.output(alpha) == pure.output(alpha)


@needs_native
@settings(max_examples=10)
@given(seeds, st.lists(alphas, max_size=150), st.integers(min_value=1, max_value=4))
def test_batches_are_identical_and_in_order(seed: bytes, batch: list[bytes], threads: int) -> None:
    pure, native = pair(seed)
    assert (
        native.labels(batch, threads) == pure.labels(batch) == [pure.output(a)[:32] for a in batch]
    )
    assert native.proofs(batch, threads) == pure.proofs(batch)
    assert native.evaluations(batch, threads) == pure.evaluations(batch)


@needs_native
def test_label_computer_uses_threads_not_processes() -> None:
    batch = [b"%d" % i for i in range(1500)]
    pure, native = pair(bytes(32))
    computer = LabelComputer(native, workers=2)
    try:
        assert computer.labels(batch) == pure.labels(batch)
        assert computer.evaluations(batch[:600]) == pure.evaluations(batch[:600])
        assert computer._pool is None
    finally:
        computer.close()


@needs_native
def test_batches_take_bytes_like_inputs_and_refuse_others() -> None:
    _, native = pair(bytes(32))
    assert native.labels([bytearray(b"a"), memoryview(b"b")]) == native.labels([b"a", b"b"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="VRF input must be bytes, not str"):
        native.labels(["a"])  # type: ignore[list-item]


# -- verifying ---------------------------------------------------------------------------------


@needs_native
def test_honest_proofs_and_every_single_byte_tamper() -> None:
    _, native = pair(AKD_TEST_VRF_SEED)
    proof, beta = native.evaluate(ALPHA)
    assert assert_same_verdict(AKD_TEST_VRF_PUBLIC, proof, ALPHA) == beta
    for i in range(len(proof)):
        for flip in (0x01, 0x80, 0xFF):
            tampered = bytearray(proof)
            tampered[i] ^= flip
            result = assert_same_verdict(AKD_TEST_VRF_PUBLIC, bytes(tampered), ALPHA)
            assert isinstance(result, str), f"byte {i} ^ {flip:#x} accepted"
    assert assert_same_verdict(AKD_TEST_VRF_PUBLIC, proof, ALPHA + b"!") == (
        "VRF proof failed to verify for this public key"
    )


@needs_native
@pytest.mark.parametrize("length", [0, 1, 32, 48, 79, 81, 160])
def test_wrong_lengths(length: int) -> None:
    result = assert_same_verdict(AKD_TEST_VRF_PUBLIC, bytes(length), ALPHA)
    assert result == "Invalid proof length, expected 80 bytes"
    with pytest.raises(VrfError, match="Invalid proof length"):
        ecvrf.proof_to_hash(bytes(length))


@needs_native
def test_non_canonical_and_undecodable_gammas() -> None:
    proof = ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED).prove(ALPHA)
    for bad, good in non_canonical_encodings():
        tampered = bad + proof[32:]
        assert isinstance(assert_same_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA), str)
        assert ecvrf.proof_to_hash(tampered) == ecvrf.proof_to_hash(good + proof[32:])
        with pure_python():
            assert ecvrf.proof_to_hash(tampered) == ecvrf._proof_to_hash_reference(tampered)
    for bad in (enc(2), enc(2 + ed.P), enc(7, 1)):
        tampered = bad + proof[32:]
        expected = "VRF proof: Gamma does not decompress to an edwards25519 point"
        assert assert_same_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA) == expected
        with pytest.raises(VrfError, match="Gamma does not decompress"):
            ecvrf.proof_to_hash(tampered)
    for t in small_order_points():
        tampered = ed.compress(t) + proof[32:]
        assert isinstance(assert_same_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA), str)


@needs_native
@pytest.mark.parametrize("key_torsion", [1, 2, 4, 8])
@pytest.mark.parametrize("gamma_torsion", [1, 2, 4, 8])
def test_forged_proofs_with_torsion_get_akds_verdict(key_torsion: int, gamma_torsion: int) -> None:
    """A lying server's forgeries that dalek (so akd) accepts are accepted natively too, with
    the same beta; ungrinded ones are refused by both."""
    pure, _ = pair(bytes(range(32)))
    pk = ed.compress(ed.add(point(pure.public_key), torsion()[key_torsion]))
    forged = forge(pure._x, pk, ALPHA, torsion()[gamma_torsion], max(key_torsion, gamma_torsion))
    accepted = assert_same_verdict(pk, forged, ALPHA)
    assert accepted == ecvrf.proof_to_hash(forged)
    if gamma_torsion > 1:
        gamma_t = ed.compress(ed.add(point(pure.prove(ALPHA)[:32]), torsion()[gamma_torsion]))
        naive = gamma_t + pure.prove(ALPHA)[32:]
        assert isinstance(assert_same_verdict(pure.public_key, naive, ALPHA), str)


@needs_native
def test_public_key_rules() -> None:
    for t in small_order_points():
        assert assert_same_verdict(ed.compress(t), bytes(80), ALPHA) == (
            "VRF public key is of small order"
        )
    undecodable = enc(2)
    assert assert_same_verdict(undecodable, bytes(80), ALPHA) == (
        "VRF public key does not decompress to an edwards25519 point"
    )
    for length in (0, 31, 33):
        with pytest.raises(VrfError, match=f"got {length} \\(wrong length\\)"):
            ecvrf.VrfPublicKey(bytes(length))
    # A non-canonical key (y + p) is accepted and hashed exactly as supplied.
    pure, _ = pair(bytes(range(32)))
    for bad, good in non_canonical_encodings():
        if ed.is_small_order(point(good)):
            continue
        assert isinstance(assert_same_verdict(bad, pure.prove(ALPHA), ALPHA), str)


@needs_native
@settings(max_examples=300)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=80, max_size=80), alphas)
def test_random_keys_and_proofs(pk: bytes, proof: bytes, alpha: bytes) -> None:
    assert_same_verdict(pk, proof, alpha)
    assert_same_verdict(AKD_TEST_VRF_PUBLIC, proof, alpha)


@needs_native
@settings(max_examples=200)
@given(st.binary(min_size=80, max_size=80))
def test_proof_to_hash_of_random_bytes(proof: bytes) -> None:
    def run(fn: Callable[[bytes], bytes]) -> bytes | str:
        try:
            return fn(proof)
        except VrfError as exc:
            return str(exc)

    with pure_python():
        pure = run(ecvrf.proof_to_hash)
    assert run(ecvrf.proof_to_hash) == pure
