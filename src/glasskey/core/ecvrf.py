"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381), byte-compatible with facebook/akd.

akd maps every (label, freshness, version) to a tree position through this VRF, so a client
cannot check a single lookup without it and a server cannot publish without it. Two goals pull
in different directions, and this module serves both:

* **Speed.** A directory evaluates the VRF for every update and a client verifies several
  proofs per lookup. All group arithmetic therefore goes through libsodium
  (``nacl.bindings``): a proof costs two variable-base scalar multiplications, a verification
  three, plus a handful of point additions.
* **Exactness.** akd verifies with curve25519-dalek, which is more lenient than libsodium
  (spec section 5.7): it accepts non-canonical point encodings (``y >= p``, ``x = 0`` with the
  sign bit), public keys and Gammas with a torsion component, and ``s >= q``. libsodium's
  scalar multiplication refuses such points. When it does, the computation is redone with the
  pure-Python reference arithmetic in :mod:`glasskey.core._edwards25519`, which implements
  dalek's semantics. The fast path is only ever *trusted for an answer* when libsodium
  accepted every input, in which case both libraries compute the same mathematical function.
  Honest provers never produce inputs that need the fallback; an adversary can force it, which
  costs a few milliseconds per proof, never a wrong answer.
* **Native, when installed.** With the optional ``glasskey-native`` extension
  (:mod:`glasskey.core._native`) every operation here runs on curve25519-dalek instead: the
  same function (tests/core/test_native.py compares bytes and error messages on vectors,
  random inputs and adversarial encodings), ~3x faster per call, and batches run on several
  threads. The code below is then the reference and the fallback.

Algorithm (spec sections 5.3-5.6; ``||`` is concatenation, scalars little-endian)::

    H     = encode_to_curve(PK_bytes, alpha)       # try-and-increment, strict decoding, 8·P
    Gamma = x·H;  k = SHA512(nonce_key || H) mod q
    c     = SHA512(03 02 || PK || H || Gamma || k·B || k·H || 00)[0:16]
    s     = k + c·x mod q;     proof = Gamma || c || s           (32 + 16 + 32 bytes)
    beta  = SHA512(03 03 || 8·Gamma || 00)                       (64 bytes)

Verification recomputes ``U = s·B - c·Y`` and ``V = s·H - c·Gamma`` and accepts iff the
challenge over ``(PK, H, Gamma, U, V)`` equals ``c``; every point inside a hash is the canonical
re-encoding, except ``PK`` which is hashed exactly as supplied.

libsodium behaviour this module relies on (pinned by ``tests/core/test_ecvrf.py``):

* ``crypto_scalarmult_ed25519[_base]_noclamp`` refuses a non-canonical, small-order or
  non-prime-order point, a zero scalar and an identity result (all as ``RuntimeError``); it
  clears bit 255 of the scalar, so only reduced scalars are passed.
* ``crypto_core_ed25519_add``/``_sub`` accept *any* encoding that decodes to a curve point,
  with exactly dalek's decoding (``y`` taken mod p, ``x = 0`` with sign bit accepted), and
  always output the canonical encoding. Cofactor clearing of hash-to-curve candidates (which
  are generally not in the prime-order subgroup) is therefore three doublings with ``add``.
  Because a future libsodium could become stricter, that leniency is probed once
  (:func:`_add_is_lenient`); without it, hash-to-curve falls back to the reference decoder.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import NamedTuple, TypeVar

from nacl import bindings as _sodium
from nacl.exceptions import CryptoError

from glasskey.core import _edwards25519 as _ed
from glasskey.core._native import NativePublicKey, NativeSecretKey
from glasskey.core._native import vrf as _native
from glasskey.core.errors import VrfError

SECRET_KEY_BYTES = 32
PUBLIC_KEY_BYTES = 32
PROOF_BYTES = 80
OUTPUT_BYTES = 64

_SUITE = 0x03
_Q = _ed.Q
_P = _ed.P
_MASK255 = (1 << 255) - 1
_IDENTITY = b"\x01" + bytes(31)
_CHALLENGE_BYTES = 16
_HASH_TO_CURVE_PREFIX = bytes((_SUITE, 0x01))
_CHALLENGE_PREFIX = bytes((_SUITE, 0x02))
_OUTPUT_PREFIX = bytes((_SUITE, 0x03))

