/**
 * Ed25519 with WebCrypto first (src/ed25519.ts `preverifyEd25519`, src/client/preverify.ts):
 * what WebCrypto accepts is remembered, but libsodium's strict checks still decide — the
 * platform's Ed25519 (OpenSSL in Node, BoringSSL in Chromium) accepts the identity key.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";

import { bytesToBigLE, concat, utf8 } from "../src/bytes.js";
import {
  clearEd25519Cache, preverified, preverifyEd25519, verifyEd25519, webCryptoEd25519, type Ed25519Signed,
} from "../src/ed25519.js";
import { cosignatureVerifier, noteStatements, parseVkey } from "../src/log/note.js";
import { preverifySignatures } from "../src/client/preverify.js";
import { LOG_SEED, LOG_VKEY, note, NOW, TRUST } from "./notes.js";

const MESSAGE = utf8.encode("glasskey.local/log\n1\n");
const GOOD: Ed25519Signed = { publicKey: ed25519.getPublicKey(LOG_SEED), message: MESSAGE, signature: ed25519.sign(MESSAGE, LOG_SEED) };
const L = ed25519.Point.Fn.ORDER;

/** `n` as 32 little-endian bytes (a scalar or a point's y). */
function scalarBytes(n: bigint) {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

test("a signature WebCrypto accepts is remembered by its exact bytes and still verifies", async () => {
  clearEd25519Cache();
  assert.equal(await webCryptoEd25519(), true); // Node 20 has it
  await preverifyEd25519([GOOD]);
  assert.equal(preverified(GOOD.publicKey, GOOD.message, GOOD.signature), true);
  verifyEd25519(GOOD.publicKey, GOOD.message, GOOD.signature);
  const other = utf8.encode("glasskey.local/log\n2\n");
  assert.equal(preverified(GOOD.publicKey, other, GOOD.signature), false);
  assert.throws(() => verifyEd25519(GOOD.publicKey, other, GOOD.signature), { code: "invalid_signature", message: "Ed25519 signature does not verify" });
  clearEd25519Cache();
  assert.equal(preverified(GOOD.publicKey, GOOD.message, GOOD.signature), false);
});

test("the identity key that WebCrypto accepts for any message is refused, and never remembered", async () => {
  clearEd25519Cache();
  const identity = scalarBytes(1n); // y = 1: the neutral point
  const signature = Uint8Array.from(concat(identity, new Uint8Array(32))); // R = identity, s = 0
  const key = await crypto.subtle.importKey("raw", identity, { name: "Ed25519" }, false, ["verify"]);
  assert.equal(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, MESSAGE), true); // the hazard is real
  await preverifyEd25519([{ publicKey: identity, message: MESSAGE, signature }]);
  assert.equal(preverified(identity, MESSAGE, signature), false);
  assert.throws(() => verifyEd25519(identity, MESSAGE, signature), { code: "invalid_signature", message: "Ed25519 public key is not a valid curve point" });
});

test("a non-canonical s (s + L) is refused on both paths", async () => {
  clearEd25519Cache();
  const s = bytesToBigLE(GOOD.signature.subarray(32)) + L;
  const malleable = concat(GOOD.signature.subarray(0, 32), scalarBytes(s));
  await preverifyEd25519([{ ...GOOD, signature: malleable }]);
  assert.equal(preverified(GOOD.publicKey, GOOD.message, malleable), false);
  assert.throws(() => verifyEd25519(GOOD.publicKey, GOOD.message, malleable), { message: "Ed25519 signature does not verify" });
});

test("without WebCrypto nothing is remembered and noble verifies", async () => {
  clearEd25519Cache();
  const original = Object.getOwnPropertyDescriptor(globalThis, "crypto")!;
  Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
  try {
    assert.equal(await webCryptoEd25519(), false);
    await preverifyEd25519([GOOD]);
  } finally {
    Object.defineProperty(globalThis, "crypto", original);
  }
  assert.equal(preverified(GOOD.publicKey, GOOD.message, GOOD.signature), false);
  verifyEd25519(GOOD.publicKey, GOOD.message, GOOD.signature);
});

test("a response's checkpoint statements (log signature and its cosignature/v1) are preverified", async () => {
  clearEd25519Cache();
  const checkpoint = note(NOW - 5);
  const log = parseVkey(LOG_VKEY);
  const statements = noteStatements(checkpoint, [log, cosignatureVerifier(log.name, log.publicKey)]);
  assert.equal(statements.length, 2);
  assert.deepEqual(statements.map((s) => new TextDecoder().decode(s.message).split("\n")[0]), [TRUST.origin, "cosignature/v1"]);
  await preverifySignatures({ trust: TRUST, maxAge: null, auditor: null }, { checkpoint });
  assert.deepEqual(statements.map((s) => preverified(s.publicKey, s.message, s.signature)), [true, true]);
  assert.deepEqual(noteStatements("not a note", [log]), []);
});
