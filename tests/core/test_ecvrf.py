"""glasskey.core.ecvrf: API, akd leniencies, fast path == reference path, libsodium behaviour.

The VRF has two implementations of the same function: libsodium (fast, strict) and the
pure-Python reference in ``_edwards25519`` (slow, curve25519-dalek semantics). These tests:

1. pin the libsodium behaviour the fast path depends on (what ``add`` and ``scalarmult``
   accept and refuse), so a libsodium upgrade that changes it fails loudly;
2. construct every akd leniency explicitly (non-canonical encodings, ``s >= q``, torsion in
   Gamma and in the public key, small-order keys) and check the verdict against dalek's math
   as computed by the reference — including *forged* proofs with torsion that akd accepts;
3. check with hypothesis that both paths agree on honest and on random input, and that bad
   input only ever raises VrfError.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from functools import cache
from itertools import count
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium
from nacl.exceptions import CryptoError

from glasskey.core import _edwards25519 as ed
from glasskey.core import ecvrf
from glasskey.core.errors import VerificationError, VrfError
from tests.vectors import AKD_TEST_VRF_PUBLIC, AKD_TEST_VRF_SEED

P, Q = ed.P, ed.Q
IDENTITY_BYTES = b"\x01" + bytes(31)
ALPHA = bytes.fromhex("19f9bede9b6911309b352a1b1dc7328c856093a33649ef2391c81a7636566173")
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def enc(y: int, sign: int = 0) -> bytes:
    """A raw 32-byte encoding with the given 255-bit y field and sign bit (may be invalid)."""
    return (y | (sign << 255)).to_bytes(32, "little")


def point(data: bytes) -> ed.Point:
    pt = ed.decompress(data)
    assert pt is not None
    return pt


def order(pt: ed.Point) -> int:
    """Order of a torsion point (1, 2, 4 or 8)."""
    acc, n = pt, 1
    while not ed.is_identity(acc):
        acc, n = ed.add(acc, pt), n + 1
        assert n <= 8
    return n


@cache
def torsion() -> dict[int, ed.Point]:
    """A point of each order 1, 2, 4, 8 (8 from q·P for a curve point P with full torsion)."""
    for y in count(2):
        pt = ed.decompress(enc(y))
        if pt is None:
            continue
        t = ed.mul(Q, pt)
        if order(t) == 8:
            return {8: t, 4: ed.double(t), 2: ed.double(ed.double(t)), 1: ed.IDENTITY}
    raise AssertionError("unreachable")


def small_order_points() -> list[ed.Point]:
    t8 = torsion()[8]
    return [ed.mul(i, t8) for i in range(8)]


def non_canonical_encodings() -> Iterator[tuple[bytes, bytes]]:
    """(non-canonical encoding, canonical encoding of the same point) for every such point.

    y + p fits in 255 bits for y in 0..18; x = 0 with the sign bit set for y = 1 and y = p - 1.
    """
    for y in range(19):
        for sign in (0, 1):
            pt = ed.decompress(enc(y + P, sign))
            if pt is not None:
                yield enc(y + P, sign), ed.compress(pt)
    for y in (1, P - 1):
        yield enc(y, 1), enc(y, 0)


@pytest.fixture(autouse=True)
def _pure_python_and_fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module tests the pure-Python implementation (libsodium and the reference), so the
    native extension is switched off for it (tests/core/test_native.py compares the two).
    Tests that patch the arithmetic must see it run, not a result remembered earlier."""
    monkeypatch.setattr(ecvrf, "_native", None)
    ecvrf._verified_beta.cache_clear()
    ecvrf.load_public_key.cache_clear()
    akd_key.cache_clear()


@cache
def akd_key() -> ecvrf.VrfSecretKey:
    return ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED)


def reference_verdict(pk: bytes, proof: bytes, alpha: bytes) -> bytes | str:
    """dalek semantics via the pure-Python path: beta, or the kind of rejection."""
    pk_point = ed.decompress(pk)
    if pk_point is None or ed.is_small_order(pk_point):
        return "bad key"
    if len(proof) != ecvrf.PROOF_BYTES:
        return "bad length"
    try:
        return ecvrf._verify_reference(pk, pk_point, proof, alpha)
    except VrfError:
        return "rejected"


