"""Pure-Python edwards25519 arithmetic: the reference and fallback for :mod:`glasskey.core.ecvrf`.

Why this exists although libsodium is used for speed: libsodium is *stricter* than
curve25519-dalek, the library facebook/akd verifies with. Its scalar multiplication refuses
non-canonical encodings, small-order points and points outside the prime-order subgroup, and
reports an identity result as an error. akd accepts all of those (spec section 5.7), so a
verifier that only used libsodium would reject proofs akd accepts. Whenever libsodium declines
an input, the VRF recomputes with the functions below, which follow dalek's semantics exactly:

* :func:`decompress` is dalek's ``CompressedEdwardsY::decompress``: the low 255 bits are ``y``
  and are used modulo p (``y >= p`` accepted), ``x = 0`` with the sign bit set is accepted.
* :func:`decompress_strict` is RFC 8032 section 5.1.3 decoding (used by encode_to_curve).
* :func:`compress` always produces the canonical encoding.
* :func:`mul` multiplies by the integer it is given and never reduces it modulo the group order,
  because for points with a torsion component ``k·P`` and ``(k mod q)·P`` differ.

Points are extended twisted-Edwards coordinates ``(X, Y, Z, T)`` with ``x = X/Z``, ``y = Y/Z``,
``x·y = T/Z``. The addition and doubling formulas (Hisil-Wong-Carter-Dawson 2008, ``a = -1``)
are complete on edwards25519, so no input needs special-casing. Nothing here is constant time:
it only ever handles public data (public keys, proofs, hash-to-curve candidates) or, in tests,
test keys; secret-key operations in production go through libsodium.
"""

from __future__ import annotations

from functools import cache

P = 2**255 - 19
"""The field prime."""

Q = 2**252 + 27742317777372353535851937790883648493
"""The order of the prime-order subgroup (RFC 8032's ``L``)."""

D = (-121665 * pow(121666, -1, P)) % P
_D2 = (2 * D) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
_MASK255 = (1 << 255) - 1

Point = tuple[int, int, int, int]
"""Extended coordinates ``(X, Y, Z, T)``; treat as opaque outside this module."""

IDENTITY: Point = (0, 1, 1, 0)


