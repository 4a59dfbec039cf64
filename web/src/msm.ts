/**
 * `a·P + b·Q` on edwards25519 for public inputs (the VRF's `V = s·H - c·Gamma`): interleaved
 * wNAF (Strauss-Shamir), as noble's `mulAddUnsafe`, but on bare BigInt coordinates. noble's
 * points allocate and range-check an object per doubling; this walk keeps the accumulator in
 * four locals, skips `T` in a doubling that another doubling follows (the doubling formula does
 * not read it), and keeps `d·T` in the tables. Same formulas as noble (add-2008-hwcd and
 * dbl-2008-hwcd with a = -1, complete on edwards25519), so every input, identity and torsion
 * points included, gives the same group element. Variable-time: public data only.
 */

import { ed25519 } from "@noble/curves/ed25519.js";

type Point = InstanceType<typeof ed25519.Point>;
const Pt = ed25519.Point;
const P = Pt.Fp.ORDER;
const D = Pt.CURVE().d;

function m(x: bigint): bigint {
  const r = x % P;
  return r < 0n ? r + P : r;
}

/** Extended coordinates with `d·T` in place of `T`, as the addition reads it. */
interface Entry { x: bigint; y: bigint; z: bigint; dt: bigint }

/** Width-w signed digits (LSB first), noble's `wnafDigits`. */
function wnaf(n: bigint, w: number): Int8Array {
  const size = 1 << w;
  const mask = BigInt(size - 1);
  const out = new Int8Array(258);
  let i = 0;
  while (n > 0n) {
    if (n & 1n) {
      let digit = Number(n & mask);
      if (digit >= size / 2) digit -= size;
      out[i] = digit;
      n -= BigInt(digit);
    }
    n >>= 1n;
    i++;
  }
  return out.subarray(0, i);
}

/** `[1P, 3P, ..., (2·count-1)P]` and their negations, via noble's point arithmetic. */
function oddMultiples(p: Point, count: number): [Entry[], Entry[]] {
  const pos: Entry[] = [];
  const neg: Entry[] = [];
  const twice = p.double();
  let q = p;
  for (let i = 0; i < count; i++) {
    pos.push({ x: q.X, y: q.Y, z: q.Z, dt: m(D * q.T) });
    neg.push({ x: m(-q.X), y: q.Y, z: q.Z, dt: m(-D * q.T) });
    q = q.add(twice);
  }
  return [pos, neg];
}

/** `a·p + b·q` for `0 <= a, b < 2^256`; `a` gets width-5 digits, `b` (often short) width 4. */
export function mulAddVartime(p: Point, a: bigint, q: Point, b: bigint): Point {
  const da = wnaf(a, 5);
  const db = wnaf(b, 4);
  const [pa, na] = oddMultiples(p, 8);
  const [pb, nb] = oddMultiples(q, 4);
  let X = 0n, Y = 1n, Z = 1n, T = 0n;
  const top = Math.max(da.length, db.length) - 1;
  const add = (e: Entry): void => {
    const A = m(X * e.x);
    const B = m(Y * e.y);
    const C = m(T * e.dt);
    const DD = m(Z * e.z);
    const E = m((X + Y) * (e.x + e.y) - A - B);
    const F = DD - C;
    const G = DD + C;
    const H = B + A;
    X = m(E * F);
    Y = m(G * H);
    T = m(E * H);
    Z = m(F * G);
  };
  for (let bit = top; bit >= 0; bit--) {
    const wa = bit < da.length ? da[bit]! : 0;
    const wb = bit < db.length ? db[bit]! : 0;
    if (bit !== top) {
      const A = m(X * X);
      const B = m(Y * Y);
      const C = m(2n * Z * Z);
      const E = m((X + Y) * (X + Y) - A - B);
      const G = B - A; // D + B with D = a·A = -A
      const F = G - C;
      const H = -A - B; // D - B
      X = m(E * F);
      Y = m(G * H);
      Z = m(F * G);
      // The next doubling does not read T; an addition, or the result, does.
      if (wa !== 0 || wb !== 0 || bit === 0) T = m(E * H);
    }
    if (wa > 0) add(pa[(wa - 1) >> 1]!);
    else if (wa < 0) add(na[(-wa - 1) >> 1]!);
    if (wb > 0) add(pb[(wb - 1) >> 1]!);
    else if (wb < 0) add(nb[(-wb - 1) >> 1]!);
  }
  if (top < 0) return Pt.ZERO;
  return new Pt(X, Y, Z, T);
}