def public_verdict(pk: bytes, proof: bytes, alpha: bytes) -> bytes | str:
    try:
        key = ecvrf.VrfPublicKey(pk)
    except VrfError:
        return "bad key"
    if len(proof) != ecvrf.PROOF_BYTES:
        with pytest.raises(VrfError, match="Invalid proof length, expected 80 bytes"):
            key.verify(proof, alpha)
        return "bad length"
    try:
        beta = key.verify(proof, alpha)
    except VrfError:
        assert_raises_vrf_error(lambda: ecvrf.verify(pk, proof, alpha))
        return "rejected"
    assert ecvrf.verify(pk, proof, alpha) == beta
    return beta


def assert_raises_vrf_error(fn: Callable[[], object]) -> None:
    with pytest.raises(VrfError):
        fn()


def loose(value: bytearray | memoryview) -> bytes:
    """Pass a bytes-like value where the API is annotated ``bytes`` (it accepts them)."""
    return cast(bytes, value)


def forge(
    x: int,
    pk: bytes,
    alpha: bytes,
    gamma_torsion: ed.Point = ed.IDENTITY,
    divisor: int = 1,
) -> bytes:
    """A prover that cheats like a malicious server could (reference arithmetic).

    Gamma = x·H + gamma_torsion, and the nonce k is ground until ``divisor`` divides c. When
    ``divisor`` is a multiple of the order of every torsion component (of Gamma and of the
    public key), every ``c·T`` term vanishes and the proof verifies under dalek's rules,
    although libsodium would refuse Gamma or the key outright.
    """
    h_point = ecvrf._encode_to_curve_reference(pk, alpha)
    h = ed.compress(h_point)
    gamma = ed.compress(ed.add(ed.mul(x, h_point), gamma_torsion))
    for k in count(1):
        u = ecvrf._lib_mul_base(k)
        v = ecvrf._lib_mul(k, h)
        c = ecvrf._challenge(pk, h, gamma, u, v)
        c_int = int.from_bytes(c, "little")
        if c_int % divisor == 0:
            return gamma + c + ((k + c_int * x) % Q).to_bytes(32, "little")
    raise AssertionError("unreachable")


# -- API ---------------------------------------------------------------------------------------


def test_constants() -> None:
    assert (ecvrf.SECRET_KEY_BYTES, ecvrf.PUBLIC_KEY_BYTES) == (32, 32)
    assert (ecvrf.PROOF_BYTES, ecvrf.OUTPUT_BYTES) == (80, 64)


def test_secret_key_basics() -> None:
    sk = akd_key()
    assert sk.public_key == AKD_TEST_VRF_PUBLIC
    assert sk.seed_bytes() == AKD_TEST_VRF_SEED
    assert ecvrf.public_key_from_seed(AKD_TEST_VRF_SEED) == AKD_TEST_VRF_PUBLIC
    # The VRF key is the Ed25519 key of the same seed.
    assert sodium.crypto_sign_seed_keypair(AKD_TEST_VRF_SEED)[0] == AKD_TEST_VRF_PUBLIC
    assert ecvrf.VrfSecretKey(loose(bytearray(AKD_TEST_VRF_SEED))).public_key == (
        AKD_TEST_VRF_PUBLIC
    )


def test_secret_key_never_revealed() -> None:
    seed = AKD_TEST_VRF_SEED
    text = repr(akd_key()) + str(akd_key())
    assert seed.hex() not in text and seed.hex().upper() not in text
    assert AKD_TEST_VRF_PUBLIC.hex() in repr(akd_key())
    for bad in (seed[:31], seed + b"\x00", b"", seed * 2):
        with pytest.raises(VrfError) as info:
            ecvrf.VrfSecretKey(bad)
        message = str(info.value)
        assert "32 bytes" in message
        assert bad.hex() not in message or bad == b""
        assert seed[:8].hex() not in message


def test_generate() -> None:
    a, b = ecvrf.VrfSecretKey.generate(), ecvrf.VrfSecretKey.generate()
    assert a.seed_bytes() != b.seed_bytes()
    assert len(a.public_key) == 32
    assert ecvrf.verify(a.public_key, a.prove(b"x"), b"x") == a.evaluate(b"x")[1]