def _recover_x(y: int, sign: int) -> int | None:
    """The x with ``-x² + y² = 1 + d·x²·y²`` and parity ``sign``, or None if none exists.

    ``y`` must already be reduced mod p. For ``x = 0`` the sign cannot be honoured; callers
    decide whether that is an error (RFC 8032) or not (dalek).
    """
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # x = sqrt(u/v) = u·v³·(u·v⁷)^((p-5)/8), corrected by sqrt(-1) when needed (RFC 8032 5.1.3).
    v3 = v * v % P * v % P
    x = u * v3 % P * pow(u * v3 % P * v3 % P * v % P, (P - 5) // 8, P) % P
    vx2 = v * x % P * x % P
    if vx2 == u:
        pass
    elif vx2 == (-u) % P:
        x = x * SQRT_M1 % P
    else:
        return None
    if x & 1 != sign:
        x = (-x) % P
    return x


def decompress(data: bytes) -> Point | None:
    """curve25519-dalek ``decompress`` semantics (what akd applies to public keys and Gamma).

    Lenient on purpose: ``y`` is the low 255 bits taken modulo p, so the 19 non-canonical
    encodings ``y + p`` decode, and ``x = 0`` with the sign bit set decodes to the same point as
    without it. Returns None only when ``y`` is not the y-coordinate of any curve point.
    """
    if len(data) != 32:
        return None
    raw = int.from_bytes(data, "little")
    y = (raw & _MASK255) % P
    x = _recover_x(y, raw >> 255)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def decompress_strict(data: bytes) -> Point | None:
    """RFC 8032 section 5.1.3 decoding: reject ``y >= p`` and ``x = 0`` with the sign bit set."""
    if len(data) != 32:
        return None
    raw = int.from_bytes(data, "little")
    y = raw & _MASK255
    sign = raw >> 255
    if y >= P:
        return None
    x = _recover_x(y, sign)
    if x is None or (x == 0 and sign == 1):
        return None
    return (x, y, 1, x * y % P)


def compress(point: Point) -> bytes:
    """Canonical RFC 8032 encoding: ``y`` fully reduced, sign of ``x`` in bit 255."""
    x_, y_, z, _ = point
    zinv = pow(z, -1, P)
    x = x_ * zinv % P
    y = y_ * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def add(a: Point, b: Point) -> Point:
    """``a + b`` (add-2008-hwcd-3; complete, so it also doubles and handles the identity)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = t1 * _D2 % P * t2 % P
    dd = 2 * z1 * z2 % P
    e = bb - aa
    f = dd - cc
    g = dd + cc
    h = bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def double(a: Point) -> Point:
    """``2·a`` (dbl-2008-hwcd with ``a = -1``)."""
    x1, y1, z1, _ = a
    aa = x1 * x1 % P
    bb = y1 * y1 % P
    cc = 2 * z1 * z1 % P
    e = ((x1 + y1) * (x1 + y1) - aa - bb) % P
    g = bb - aa
    f = g - cc
    h = -aa - bb
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def negate(a: Point) -> Point:
    x, y, z, t = a
    return ((-x) % P, y, z, (-t) % P)


def sub(a: Point, b: Point) -> Point:
    return add(a, negate(b))


def equal(a: Point, b: Point) -> bool:
    """Projective equality (``X1·Z2 == X2·Z1`` and ``Y1·Z2 == Y2·Z1``)."""
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def is_identity(a: Point) -> bool:
    return a[0] % P == 0 and (a[1] - a[2]) % P == 0


def mul_by_cofactor(a: Point) -> Point:
    """``8·a`` by three doublings — the cofactor clearing used by encode_to_curve and the output."""
    return double(double(double(a)))


def is_small_order(a: Point) -> bool:
    """True for the eight torsion points (dalek's ``is_small_order``: ``8·a`` is the identity)."""
    return is_identity(mul_by_cofactor(a))


def mul(k: int, a: Point) -> Point:
    """``k·a`` for an integer ``k >= 0``, *not* reduced modulo Q (see the module docstring).

    Fixed 4-bit window: 15 precomputed multiples, then four doublings and one addition per
    nibble — about 4x fewer additions than double-and-add, which matters for the fallback path.
    """
    if k < 0:
        raise ValueError("scalar must be non-negative")
    if k == 0:
        return IDENTITY
    table = [IDENTITY, a]
    for _ in range(14):
        table.append(add(table[-1], a))
    result = IDENTITY
    for shift in range((k.bit_length() + 3) // 4 * 4 - 4, -4, -4):
        result = double(double(double(double(result))))
        nibble = (k >> shift) & 15
        if nibble:
            result = add(result, table[nibble])
    return result


_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
BASE: Point = (_BX, _BY, 1, _BX * _BY % P)
"""The RFC 8032 base point ``B`` (y = 4/5, x even)."""


@cache
def _base_table() -> tuple[tuple[Point, ...], ...]:
    """``[j · 16^i · B for j in 0..15] for i in 0..63``, built once on first use (~10 ms)."""
    rows: list[tuple[Point, ...]] = []
    row_base = BASE
    for _ in range(64):
        row = [IDENTITY, row_base]
        for _ in range(14):
            row.append(add(row[-1], row_base))
        rows.append(tuple(row))
        row_base = double(double(double(double(row_base))))
    return tuple(rows)


def mul_base(k: int) -> Point:
    """``k·B`` for ``0 <= k < 2^256`` using the precomputed table (64 additions, no doublings)."""
    if not 0 <= k < 1 << 256:
        raise ValueError("scalar out of range")
    table = _base_table()
    result = IDENTITY
    i = 0
    while k:
        nibble = k & 15
        if nibble:
            result = add(result, table[i][nibble])
        k >>= 4
        i += 1
    return result


__all__ = [
    "BASE",
    "IDENTITY",
    "SQRT_M1",
    "D",
    "P",
    "Point",
    "Q",
    "add",
    "compress",
    "decompress",
    "decompress_strict",
    "double",
    "equal",
    "is_identity",
    "is_small_order",
    "mul",
    "mul_base",
    "mul_by_cofactor",
    "negate",
    "sub",
]