_ERR_PROOF_LENGTH = f"Invalid proof length, expected {PROOF_BYTES} bytes"
_ERR_GAMMA = "VRF proof: Gamma does not decompress to an edwards25519 point"
_ERR_MISMATCH = "VRF proof failed to verify for this public key"


class _Refused(Exception):
    """libsodium declined an input (or an edge case it cannot express); use the reference path."""


def _require_bytes(value: object, what: str) -> bytes:
    """Accept bytes-like values; anything else is a programming error (TypeError)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


# -- libsodium primitives ----------------------------------------------------------------------
#
# Each wrapper turns a libsodium refusal into _Refused so callers can fall back. Scalars are
# Python ints already reduced mod q (libsodium would silently drop bit 255 otherwise).
#
# The functions are called through PyNaCl's cffi module (``nacl._sodium``) directly: PyNaCl's
# own wrappers re-check argument types and lengths and build error messages' format strings
# on every call, which cost as much as the point addition itself (a third of publish time).
# The lengths are checked here instead (the C functions read exactly 32 bytes), and the three
# doublings of ``_lib_times8`` pass libsodium's output buffers straight back in. Should that
# private module ever go away, the public wrappers are used (the same functions).

try:
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _clib
except ImportError:  # pragma: no cover - every PyNaCl release since 1.0 ships it
    _ffi = _clib = None


def _point_bytes(point: bytes) -> bytes:
    if len(point) != 32:  # pragma: no cover - every caller passes 32 bytes
        raise _Refused
    return point


if _clib is not None:
    _new = _ffi.new
    _buffer = _ffi.buffer
    _c_mul = _clib.crypto_scalarmult_ed25519_noclamp
    _c_mul_base = _clib.crypto_scalarmult_ed25519_base_noclamp
    _c_add = _clib.crypto_core_ed25519_add
    _c_sub = _clib.crypto_core_ed25519_sub

    def _lib_mul(k: int, point: bytes) -> bytes:
        """``k·point`` for ``0 <= k < q``; ``point`` must be canonical, prime-order (else
        refused)."""
        if k == 0:
            # libsodium reports a zero scalar as an error; the answer is simply the identity,
            # but then `point` was not validated, so let the caller decide (see _verify_fast).
            return _IDENTITY
        out = _new("unsigned char[32]")
        if _c_mul(out, k.to_bytes(32, "little"), _point_bytes(point)) != 0:
            raise _Refused
        result: bytes = _buffer(out)[:]
        return result

    def _lib_mul_base(k: int) -> bytes:
        """``k·B`` for ``0 <= k < q`` (libsodium refuses k = 0, whose answer is the
        identity)."""
        if k == 0:
            return _IDENTITY
        out = _new("unsigned char[32]")
        if _c_mul_base(out, k.to_bytes(32, "little")) != 0:  # pragma: no cover - 0 < k < q
            raise _Refused
        result: bytes = _buffer(out)[:]
        return result

    def _lib_sub(a: bytes, b: bytes) -> bytes:
        out = _new("unsigned char[32]")
        if _c_sub(out, _point_bytes(a), _point_bytes(b)) != 0:  # pragma: no cover
            raise _Refused
        result: bytes = _buffer(out)[:]
        return result

    def _lib_times8(point: bytes) -> bytes:
        """``8·point`` by three doublings; works for any curve point (scalarmult would refuse
        points outside the prime-order subgroup). Refused only if ``point`` does not decode."""
        p2 = _new("unsigned char[32]")
        if _c_add(p2, _point_bytes(point), point) != 0:
            raise _Refused
        p4 = _new("unsigned char[32]")
        if _c_add(p4, p2, p2) != 0:  # pragma: no cover - libsodium's own output
            raise _Refused
        if _c_add(p2, p4, p4) != 0:  # pragma: no cover - libsodium's own output
            raise _Refused
        result: bytes = _buffer(p2)[:]
        return result

else:  # pragma: no cover - see above

    def _lib_mul(k: int, point: bytes) -> bytes:
        """``k·point`` for ``0 <= k < q``; ``point`` must be canonical, prime-order (else
        refused)."""
        if k == 0:
            return _IDENTITY
        try:
            out: bytes = _sodium.crypto_scalarmult_ed25519_noclamp(k.to_bytes(32, "little"), point)
        except CryptoError as exc:
            raise _Refused from exc
        return out

    def _lib_mul_base(k: int) -> bytes:
        """``k·B`` for ``0 <= k < q`` (libsodium refuses k = 0, whose answer is the
        identity)."""
        if k == 0:
            return _IDENTITY
        try:
            out: bytes = _sodium.crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little"))
        except CryptoError as exc:
            raise _Refused from exc
        return out

    def _lib_sub(a: bytes, b: bytes) -> bytes:
        try:
            out: bytes = _sodium.crypto_core_ed25519_sub(a, b)
        except CryptoError as exc:
            raise _Refused from exc
        return out

    def _lib_times8(point: bytes) -> bytes:
        """``8·point`` by three doublings (see the fast version above)."""
        try:
            p2: bytes = _sodium.crypto_core_ed25519_add(point, point)
            p4: bytes = _sodium.crypto_core_ed25519_add(p2, p2)
            p8: bytes = _sodium.crypto_core_ed25519_add(p4, p4)
        except CryptoError as exc:
            raise _Refused from exc
        return p8


@cache
def _add_is_lenient() -> bool:
    """Whether libsodium's ``add`` decodes exactly like dalek (probed once, on first use).

    encode_to_curve relies on "add refused" meaning "not a curve point". True for the libsodium
    bundled with PyNaCl 1.6 (its ``add`` only checks that both inputs decode); if a later
    version also refused torsion or non-canonical inputs, the probe fails and hash-to-curve
    falls back to the reference decoder instead of silently skipping valid candidates.
    """
    probes = [
        (3).to_bytes(32, "little"),  # on the curve, not in the prime-order subgroup
        (3 + _P).to_bytes(32, "little"),  # the same point, non-canonical y
        (1 | 1 << 255).to_bytes(32, "little"),  # identity with x = 0 and the sign bit set
        bytes(32),  # (sqrt(-1), 0): order 4
    ]
    for probe in probes:
        point = _ed.decompress(probe)
        if point is None:  # pragma: no cover - constants above are curve points
            return False
        try:
            got = _sodium.crypto_core_ed25519_add(probe, _IDENTITY)
        except CryptoError:
            return False
        if got != _ed.compress(point):
            return False
    return True


# -- shared hashing ----------------------------------------------------------------------------


def _clamp(h: bytes) -> int:
    """RFC 8032 clamping of the first half of SHA-512(seed), as a little-endian integer."""
    b = bytearray(h[:32])
    b[0] &= 248
    b[31] &= 63
    b[31] |= 64
    return int.from_bytes(b, "little")


def _tai_candidates(pk_bytes: bytes, alpha: bytes) -> Iterator[bytes]:
    """The 32-byte try-and-increment strings for ctr = 0..255 (RFC 9381 section 5.4.1.1)."""
    prefix = hashlib.sha512(_HASH_TO_CURVE_PREFIX)
    prefix.update(pk_bytes)
    prefix.update(alpha)
    for ctr in range(256):
        h = prefix.copy()
        h.update(bytes((ctr, 0)))
        yield h.digest()[:32]


def _nonce(nonce_key: bytes, h_bytes: bytes) -> int:
    """RFC 9381 section 5.4.2.2 (RFC 8032 style): SHA-512(nonce_key || H) mod q."""
    return int.from_bytes(hashlib.sha512(nonce_key + h_bytes).digest(), "little") % _Q


def _challenge(pk_bytes: bytes, h: bytes, gamma: bytes, u: bytes, v: bytes) -> bytes:
    """The 16-byte challenge over the five points (RFC 9381 form, PK as supplied)."""
    data = b"".join((_CHALLENGE_PREFIX, pk_bytes, h, gamma, u, v, b"\x00"))
    return hashlib.sha512(data).digest()[:_CHALLENGE_BYTES]


def _beta(gamma8: bytes) -> bytes:
    """proof_to_hash from the canonical encoding of ``8·Gamma``."""
    return hashlib.sha512(_OUTPUT_PREFIX + gamma8 + b"\x00").digest()


def _no_point() -> VrfError:
    # 256 consecutive failures has probability ~2^-256; akd would overflow its u8 counter.
    return VrfError("encode_to_curve: no curve point found in 256 attempts")


# -- encode_to_curve ---------------------------------------------------------------------------


def _encode_to_curve_fast(pk_bytes: bytes, alpha: bytes) -> bytes:
    """H as a canonical encoding, using libsodium ``add`` for decoding and cofactor clearing.

    Strict RFC 8032 decoding (spec 5.3) = reject ``y >= p`` here; libsodium rejects candidates
    that are not curve points; ``x = 0`` with the sign bit set decodes to a small-order point,
    which becomes the identity after ×8 and is skipped — the same outcome as strict rejection.
    """
    lenient = _add_is_lenient()
    for t in _tai_candidates(pk_bytes, alpha):
        if int.from_bytes(t, "little") & _MASK255 >= _P:
            continue
        try:
            h = _lib_times8(t)
        except _Refused:
            if lenient:
                continue
            raise
        if h != _IDENTITY:
            return h
    raise _no_point()


def _encode_to_curve_reference(pk_bytes: bytes, alpha: bytes) -> _ed.Point:
    """Pure-Python encode_to_curve (spec 5.3), the reference for the fast version."""
    for t in _tai_candidates(pk_bytes, alpha):
        point = _ed.decompress_strict(t)
        if point is None:
            continue
        h = _ed.mul_by_cofactor(point)
        if not _ed.is_identity(h):
            return h
    raise _no_point()


def _encode_to_curve(pk_bytes: bytes, alpha: bytes) -> bytes:
    try:
        return _encode_to_curve_fast(pk_bytes, alpha)
    except _Refused:
        return _ed.compress(_encode_to_curve_reference(pk_bytes, alpha))


# -- prove -------------------------------------------------------------------------------------


class _Transcript(NamedTuple):
    """Every intermediate value of one proof (tests compare them with RFC 9381 Appendix B)."""

    h: bytes
    k: int
    gamma: bytes
    u: bytes
    v: bytes
    c: bytes
    s: int

    @property
    def proof(self) -> bytes:
        return self.gamma + self.c + self.s.to_bytes(32, "little")


def _prove_fast(x: int, nonce_key: bytes, pk: bytes, alpha: bytes) -> _Transcript:
    """Proof generation with libsodium. ``x`` is the secret scalar reduced mod q (never 0)."""
    h = _encode_to_curve_fast(pk, alpha)
    gamma = _lib_mul(x, h)
    k = _nonce(nonce_key, h)
    u = _lib_mul_base(k)
    v = _lib_mul(k, h)
    c = _challenge(pk, h, gamma, u, v)
    s = (k + int.from_bytes(c, "little") * x) % _Q
    return _Transcript(h, k, gamma, u, v, c, s)


def _prove_reference(x: int, nonce_key: bytes, pk: bytes, alpha: bytes) -> _Transcript:
    """Pure-Python proof generation (reference for tests; fallback if libsodium ever refuses)."""
    h_point = _encode_to_curve_reference(pk, alpha)
    h = _ed.compress(h_point)
    gamma = _ed.compress(_ed.mul(x, h_point))
    k = _nonce(nonce_key, h)
    u = _ed.compress(_ed.mul_base(k))
    v = _ed.compress(_ed.mul(k, h_point))
    c = _challenge(pk, h, gamma, u, v)
    s = (k + int.from_bytes(c, "little") * x) % _Q
    return _Transcript(h, k, gamma, u, v, c, s)


# -- verify ------------------------------------------------------------------------------------


def _check_proof_length(proof: bytes) -> None:
    if len(proof) != PROOF_BYTES:
        raise VrfError(_ERR_PROOF_LENGTH)


def _verify_fast(pk_bytes: bytes, pk_point: bytes, proof: bytes, alpha: bytes) -> bytes:
    """Verification with libsodium only; raises _Refused if any input needs dalek leniency.

    ``pk_point`` must be a libsodium-valid (canonical, prime-order) encoding of the key.
    A result (beta or a mismatch VrfError) is returned only when libsodium accepted Gamma,
    i.e. Gamma is canonical and in the prime-order subgroup, so its bytes are the canonical
    re-encoding the challenge needs and every product equals dalek's.
    """
    gamma = proof[:32]
    c_bytes = proof[32:48]
    c = int.from_bytes(c_bytes, "little")
    if c == 0:
        raise _Refused  # c·Gamma would not validate Gamma; let the reference decide
    s = int.from_bytes(proof[48:], "little") % _Q
    c_gamma = _lib_mul(c, gamma)  # validates Gamma (refused unless canonical and prime-order)
    h = _encode_to_curve_fast(pk_bytes, alpha)
    u = _lib_sub(_lib_mul_base(s), _lib_mul(c, pk_point))
    v = _lib_sub(_lib_mul(s, h), c_gamma)
    if _challenge(pk_bytes, h, gamma, u, v) != c_bytes:
        raise VrfError(_ERR_MISMATCH)
    return _beta(_lib_times8(gamma))


def _verify_reference(pk_bytes: bytes, pk_point: _ed.Point, proof: bytes, alpha: bytes) -> bytes:
    """Pure-Python verification with curve25519-dalek semantics (spec 5.5 and 5.7)."""
    gamma = _ed.decompress(proof[:32])
    if gamma is None:
        raise VrfError(_ERR_GAMMA)
    c_bytes = proof[32:48]
    c = int.from_bytes(c_bytes, "little")  # < 2^128 < q: already reduced
    s = int.from_bytes(proof[48:], "little") % _Q  # reduced, not range-checked (akd)
    h_point = _encode_to_curve_reference(pk_bytes, alpha)
    # c multiplies points that may carry torsion: it must not be reduced further (it is < q).
    u = _ed.sub(_ed.mul_base(s), _ed.mul(c, pk_point))
    v = _ed.sub(_ed.mul(s, h_point), _ed.mul(c, gamma))
    expected = _challenge(
        pk_bytes, _ed.compress(h_point), _ed.compress(gamma), _ed.compress(u), _ed.compress(v)
    )
    if expected != c_bytes:
        raise VrfError(_ERR_MISMATCH)
    return _beta(_ed.compress(_ed.mul_by_cofactor(gamma)))


def _proof_to_hash_reference(proof: bytes) -> bytes:
    gamma = _ed.decompress(proof[:32])
    if gamma is None:
        raise VrfError(_ERR_GAMMA)
    return _beta(_ed.compress(_ed.mul_by_cofactor(gamma)))


def proof_to_hash(proof: bytes) -> bytes:
    """The 64-byte VRF output (beta) of a proof, **without verifying it**.

    Only for proofs this process just produced or has already verified; a client must use
    :func:`verify`, which returns the same beta. Gamma is decoded with dalek's leniency and
    need not be in the prime-order subgroup (the output hashes ``8·Gamma``).
    """
    proof = _require_bytes(proof, "VRF proof")
    _check_proof_length(proof)
    if _native is not None:
        try:
            return _native.proof_to_hash(proof)
        except ValueError as exc:
            raise VrfError(str(exc)) from None
    try:
        return _beta(_lib_times8(proof[:32]))
    except _Refused:
        return _proof_to_hash_reference(proof)


class VrfPublicKey:
    """A VRF public key, parsed and validated once so repeated verifications skip that work.

    Validation is akd's (``VRFPublicKey::try_from``): 32 bytes, decompresses with dalek
    semantics (non-canonical ``y`` accepted), and not of small order. A key that also passes
    libsodium's stricter check (canonical, prime-order — every honestly generated key) is
    verified on the fast path; any other accepted key always uses the reference arithmetic.
    """

    __slots__ = ("_bytes", "_fast_point", "_native", "_point")

    def __init__(self, key: bytes) -> None:
        key = _require_bytes(key, "VRF public key")
        if len(key) != PUBLIC_KEY_BYTES:
            raise VrfError(
                f"VRF public key must be {PUBLIC_KEY_BYTES} bytes, got {len(key)} (wrong length)"
            )
        self._bytes = key
        self._point: _ed.Point | None = None
        self._fast_point: bytes | None = None
        self._native: NativePublicKey | None = None
        if _native is not None:
            try:
                self._native = _native.PublicKey(key)
            except ValueError as exc:
                raise VrfError(str(exc)) from None
            return
        if _sodium.crypto_core_ed25519_is_valid_point(key):
            self._fast_point = key
            return
        point = _ed.decompress(key)
        if point is None:
            raise VrfError("VRF public key does not decompress to an edwards25519 point")
        if _ed.is_small_order(point):
            raise VrfError("VRF public key is of small order")
        self._point = point

    def _reference_point(self) -> _ed.Point:
        if self._point is None:
            point = _ed.decompress(self._bytes)
            if point is None:  # pragma: no cover - libsodium-valid keys always decode
                raise VrfError("VRF public key does not decompress to an edwards25519 point")
            self._point = point
        return self._point

    def to_bytes(self) -> bytes:
        """The key exactly as supplied (this is what the VRF hashes)."""
        return self._bytes

    def __bytes__(self) -> bytes:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VrfPublicKey):
            return NotImplemented
        return self._bytes == other._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"VrfPublicKey({self._bytes.hex()})"

    def verify(self, proof: bytes, alpha: bytes) -> bytes:
        """Verify ``proof`` for input ``alpha``; return beta (64 bytes) or raise VrfError.

        Successful verifications are remembered (exact key, proof and input bytes; failures
        never are): a lookup proof often carries the same proof twice (existence and marker
        when the version is a power of two), and a client looking a contact up again gets
        the same three proofs until the contact's key changes. ~0.3 ms saved per repeat.
        """
        proof = _require_bytes(proof, "VRF proof")
        alpha = _require_bytes(alpha, "VRF input")
        _check_proof_length(proof)
        return _verified_beta(self, proof, alpha)

    def _verify_uncached(self, proof: bytes, alpha: bytes) -> bytes:
        if self._native is not None:
            try:
                return self._native.verify(proof, alpha)
            except ValueError as exc:
                raise VrfError(str(exc)) from None
        if self._fast_point is not None:
            try:
                return _verify_fast(self._bytes, self._fast_point, proof, alpha)
            except _Refused:
                pass
        return _verify_reference(self._bytes, self._reference_point(), proof, alpha)


@lru_cache(maxsize=4096)
def _verified_beta(key: VrfPublicKey, proof: bytes, alpha: bytes) -> bytes:
    """Memo of successful verifications (``lru_cache`` does not store raised errors)."""
    return key._verify_uncached(proof, alpha)


@lru_cache(maxsize=256)
def load_public_key(key: bytes) -> VrfPublicKey:
    """``VrfPublicKey(key)``, parsed and validated once per distinct key (a client verifies
    every proof of a directory under the same key; validation costs ~30 us)."""
    return VrfPublicKey(_require_bytes(key, "VRF public key"))


def verify(public_key: bytes, proof: bytes, alpha: bytes) -> bytes:
    """Verify a proof under a public key given as bytes; return beta or raise VrfError.

    Parsed keys are cached (a client verifies many proofs under one directory key); use
    :class:`VrfPublicKey` directly to control that yourself.
    """
    return load_public_key(_require_bytes(public_key, "VRF public key")).verify(proof, alpha)


class VrfSecretKey:
    """A VRF secret key: a 32-byte Ed25519 seed, expanded once.

    Expansion (spec 5.2): ``h = SHA-512(seed)``, secret scalar ``x = clamp(h[0:32]) mod q``
    (reducing is harmless: x only multiplies prime-order points and enters ``s`` mod q), nonce
    key ``h[32:64]``, public key ``x·B`` (= the Ed25519 public key of the seed).

    Python cannot reliably wipe memory, so the seed lives as long as this object; ``repr`` and
    error messages never include it.
    """

    __slots__ = ("_native", "_nonce_key", "_public_key", "_seed", "_x")

    def __init__(self, seed: bytes) -> None:
        seed = _require_bytes(seed, "VRF secret key")
        if len(seed) != SECRET_KEY_BYTES:
            raise VrfError(
                f"VRF secret key must be {SECRET_KEY_BYTES} bytes, got {len(seed)} (wrong length)"
            )
        h = hashlib.sha512(seed).digest()
        self._seed = seed
        # Never 0: a clamped value is a multiple of 8 in [2^254, 2^255), and q is odd with
        # 8q > 2^255, so no multiple of q is a clamped value.
        self._x = _clamp(h) % _Q
        self._nonce_key = h[32:]
        self._native: NativeSecretKey | None = None
        if _native is not None:
            self._native = _native.SecretKey(seed)
            self._public_key: bytes = self._native.public_key
        else:
            self._public_key = _lib_mul_base(self._x)

    @classmethod
    def generate(cls) -> VrfSecretKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(SECRET_KEY_BYTES))

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key (canonical encoding)."""
        return self._public_key

    def seed_bytes(self) -> bytes:
        """The raw 32-byte seed (akd derives the commitment key from it; handle with care)."""
        return self._seed

    def __repr__(self) -> str:
        return f"VrfSecretKey(public_key={self._public_key.hex()})"

    def _transcript(self, alpha: bytes) -> _Transcript:
        alpha = _require_bytes(alpha, "VRF input")
        try:
            return _prove_fast(self._x, self._nonce_key, self._public_key, alpha)
        except _Refused:  # pragma: no cover - honest inputs are always libsodium-valid
            return _prove_reference(self._x, self._nonce_key, self._public_key, alpha)

    def prove(self, alpha: bytes) -> bytes:
        """The 80-byte proof for ``alpha``: deterministic and identical to akd / RFC 9381."""
        if self._native is not None:
            return _native_call(self._native.prove, _require_bytes(alpha, "VRF input"))
        return self._transcript(alpha).proof

    def evaluate(self, alpha: bytes) -> tuple[bytes, bytes]:
        """``(proof, beta)`` in one pass (beta from the Gamma just computed, no re-parsing)."""
        if self._native is not None:
            return _native_call(self._native.evaluate, _require_bytes(alpha, "VRF input"))
        t = self._transcript(alpha)
        return t.proof, _beta(_lib_times8(t.gamma))

    def labels(self, alphas: list[bytes], threads: int = 1) -> list[bytes]:
        """``output(alpha)[:32]`` (the node label) of each alpha; natively on ``threads``
        threads without the GIL, else one after another (then ``threads`` is ignored)."""
        if self._native is not None:
            return _native_batch(self._native.labels, alphas, threads)
        return [self.output(alpha)[:32] for alpha in alphas]

    def proofs(self, alphas: list[bytes], threads: int = 1) -> list[bytes]:
        """``prove(alpha)`` of each alpha (threads as for :meth:`labels`)."""
        if self._native is not None:
            return _native_batch(self._native.proofs, alphas, threads)
        return [self.prove(alpha) for alpha in alphas]

    def evaluations(self, alphas: list[bytes], threads: int = 1) -> list[tuple[bytes, bytes]]:
        """``(proof, beta[:32])`` of each alpha (threads as for :meth:`labels`)."""
        if self._native is not None:
            return _native_batch(self._native.evaluations, alphas, threads)
        out = []
        for alpha in alphas:
            proof, beta = self.evaluate(alpha)
            out.append((proof, beta[:32]))
        return out

    def output(self, alpha: bytes) -> bytes:
        """``beta`` alone (64 bytes), without a proof: what publishing needs for leaf labels.

        ``8·Gamma = 8·(x·H) = (8x mod q)·H`` — one scalar multiplication instead of the
        three (and three doublings) of ``evaluate``; identical output.
        """
        alpha = _require_bytes(alpha, "VRF input")
        if self._native is not None:
            return _native_call(self._native.output, alpha)
        try:
            h = _encode_to_curve_fast(self._public_key, alpha)
            return _beta(_lib_mul(self._x * 8 % _Q, h))
        except _Refused:  # pragma: no cover - honest inputs are always libsodium-valid
            return self.evaluate(alpha)[1]


R = TypeVar("R")


def _native_call(method: Callable[[bytes], R], alpha: bytes) -> R:
    """One native operation; its only failure (no curve point in 256 tries, ~2^-256) keeps
    the pure-Python error type."""
    try:
        return method(alpha)
    except ValueError as exc:  # pragma: no cover - probability ~2^-256
        raise VrfError(str(exc)) from None


def _native_batch(
    method: Callable[[list[bytes], int], list[R]], alphas: list[bytes], threads: int
) -> list[R]:
    inputs = [_require_bytes(alpha, "VRF input") for alpha in alphas]
    try:
        return method(inputs, max(1, threads))
    except ValueError as exc:  # pragma: no cover - probability ~2^-256
        raise VrfError(str(exc)) from None


def public_key_from_seed(seed: bytes) -> bytes:
    """The VRF public key of a 32-byte seed (the same as its Ed25519 public key)."""
    return VrfSecretKey(seed).public_key


__all__ = [
    "OUTPUT_BYTES",
    "PROOF_BYTES",
    "PUBLIC_KEY_BYTES",
    "SECRET_KEY_BYTES",
    "VrfPublicKey",
    "VrfSecretKey",
    "proof_to_hash",
    "public_key_from_seed",
    "verify",
]