def test_type_errors() -> None:
    sk = akd_key()
    with pytest.raises(TypeError):
        ecvrf.VrfSecretKey("00" * 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ecvrf.VrfSecretKey(32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sk.prove("alpha")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ecvrf.VrfPublicKey(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ecvrf.verify(AKD_TEST_VRF_PUBLIC, "x" * 80, b"")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ecvrf.proof_to_hash(80)  # type: ignore[arg-type]


def test_bytes_like_inputs() -> None:
    """Annotated as bytes, but bytearray/memoryview work too (converted once)."""
    sk = akd_key()
    proof, beta = sk.evaluate(ALPHA)
    assert sk.prove(loose(bytearray(ALPHA))) == proof
    assert sk.prove(loose(memoryview(ALPHA))) == proof
    key = ecvrf.VrfPublicKey(loose(bytearray(AKD_TEST_VRF_PUBLIC)))
    assert key.verify(loose(memoryview(proof)), loose(bytearray(ALPHA))) == beta
    pk_view = loose(memoryview(AKD_TEST_VRF_PUBLIC))
    assert ecvrf.verify(pk_view, loose(bytearray(proof)), ALPHA) == beta
    assert ecvrf.proof_to_hash(loose(bytearray(proof))) == beta


def test_prove_is_deterministic_and_evaluate_consistent() -> None:
    sk = akd_key()
    for alpha in (b"", b"a", ALPHA, bytes(1000)):
        proof, beta = sk.evaluate(alpha)
        assert sk.prove(alpha) == proof
        assert len(proof) == 80 and len(beta) == 64
        assert ecvrf.proof_to_hash(proof) == beta
        assert ecvrf.verify(sk.public_key, proof, alpha) == beta


def test_public_key_object() -> None:
    key = ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC)
    assert key.to_bytes() == bytes(key) == AKD_TEST_VRF_PUBLIC
    assert key == ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC)
    assert hash(key) == hash(ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC))
    assert key != ecvrf.VrfPublicKey(ecvrf.public_key_from_seed(bytes(32)))
    assert AKD_TEST_VRF_PUBLIC.hex() in repr(key)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_public_key_length(length: int) -> None:
    with pytest.raises(VrfError, match="32 bytes"):
        ecvrf.VrfPublicKey(bytes(length))
    with pytest.raises(VrfError):
        ecvrf.verify(bytes(length), bytes(80), b"")


@pytest.mark.parametrize("length", [0, 1, 32, 48, 79, 81, 160])
def test_proof_length(length: int) -> None:
    proof = akd_key().prove(ALPHA)
    bad = (proof * 2)[:length]
    calls: list[Callable[[], object]] = [
        lambda: ecvrf.verify(AKD_TEST_VRF_PUBLIC, bad, ALPHA),
        lambda: ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC).verify(bad, ALPHA),
        lambda: ecvrf.proof_to_hash(bad),
    ]
    for fn in calls:
        with pytest.raises(VrfError) as info:
            fn()
        assert str(info.value) == "Invalid proof length, expected 80 bytes"


def test_vrf_error_is_a_verification_error() -> None:
    with pytest.raises(VerificationError):
        ecvrf.verify(AKD_TEST_VRF_PUBLIC, bytes(80), ALPHA)


# -- libsodium behaviour the fast path relies on -----------------------------------------------


def test_libsodium_scalarmult_refusals() -> None:
    """Why a fallback is needed: scalarmult refuses everything dalek leniently accepts."""
    five = (5).to_bytes(32, "little")
    torsion_free = sodium.crypto_scalarmult_ed25519_base_noclamp(five)
    with_torsion = ed.compress(ed.add(point(torsion_free), torsion()[8]))
    refused = [with_torsion, IDENTITY_BYTES, enc(3)]
    refused += [ed.compress(t) for t in small_order_points()]
    refused += [bad for bad, _ in non_canonical_encodings()]
    for data in refused:
        with pytest.raises(CryptoError):
            sodium.crypto_scalarmult_ed25519_noclamp(five, data)
        assert not sodium.crypto_core_ed25519_is_valid_point(data)
    # Zero scalar and identity result are errors too (their answer is simply the identity).
    for scalar in (bytes(32), Q.to_bytes(32, "little")):
        with pytest.raises(CryptoError):
            sodium.crypto_scalarmult_ed25519_noclamp(scalar, torsion_free)
        with pytest.raises(CryptoError):
            sodium.crypto_scalarmult_ed25519_base_noclamp(scalar)
    assert ecvrf._lib_mul(0, torsion_free) == IDENTITY_BYTES
    assert ecvrf._lib_mul_base(0) == IDENTITY_BYTES
    with pytest.raises(ecvrf._Refused):
        ecvrf._lib_mul(5, with_torsion)


