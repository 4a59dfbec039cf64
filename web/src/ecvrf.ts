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
 *
 * Speed: every multiplication here is variable-time (`multiplyUnsafe`, Strauss-Shamir, table
 * walks). That is safe because verification handles public data only: the key, the proof and
 * alpha; no secret goes near these functions. `s·B` uses noble's precomputed base table, `c·Y`
 * a table of the key's multiples built once per key (`KeyTable`), `s·H - c·Gamma` one
 * allocation-free Strauss-Shamir walk (msm.ts), and the five points that get encoded share
 * one field inversion.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToBigLE, concat, equalBytes, toHex } from "./bytes.js";
import { VrfError } from "./errors.js";
import { mulAddVartime } from "./msm.js";

type Point = InstanceType<typeof ed25519.Point>;
const Pt = ed25519.Point;
const Fp = Pt.Fp;
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

/** Canonical encoding of `p`, given `iz` = 1/Z (noble's `toBytes` without its own inversion). */
function encode(p: Point, iz: bigint, out: Uint8Array, at: number): void {
  const { x, y } = p.toAffine(iz);
  out.set(Fp.toBytes(y), at);
  if ((x & 1n) === 1n) out[at + 31]! |= 0x80;
}

/**
 * The challenge (RFC 9381 5.4.3: SHA-512 of `0x03 0x02 pk H Gamma U V 0x00`, first 16 bytes)
 * and beta (SHA-512 of `0x03 0x03 8·Gamma 0x00`), with one batched inversion for the five
 * encoded points instead of five.
 */
function challengeAndBeta(pk: Uint8Array, h: Point, gamma: Point, u: Point, v: Point): [Uint8Array, Uint8Array] {
  const gamma8 = times8(gamma);
  const points = [h, gamma, u, v, gamma8];
  const inverses = Fp.invertBatch(points.map((p) => p.Z));
  const data = new Uint8Array(2 + 32 + 4 * 32 + 1);
  data[0] = 0x03;
  data[1] = 0x02;
  data.set(pk, 2);
  for (let i = 0; i < 4; i++) encode(points[i]!, inverses[i]!, data, 34 + 32 * i);
  const betaInput = new Uint8Array(2 + 32 + 1);
  betaInput[0] = 0x03;
  betaInput[1] = 0x03;
  encode(gamma8, inverses[4]!, betaInput, 2);
  return [sha512(data).subarray(0, 16), sha512(betaInput)];
}

function mul(p: Point, k: bigint): Point {
  return p.multiplyUnsafe(k);
}

const WINDOW = 6;
const HALF = 1 << (WINDOW - 1);
/** 128-bit challenges in signed 6-bit digits: 22 windows (132 bits; the top digit is at most 4). */
const WINDOWS = Math.ceil(128 / WINDOW);

/**
 * `c·P` for the 16-byte challenges `c`, from a table built once per key: for every window
 * `w`, the multiples `k·2^(6w)·P`, `k = 1..32`; a multiplication is ~22 additions and no
 * doublings (instead of 128 doublings and ~26 additions). noble's own `precompute(6)` table
 * covers 253-bit scalars with its constant-time kernel (44 additions, half of them for the
 * zero windows of a 128-bit `c`), so the key gets this narrower variable-time one.
 * Built with 704 additions (~3 ms on the loaded dev machine); kept for the page's lifetime,
 * like noble's base table.
 */
export class KeyTable {
  private readonly table: Point[] = [];

  constructor(point: Point) {
    let base = point;
    for (let w = 0; w < WINDOWS; w++) {
      let acc = base;
      for (let k = 0; k < HALF; k++) {
        this.table.push(acc);
        acc = acc.add(base);
      }
      base = this.table[this.table.length - 1]!.double();
    }
  }

  /** `c·P` for `0 <= c < 2^128`, variable time (public data only). */
  times(c: bigint): Point {
    let acc = Pt.ZERO;
    let n = c;
    for (let w = 0; w < WINDOWS && n > 0n; w++) {
      let digit = Number(n & 63n);
      n >>= 6n;
      if (digit > HALF) {
        digit -= 2 * HALF;
        n += 1n;
      }
      if (digit > 0) acc = acc.add(this.table[w * HALF + digit - 1]!);
      else if (digit < 0) acc = acc.subtract(this.table[w * HALF - digit - 1]!);
    }
    return acc;
  }
}

/** `map[id]`, made and stored when missing; the map is emptied once it holds `limit` entries. */
function cached<V>(map: Map<string, V>, id: string, limit: number, make: () => V): V {
  let value = map.get(id);
  if (value === undefined) {
    value = make();
    if (map.size >= limit) map.clear();
    map.set(id, value);
  }
  return value;
}

const keyTables = new Map<string, KeyTable>();

/** The table of a key's multiples; clearKeyCache keeps it (it depends on the key alone). */
function keyTable(id: string, point: Point): KeyTable {
  return cached(keyTables, id, 16, () => new KeyTable(point));
}

/** A VRF public key, validated once (akd's `VRFPublicKey::try_from`). */
export class VrfPublicKey {
  readonly bytes: Uint8Array;
  private readonly id: string;
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
    this.id = toHex(key);
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
    const u = mul(Pt.BASE, s).subtract(keyTable(this.id, this.point).times(c));
    const v = mulAddVartime(h, s, gamma.negate(), c);
    const [challenge, beta] = challengeAndBeta(this.bytes, h, gamma, u, v);
    if (!equalBytes(challenge, cBytes)) throw new VrfError(ERR_MISMATCH);
    return beta;
  }
}

function proofToHashOf(gamma: Point): Uint8Array {
  return sha512(concat(Uint8Array.of(0x03, 0x03), times8(gamma).toBytes(), Uint8Array.of(0x00)));
}

const keyCache = new Map<string, VrfPublicKey>();

/** A parsed key, cached per distinct key (a client verifies every proof under one key). */
export function loadPublicKey(key: Uint8Array): VrfPublicKey {
  return cached(keyCache, toHex(key), 64, () => new VrfPublicKey(key));
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

/**
 * Drop the parsed keys (and with them their memo of verified proofs). The tables of the keys'
 * multiples stay: they depend on the key alone, like noble's base-point table, so a "cold"
 * verification after this still skips the one-time ~3 ms table build of a pinned key.
 */
export function clearKeyCache(): void {
  keyCache.clear();
}
