/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381) verification, with the same leniency as
 * glasskey.core.ecvrf (which follows curve25519-dalek, the library facebook/akd verifies with):
 *
 * - public keys and Gamma decode like dalek's `decompress`: `y` is the low 255 bits taken
 *   mod p (non-canonical `y >= p` accepted), `x = 0` with the sign bit set accepted. That is
 *   noble's ZIP-215 decoding (`fromBytes(bytes, true)`);
 * - a public key must not be of small order; torsion components are otherwise accepted;
 * - `s` is reduced mod q, not range-checked; `c` (16 bytes) is always below q;
 * - hash-to-curve candidates decode strictly (RFC 8032), are multiplied by the cofactor, and
 *   an identity result is skipped.
 *
 * Every point inside a hash is the canonical re-encoding, except the public key, which is
 * hashed exactly as supplied. @noble/curves provides the group; the VRF is the ~60 lines here.
 */

import { mulAddUnsafe } from "@noble/curves/abstract/curve.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToBigLE, concat, equalBytes, toHex } from "./bytes.js";
import { VrfError } from "./errors.js";

type Point = InstanceType<typeof ed25519.Point>;
const Pt = ed25519.Point;
const Q = Pt.Fn.ORDER;

export const PROOF_BYTES = 80;
export const PUBLIC_KEY_BYTES = 32;

const ERR_GAMMA = "VRF proof: Gamma does not decompress to an edwards25519 point";
const ERR_MISMATCH = "VRF proof failed to verify for this public key";

function decompressLenient(data: Uint8Array): Point | null {
  try {
    return Pt.fromBytes(data, true);
  } catch {
    return null;
  }
}

function decompressStrict(data: Uint8Array): Point | null {
  try {
    return Pt.fromBytes(data, false);
  } catch {
    return null;
  }
}

function times8(p: Point): Point {
  return p.double().double().double();
}

/** encode_to_curve, try-and-increment (RFC 9381 5.4.1.1), as glasskey/akd compute it. */
function encodeToCurve(pk: Uint8Array, alpha: Uint8Array): Point {
  const prefix = concat(Uint8Array.of(0x03, 0x01), pk, alpha);
  const buf = new Uint8Array(prefix.length + 2);
  buf.set(prefix);
  for (let ctr = 0; ctr < 256; ctr++) {
    buf[prefix.length] = ctr;
    buf[prefix.length + 1] = 0;
    const candidate = sha512(buf).subarray(0, 32);
    const point = decompressStrict(candidate);
    if (point === null) continue;
    const h = times8(point);
    if (!h.is0()) return h;
  }
  throw new VrfError("encode_to_curve: no curve point found in 256 attempts");
}

function challenge(pk: Uint8Array, h: Point, gamma: Point, u: Point, v: Point): Uint8Array {
  const data = concat(
    Uint8Array.of(0x03, 0x02), pk, h.toBytes(), gamma.toBytes(), u.toBytes(), v.toBytes(),
    Uint8Array.of(0x00),
  );
  return sha512(data).subarray(0, 16);
}

function mul(p: Point, k: bigint): Point {
  return p.multiplyUnsafe(k);
}

/** `a·x - b·y` with shared doublings (Strauss-Shamir); plain products for degenerate input. */
function mulSub(a: Point, x: bigint, b: Point, y: bigint): Point {
  try {
    return mulAddUnsafe(Pt, [a, b.negate()], [x, y]);
  } catch {
    return mul(a, x).subtract(mul(b, y));
  }
}

/** A VRF public key, validated once (akd's `VRFPublicKey::try_from`). */
export class VrfPublicKey {
  readonly bytes: Uint8Array;
  private readonly point: Point;
  private readonly memo = new Map<string, Uint8Array>();

  constructor(key: Uint8Array) {
    if (key.length !== PUBLIC_KEY_BYTES) {
      throw new VrfError(`VRF public key must be 32 bytes, got ${key.length} (wrong length)`);
    }
    const point = decompressLenient(key);
    if (point === null) throw new VrfError("VRF public key does not decompress to an edwards25519 point");
    if (times8(point).is0()) throw new VrfError("VRF public key is of small order");
    this.bytes = Uint8Array.from(key);
    this.point = point;
  }

  /**
   * Verify `proof` for `alpha`; return beta (64 bytes) or throw VrfError. Successes are
   * remembered (a lookup often carries the same proof twice; a re-lookup repeats all three).
   */
  verify(proof: Uint8Array, alpha: Uint8Array): Uint8Array {
    if (proof.length !== PROOF_BYTES) throw new VrfError("Invalid proof length, expected 80 bytes");
    const memoKey = toHex(proof) + toHex(alpha);
    const hit = this.memo.get(memoKey);
    if (hit !== undefined) return hit;
    const beta = this.verifyUncached(proof, alpha);
    if (this.memo.size > 4096) this.memo.clear();
    this.memo.set(memoKey, beta);
    return beta;
  }

  private verifyUncached(proof: Uint8Array, alpha: Uint8Array): Uint8Array {
    const gamma = decompressLenient(proof.subarray(0, 32));
    if (gamma === null) throw new VrfError(ERR_GAMMA);
    const cBytes = proof.subarray(32, 48);
    const c = bytesToBigLE(cBytes);
    const s = bytesToBigLE(proof.subarray(48, 80)) % Q;
    const h = encodeToCurve(this.bytes, alpha);
    const u = mul(Pt.BASE, s).subtract(mul(this.point, c));
    const v = mulSub(h, s, gamma, c);
    if (!equalBytes(challenge(this.bytes, h, gamma, u, v), cBytes)) throw new VrfError(ERR_MISMATCH);
    return proofToHashOf(gamma);
  }
}

function proofToHashOf(gamma: Point): Uint8Array {
  return sha512(concat(Uint8Array.of(0x03, 0x03), times8(gamma).toBytes(), Uint8Array.of(0x00)));
}

const keyCache = new Map<string, VrfPublicKey>();

/** A parsed key, cached per distinct key (a client verifies every proof under one key). */
export function loadPublicKey(key: Uint8Array): VrfPublicKey {
  const id = toHex(key);
  let parsed = keyCache.get(id);
  if (parsed === undefined) {
    parsed = new VrfPublicKey(key);
    if (keyCache.size > 64) keyCache.clear();
    keyCache.set(id, parsed);
  }
  return parsed;
}

/** Verify under a key given as bytes; return beta (64 bytes) or throw VrfError. */
export function vrfVerify(publicKey: Uint8Array, proof: Uint8Array, alpha: Uint8Array): Uint8Array {
  return loadPublicKey(publicKey).verify(proof, alpha);
}

/** beta of a proof without verifying it (only for proofs already verified). */
export function proofToHash(proof: Uint8Array): Uint8Array {
  if (proof.length !== PROOF_BYTES) throw new VrfError("Invalid proof length, expected 80 bytes");
  const gamma = decompressLenient(proof.subarray(0, 32));
  if (gamma === null) throw new VrfError(ERR_GAMMA);
  return proofToHashOf(gamma);
}

/** Drop the parsed keys (and with them their memo of verified proofs). */
export function clearKeyCache(): void {
  keyCache.clear();
}