def test_libsodium_add_decodes_like_dalek() -> None:
    """add/sub accept every decodable encoding (torsion, small order, y >= p, x = 0 with sign
    bit) with dalek's decoding, and output canonical encodings: the basis of cofactor clearing
    and of proof_to_hash on arbitrary Gammas."""
    assert ecvrf._add_is_lenient()
    samples = [(bad, good) for bad, good in non_canonical_encodings()]
    samples += [(ed.compress(t), ed.compress(t)) for t in small_order_points()]
    for y in range(2, 60):
        pt = ed.decompress(enc(y, y & 1))
        if pt is not None:
            samples.append((enc(y, y & 1), ed.compress(pt)))
    assert len(samples) > 50
    for data, canonical in samples:
        pt = point(data)
        assert ed.compress(pt) == canonical
        assert sodium.crypto_core_ed25519_add(data, IDENTITY_BYTES) == canonical
        assert sodium.crypto_core_ed25519_add(data, data) == ed.compress(ed.double(pt))
        assert sodium.crypto_core_ed25519_sub(data, IDENTITY_BYTES) == canonical
        assert ecvrf._lib_times8(data) == ed.compress(ed.mul_by_cofactor(pt))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_libsodium_add_refuses_exactly_the_undecodable(data: bytes) -> None:
    pt = ed.decompress(data)
    if pt is None:
        with pytest.raises(CryptoError):
            sodium.crypto_core_ed25519_add(data, IDENTITY_BYTES)
        with pytest.raises(ecvrf._Refused):
            ecvrf._lib_times8(data)
    else:
        assert sodium.crypto_core_ed25519_add(data, data) == ed.compress(ed.double(pt))
        assert ecvrf._lib_times8(data) == ed.compress(ed.mul_by_cofactor(pt))


# -- reference arithmetic sanity ---------------------------------------------------------------


def test_reference_arithmetic_matches_libsodium() -> None:
    for k in (1, 2, 7, 2**128 - 1, Q - 1, int.from_bytes(os.urandom(32), "little") % Q):
        kb = k.to_bytes(32, "little")
        base = sodium.crypto_scalarmult_ed25519_base_noclamp(kb)
        assert ed.compress(ed.mul_base(k)) == base
        assert ed.compress(ed.mul(k, ed.BASE)) == base
        other = sodium.crypto_scalarmult_ed25519_base_noclamp((12345).to_bytes(32, "little"))
        assert ed.compress(ed.mul(k, point(other))) == (
            sodium.crypto_scalarmult_ed25519_noclamp(kb, other)
        )
    assert ed.is_identity(ed.mul(Q, ed.BASE))
    assert ed.mul_base(0) == ed.IDENTITY and ed.mul(0, ed.BASE) == ed.IDENTITY


def test_reference_decoding_rules() -> None:
    for bad, good in non_canonical_encodings():
        assert ed.decompress_strict(bad) is None
        assert ed.equal(point(bad), point(good))
    assert ed.decompress(enc(2)) is None  # y = 2 is not a curve y-coordinate
    assert ed.decompress(bytes(31)) is None and ed.decompress_strict(bytes(33)) is None
    for t in small_order_points():
        assert ed.is_small_order(t)
        assert ed.decompress_strict(ed.compress(t)) is not None
    assert sorted(order(t) for t in small_order_points()) == [1, 2, 4, 4, 8, 8, 8, 8]
    assert not ed.is_small_order(ed.BASE)


# -- encode_to_curve -----------------------------------------------------------------------------


def akd_interpret(t: bytes) -> ed.Point | None:
    """akd's ``interpret_hash_value_as_a_point``: an explicit reject list, then dalek decompress."""
    invalid = (
        all(b == 255 for b in t[1:31])
        and t[31] in (255, 127)
        and (256 - t[0]) % 256 in (1, 3, 4, 5, 9, 10, 13, 14, 15, 16)
    )
    return None if invalid else ed.decompress(t)


def akd_encode(candidates: list[bytes]) -> bytes | None:
    for t in candidates:
        pt = akd_interpret(t)
        if pt is not None:
            h = ed.mul_by_cofactor(pt)
            if not ed.is_identity(h):
                return ed.compress(h)
    return None


def special_candidates() -> list[bytes]:
    """Every candidate on which strict decoding and akd's decoding could differ."""
    out = [enc(y + P, sign) for y in range(19) for sign in (0, 1)]
    out += [enc(1, 1), enc(P - 1, 1), enc(1), enc(P - 1), bytes(32), enc(2)]
    out += [ed.compress(t) for t in small_order_points()]
    return out


def run_encoders(
    monkeypatch: pytest.MonkeyPatch, candidates: list[bytes]
) -> tuple[bytes | None, bytes | None]:
    monkeypatch.setattr(ecvrf, "_tai_candidates", lambda pk, alpha: iter(candidates))
    try:
        fast: bytes | None = ecvrf._encode_to_curve_fast(b"", b"")
    except VrfError:
        fast = None
    try:
        reference: bytes | None = ed.compress(ecvrf._encode_to_curve_reference(b"", b""))
    except VrfError:
        reference = None
    return fast, reference


