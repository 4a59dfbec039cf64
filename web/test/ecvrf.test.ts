import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex, toHex } from "../src/bytes.js";
import { VrfPublicKey, proofToHash, vrfVerify } from "../src/ecvrf.js";
import { VrfError } from "../src/errors.js";
import { readJson } from "./vectors.js";

interface RfcVector { suite: string; example: number; SK: string; PK: string; alpha: string; pi: string; beta: string }

const rfc = (readJson("ecvrf", "rfc9381-edwards25519.json") as { vectors: RfcVector[] }).vectors;
const tai = rfc.filter((v) => v.suite.includes("TAI"));

test("the RFC 9381 file holds three TAI examples", () => assert.equal(tai.length, 3));

for (const v of tai) {
  test(`RFC 9381 example ${v.example}: verify gives beta; the key is the SK's`, () => {
    assert.equal(toHex(ed25519.getPublicKey(fromHex(v.SK))), v.PK);
    assert.equal(toHex(vrfVerify(fromHex(v.PK), fromHex(v.pi), fromHex(v.alpha))), v.beta);
    assert.equal(toHex(proofToHash(fromHex(v.pi))), v.beta);
  });
  test(`RFC 9381 example ${v.example}: every single-bit flip of the proof fails`, () => {
    const key = new VrfPublicKey(fromHex(v.PK));
    const pi = fromHex(v.pi);
    for (let i = 0; i < pi.length; i += 7) {
      const bad = Uint8Array.from(pi);
      bad[i]! ^= 0x01;
      assert.throws(() => key.verify(bad, fromHex(v.alpha)), VrfError);
    }
  });
}

interface KtCase { name: string; input: { label: string; public_key: string; version: number }; expect: { output?: string; proof?: string; vrf_input: string }; }
const kt = readJson("keytrans", "vrf.json") as { cases: KtCase[] };

for (const c of kt.cases) {
  if (!c.expect.proof || !c.expect.output) continue;
  test(`keytrans vrf.json ${c.name}: the proof verifies and beta[0:32] is the output`, () => {
    const beta = vrfVerify(fromHex(c.input.public_key), fromHex(c.expect.proof!), fromHex(c.expect.vrf_input));
    assert.equal(toHex(beta.subarray(0, 32)), c.expect.output);
  });
}

test("dalek leniency: small-order keys refused, wrong lengths refused", () => {
  assert.throws(() => new VrfPublicKey(fromHex("01" + "00".repeat(31))), /small order/);
  assert.throws(() => new VrfPublicKey(new Uint8Array(31)), /wrong length/);
  const v = tai[0]!;
  assert.throws(() => vrfVerify(fromHex(v.PK), fromHex(v.pi).subarray(0, 79), fromHex(v.alpha)), /proof length/);
});

test("dalek leniency: s >= q is reduced, not refused (akd accepts it)", () => {
  const v = tai[1]!;
  const pi = fromHex(v.pi);
  const q = ed25519.Point.Fn.ORDER;
  let s = 0n;
  for (let i = 79; i >= 48; i--) s = (s << 8n) | BigInt(pi[i]!);
  const s2 = s + q;
  assert.ok(s2 < 1n << 256n);
  const bad = Uint8Array.from(pi);
  let t = s2;
  for (let i = 48; i < 80; i++) { bad[i] = Number(t & 0xffn); t >>= 8n; }
  assert.equal(toHex(vrfVerify(fromHex(v.PK), bad, fromHex(v.alpha))), v.beta);
});

test("dalek leniency: a key with a torsion component and its non-canonical encoding are accepted", () => {
  const p = 2n ** 255n - 19n;
  const enc = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  // y = 3 is a curve point outside the prime-order subgroup (not of small order); y + p is
  // the same point, non-canonically encoded. akd (curve25519-dalek) accepts both as keys.
  const canonical = new VrfPublicKey(enc(3n));
  const noncanonical = new VrfPublicKey(enc(3n + p));
  assert.deepEqual(noncanonical.bytes, enc(3n + p)); // hashed exactly as supplied
  assert.notDeepEqual(canonical.bytes, noncanonical.bytes);
  // y = 1 with the sign bit (x = 0): the identity, of small order: refused.
  assert.throws(() => new VrfPublicKey(enc(1n | (1n << 255n))), /small order/);
});