def test_encode_to_curve_special_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-canonical, x = 0 with sign, small-order and off-curve candidates are all skipped, by
    akd's rules and by ours, and the first good candidate wins."""
    good = ed.compress(ed.add(ed.mul_base(99), torsion()[8]))  # not in the subgroup: ×8 matters
    expected = ed.compress(ed.mul_by_cofactor(point(good)))
    for bad in special_candidates():
        assert akd_encode([bad]) is None, bad.hex()
        assert run_encoders(monkeypatch, [bad, good]) == (expected, expected)
    assert akd_encode([*special_candidates(), good]) == expected
    assert run_encoders(monkeypatch, special_candidates()) == (None, None)


def test_encode_to_curve_gives_up_after_256(monkeypatch: pytest.MonkeyPatch) -> None:
    proof = akd_key().prove(ALPHA)
    monkeypatch.setattr(ecvrf, "_tai_candidates", lambda pk, alpha: iter([enc(2)] * 256))
    with pytest.raises(VrfError, match="no curve point"):
        akd_key().prove(ALPHA)
    with pytest.raises(VrfError, match="no curve point"):
        ecvrf.verify(AKD_TEST_VRF_PUBLIC, proof, ALPHA)


def test_encode_to_curve_strict_libsodium(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a future libsodium's add were strict, refused candidates go to the reference."""
    monkeypatch.setattr(ecvrf, "_add_is_lenient", lambda: False)
    good = ed.compress(ed.mul_base(99))
    with pytest.raises(ecvrf._Refused):
        run_encoders(monkeypatch, [enc(2), good])
    monkeypatch.undo()
    monkeypatch.setattr(ecvrf, "_add_is_lenient", lambda: False)
    assert ecvrf._encode_to_curve(AKD_TEST_VRF_PUBLIC, ALPHA) == akd_key()._transcript(ALPHA).h


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(special_candidates()), st.binary(min_size=32, max_size=32)),
        max_size=6,
    )
)
def test_encode_to_curve_matches_akd_model(candidates: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        expected = akd_encode(candidates)
        assert run_encoders(mp, candidates) == (expected, expected)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_encode_to_curve_fast_equals_reference(pk: bytes, alpha: bytes) -> None:
    h = ecvrf._encode_to_curve_fast(pk, alpha)
    assert h == ed.compress(ecvrf._encode_to_curve_reference(pk, alpha))
    assert sodium.crypto_core_ed25519_is_valid_point(h)


# -- leniencies (spec 5.7) -----------------------------------------------------------------------


def test_s_is_reduced_not_range_checked() -> None:
    proof, beta = akd_key().evaluate(ALPHA)
    s = int.from_bytes(proof[48:], "little")
    variants = [s + j * Q for j in range(1, 17) if s + j * Q < 2**256]
    assert len(variants) >= 14
    for s2 in variants:
        lenient = proof[:48] + s2.to_bytes(32, "little")
        assert ecvrf.verify(AKD_TEST_VRF_PUBLIC, lenient, ALPHA) == beta
        assert reference_verdict(AKD_TEST_VRF_PUBLIC, lenient, ALPHA) == beta
        assert ecvrf._verify_fast(AKD_TEST_VRF_PUBLIC, AKD_TEST_VRF_PUBLIC, lenient, ALPHA) == beta


def test_non_canonical_gamma_is_decoded_and_hashed_canonically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A valid proof cannot have a non-canonical Gamma (it would need a Gamma with y < 19, i.e.
    a discrete logarithm), so check the two things that make akd accept one: it decodes, and
    the challenge hashes its canonical re-encoding. Also proof_to_hash agrees."""
    proof = akd_key().prove(ALPHA)
    seen: list[bytes] = []
    real_challenge = ecvrf._challenge

    def spy(pk: bytes, h: bytes, gamma: bytes, u: bytes, v: bytes) -> bytes:
        seen.append(gamma)
        return real_challenge(pk, h, gamma, u, v)

    monkeypatch.setattr(ecvrf, "_challenge", spy)
    for bad, good in non_canonical_encodings():
        seen.clear()
        tampered = bad + proof[32:]
        with pytest.raises(VrfError, match="failed to verify"):
            ecvrf.verify(AKD_TEST_VRF_PUBLIC, tampered, ALPHA)
        assert seen == [good]
        assert ecvrf.proof_to_hash(tampered) == ecvrf.proof_to_hash(good + proof[32:])
        assert ecvrf.proof_to_hash(tampered) == ecvrf._proof_to_hash_reference(tampered)


def test_undecodable_gamma() -> None:
    proof = akd_key().prove(ALPHA)
    for bad in (enc(2), enc(2 + P), enc(7, 1)):
        tampered = bad + proof[32:]
        with pytest.raises(VrfError, match="Gamma"):
            ecvrf.verify(AKD_TEST_VRF_PUBLIC, tampered, ALPHA)
        with pytest.raises(VrfError, match="Gamma"):
            ecvrf.proof_to_hash(tampered)


@pytest.mark.parametrize("torsion_order", [2, 4, 8])
def test_gamma_with_torsion(torsion_order: int) -> None:
    """Adding torsion T to an honest Gamma changes the hashed Gamma (and V unless ord(T) | c),
    so it is rejected. But a prover that grinds its nonce until ord(T) | c makes a proof that
    dalek (hence akd) accepts, with the *honest* output since 8·T = 0. libsodium alone would
    refuse that Gamma; the fallback must accept it to be akd-exact."""
    sk = akd_key()
    t = torsion()[torsion_order]
    proof, beta = sk.evaluate(ALPHA)
    gamma_t = ed.compress(ed.add(point(proof[:32]), t))
    naive = gamma_t + proof[32:]
    assert reference_verdict(AKD_TEST_VRF_PUBLIC, naive, ALPHA) == "rejected"
    assert public_verdict(AKD_TEST_VRF_PUBLIC, naive, ALPHA) == "rejected"

    forged = forge(sk._x, sk.public_key, ALPHA, gamma_torsion=t, divisor=torsion_order)
    assert forged[:32] == gamma_t and forged != proof
    with pytest.raises(ecvrf._Refused):
        ecvrf._verify_fast(AKD_TEST_VRF_PUBLIC, AKD_TEST_VRF_PUBLIC, forged, ALPHA)
    assert reference_verdict(AKD_TEST_VRF_PUBLIC, forged, ALPHA) == beta
    assert public_verdict(AKD_TEST_VRF_PUBLIC, forged, ALPHA) == beta
    assert ecvrf.proof_to_hash(forged) == beta


def test_small_order_gamma_rejected() -> None:
    proof = akd_key().prove(ALPHA)
    for t in small_order_points():
        tampered = ed.compress(t) + proof[32:]
        assert reference_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA) == "rejected"
        assert public_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA) == "rejected"
        assert (
            ecvrf.proof_to_hash(tampered)
            == hashlib.sha512(b"\x03\x03" + IDENTITY_BYTES + b"\x00").digest()
        )


def test_small_order_public_keys_rejected() -> None:
    encodings = [ed.compress(t) for t in small_order_points()]
    encodings += [bad for bad, good in non_canonical_encodings() if good in encodings]
    assert len(encodings) >= 12
    for data in encodings:
        with pytest.raises(VrfError, match="small order"):
            ecvrf.VrfPublicKey(data)
        with pytest.raises(VrfError):
            ecvrf.verify(data, akd_key().prove(ALPHA), ALPHA)


def test_undecodable_public_key_rejected() -> None:
    for data in (enc(2), enc(2 + P, 1), enc(7)):
        with pytest.raises(VrfError, match="decompress"):
            ecvrf.VrfPublicKey(data)


@pytest.mark.parametrize("torsion_order", [2, 4, 8])
def test_public_key_with_torsion(torsion_order: int) -> None:
    """akd accepts a key Y' = x·B + T (not small order). Under it, the honest prover's proofs
    verify exactly when ord(T) divides c (U picks up -c·T); forged ones always do. The fast
    path refuses such a key, so every verdict must be the reference's."""
    sk = akd_key()
    t = torsion()[torsion_order]
    pk = ed.compress(ed.add(point(sk.public_key), t))
    key = ecvrf.VrfPublicKey(pk)
    assert key._fast_point is None
    accepted = rejected = 0
    for i in range(12):
        alpha = b"alpha %d" % i
        honest = ecvrf._prove_reference(sk._x, sk._nonce_key, pk, alpha)
        c = int.from_bytes(honest.c, "little")
        expected = reference_verdict(pk, honest.proof, alpha)
        assert public_verdict(pk, honest.proof, alpha) == expected
        if c % torsion_order == 0:
            assert expected == ecvrf.proof_to_hash(honest.proof)
            accepted += 1
        else:
            assert expected == "rejected"
            rejected += 1
    assert rejected > 0
    forged = forge(sk._x, pk, ALPHA, divisor=torsion_order)
    assert public_verdict(pk, forged, ALPHA) == reference_verdict(pk, forged, ALPHA)
    assert key.verify(forged, ALPHA) == ecvrf.proof_to_hash(forged)
    # Torsion in both the key and Gamma.
    both = forge(sk._x, pk, ALPHA, gamma_torsion=torsion()[8], divisor=8)
    assert key.verify(both, ALPHA) == reference_verdict(pk, both, ALPHA)


def test_non_canonical_public_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-canonical key (y + p) is accepted and hashed exactly as supplied, so it is a
    different key from its canonical form for encode_to_curve and the challenge."""
    seen: list[bytes] = []
    real_challenge = ecvrf._challenge

    def spy(pk: bytes, h: bytes, gamma: bytes, u: bytes, v: bytes) -> bytes:
        seen.append(pk)
        return real_challenge(pk, h, gamma, u, v)

    monkeypatch.setattr(ecvrf, "_challenge", spy)
    proof = akd_key().prove(ALPHA)
    usable = [(bad, good) for bad, good in non_canonical_encodings() if not is_small(good)]
    assert len(usable) == 20
    for bad, good in usable:
        key = ecvrf.VrfPublicKey(bad)
        assert key.to_bytes() == bad
        seen.clear()
        assert public_verdict(bad, proof, ALPHA) == reference_verdict(bad, proof, ALPHA)
        assert seen and set(seen) == {bad}
        assert ecvrf._encode_to_curve(bad, ALPHA) != ecvrf._encode_to_curve(good, ALPHA)


def is_small(data: bytes) -> bool:
    return ed.is_small_order(point(data))


def test_zero_challenge_and_zero_s_handled() -> None:
    proof = akd_key().prove(ALPHA)
    for tampered in (
        proof[:32] + bytes(16) + proof[48:],
        proof[:48] + bytes(32),
        proof[:48] + Q.to_bytes(32, "little"),
        proof[:32] + bytes(48),
    ):
        assert public_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA) == "rejected"
        assert reference_verdict(AKD_TEST_VRF_PUBLIC, tampered, ALPHA) == "rejected"


def test_fast_path_used_for_honest_proofs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Honest keys and proofs never touch the slow path (it would cost ~10x)."""

    def boom(*args: object) -> bytes:
        raise AssertionError("reference path used")

    sk = akd_key()
    proof, beta = sk.evaluate(ALPHA)
    monkeypatch.setattr(ecvrf, "_verify_reference", boom)
    monkeypatch.setattr(ecvrf, "_prove_reference", boom)
    monkeypatch.setattr(ecvrf, "_encode_to_curve_reference", boom)
    monkeypatch.setattr(ecvrf, "_proof_to_hash_reference", boom)
    assert ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC).verify(proof, ALPHA) == beta
    assert sk.evaluate(ALPHA) == (proof, beta)
    assert ecvrf.proof_to_hash(proof) == beta
    with pytest.raises(VrfError):  # a plain mismatch is decided on the fast path too
        ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC).verify(proof, ALPHA + b"!")


def test_every_single_bit_flip_rejected() -> None:
    proof = akd_key().prove(ALPHA)
    for bit in range(8 * len(proof)):
        flipped = bytearray(proof)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(VrfError):
            ecvrf.verify(AKD_TEST_VRF_PUBLIC, bytes(flipped), ALPHA)


# -- property tests ------------------------------------------------------------------------------

seeds = st.binary(min_size=32, max_size=32)
alphas = st.binary(max_size=100)


@SLOW
@given(seeds, alphas)
def test_prove_verify_round_trip_fast_equals_reference(seed: bytes, alpha: bytes) -> None:
    sk = ecvrf.VrfSecretKey(seed)
    assert sk.public_key == sodium.crypto_sign_seed_keypair(seed)[0]
    fast = ecvrf._prove_fast(sk._x, sk._nonce_key, sk.public_key, alpha)
    reference = ecvrf._prove_reference(sk._x, sk._nonce_key, sk.public_key, alpha)
    assert fast == reference
    proof, beta = sk.evaluate(alpha)
    assert proof == fast.proof
    assert ecvrf._verify_fast(sk.public_key, sk.public_key, proof, alpha) == beta
    assert ecvrf._verify_reference(sk.public_key, point(sk.public_key), proof, alpha) == beta
    assert ecvrf.verify(sk.public_key, proof, alpha) == beta
    assert ecvrf.proof_to_hash(proof) == beta == ecvrf._proof_to_hash_reference(proof)
    with pytest.raises(VrfError):
        ecvrf.verify(sk.public_key, proof, alpha + b"\x00")


@SLOW
@given(seeds, alphas, st.integers(min_value=0, max_value=8 * 80 - 1))
def test_single_bit_flip_rejected(seed: bytes, alpha: bytes, bit: int) -> None:
    sk = ecvrf.VrfSecretKey(seed)
    flipped = bytearray(sk.prove(alpha))
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(VrfError):
        ecvrf.verify(sk.public_key, bytes(flipped), alpha)
    assert reference_verdict(sk.public_key, bytes(flipped), alpha) == "rejected"


@SLOW
@given(st.binary(min_size=80, max_size=80), alphas)
def test_random_proofs_only_raise_vrf_error(proof: bytes, alpha: bytes) -> None:
    assert public_verdict(AKD_TEST_VRF_PUBLIC, proof, alpha) == reference_verdict(
        AKD_TEST_VRF_PUBLIC, proof, alpha
    )
    try:
        beta = ecvrf.proof_to_hash(proof)
    except VrfError:
        assert ed.decompress(proof[:32]) is None
    else:
        assert beta == ecvrf._proof_to_hash_reference(proof)


@SLOW
@given(st.binary(max_size=100), alphas)
def test_random_lengths_only_raise_vrf_error(proof: bytes, alpha: bytes) -> None:
    with pytest.raises(VrfError):
        ecvrf.verify(AKD_TEST_VRF_PUBLIC, proof, alpha)


@SLOW
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=80, max_size=80))
def test_random_public_keys(pk: bytes, proof: bytes) -> None:
    """Key acceptance is exactly akd's rule; verdicts on any key agree with the reference."""
    assert public_verdict(pk, proof, ALPHA) == reference_verdict(pk, proof, ALPHA)


@SLOW
@given(
    seeds,
    alphas,
    st.sampled_from([1, 2, 4, 8]),
    st.sampled_from([1, 2, 4, 8]),
)
def test_torsion_anywhere_fast_equals_reference(
    seed: bytes, alpha: bytes, key_torsion: int, gamma_torsion: int
) -> None:
    """Forged proofs with torsion in the key and/or Gamma: public verdict == dalek's."""
    sk = ecvrf.VrfSecretKey(seed)
    pk = ed.compress(ed.add(point(sk.public_key), torsion()[key_torsion]))
    proof = forge(sk._x, pk, alpha, torsion()[gamma_torsion], max(key_torsion, gamma_torsion))
    verdict = reference_verdict(pk, proof, alpha)
    assert verdict == ecvrf.proof_to_hash(proof)  # accepted by dalek's rules
    assert public_verdict(pk, proof, alpha) == verdict
    if key_torsion == 1:
        assert verdict == sk.evaluate(alpha)[1]  # the honest output despite torsion in Gamma


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=64))
def test_output_equals_the_beta_of_evaluate(seed: bytes, alpha: bytes) -> None:
    """The proof-less fast path used for publishing gives exactly the proven output."""
    key = ecvrf.VrfSecretKey(seed)
    proof, beta = key.evaluate(alpha)
    assert key.output(alpha) == beta == ecvrf.verify(key.public_key, proof, alpha)


def test_successful_verifications_are_remembered_failures_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC)
    proof = akd_key().prove(ALPHA)
    tampered = proof[:-1] + bytes([proof[-1] ^ 1])
    calls: list[bytes] = []
    real = ecvrf.VrfPublicKey._verify_uncached

    def counted(self: ecvrf.VrfPublicKey, p: bytes, alpha: bytes) -> bytes:
        calls.append(p)
        return real(self, p, alpha)

    monkeypatch.setattr(ecvrf.VrfPublicKey, "_verify_uncached", counted)
    for _ in range(2):
        with pytest.raises(VrfError):
            key.verify(tampered, ALPHA)
    beta = key.verify(proof, ALPHA)
    assert ecvrf.VrfPublicKey(AKD_TEST_VRF_PUBLIC).verify(bytearray(proof), ALPHA) == beta
    assert ecvrf.verify(AKD_TEST_VRF_PUBLIC, proof, ALPHA) == beta
    assert calls == [tampered, tampered, proof]  # each failure re-checked; success once
    with pytest.raises(VrfError):
        key.verify(proof, ALPHA + b"x")  # same proof, other input: verified, and refused
