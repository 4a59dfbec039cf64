/**
 * Witness policy (glasskey.client.VerificationPolicy witnesses / witness_threshold): pinned
 * cosignature/v1 keys, a threshold k, `unwitnessed_head` below it, freshness from the k-th
 * newest witness timestamp. The checkpoints are built here with real Ed25519 signatures in
 * glasskey's profile (log signature, log cosignature/v1, witness cosignatures); the
 * cross-language differential (tests/web/test_differential.py) runs the same rules against
 * the Python client on a real directory's notes.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";

import { GlasskeyError, UsageError } from "../src/errors.js";
import { clearCheckpointCache, openWitnessed, SIG_COSIGNATURE_V1, vkeyString, witnessedTime, type NoteVerifier } from "../src/log/note.js";
import { checkPolicy, verifySignedState } from "../src/client/verify.js";
import { BODY, cosignature, LOG_PUB, LOG_VKEY, note, NOW, ORIGIN, state, TRUST } from "./notes.js";

interface Witness { name: string; seed: Uint8Array; vkey: string }
function witness(name: string, byte: number): Witness {
  const seed = new Uint8Array(32).fill(byte);
  return { name, seed, vkey: vkeyString(name, SIG_COSIGNATURE_V1, ed25519.getPublicKey(seed)) };
}
const W1 = witness("w1.test", 11);
const W2 = witness("w2.test", 12);
const W3 = witness("w3.test", 13);

/** "ok" or the alert code of verifying `checkpoint` under the witness policy. */
function verdict(checkpoint: string, witnesses: string[], k: number, maxAge: number | null = 600): string {
  clearCheckpointCache();
  try {
    checkPolicy({ trust: TRUST, maxAge, auditor: null, witnesses, witnessThreshold: k });
    verifySignedState(TRUST, state(checkpoint), null, maxAge, NOW, witnesses, k);
    return "ok";
  } catch (err) {
    if (err instanceof GlasskeyError) return err.code;
    throw err;
  }
}

test("k of n pinned witnesses: ok at k, unwitnessed_head below, unpinned and repeated lines do not count", () => {
  const two = note(NOW - 5, cosignature(W1.name, W1.seed, NOW - 10), cosignature(W2.name, W2.seed, NOW - 20));
  assert.equal(verdict(two, [W1.vkey, W2.vkey], 2), "ok");
  assert.equal(verdict(two, [W1.vkey, W2.vkey, W3.vkey], 2), "ok");
  assert.equal(verdict(two, [W1.vkey, W2.vkey, W3.vkey], 3), "unwitnessed_head");
  assert.equal(verdict(two, [W3.vkey], 1), "unwitnessed_head");
  assert.equal(verdict(two, [W3.vkey], 0), "ok");
  const repeated = note(NOW - 5, cosignature(W1.name, W1.seed, NOW - 10), cosignature(W1.name, W1.seed, NOW - 11));
  assert.equal(verdict(repeated, [W1.vkey, W2.vkey], 2), "unwitnessed_head");
  assert.equal(verdict(repeated, [W1.vkey, W2.vkey], 1), "ok");
  assert.equal(verdict(note(NOW - 5), [W1.vkey], 1), "unwitnessed_head");
  assert.equal(verdict(note(NOW - 5), [], 0), "ok");
});

test("a pinned witness's bad cosignature rejects the note even at k = 0; an unpinned one is ignored", () => {
  const other = cosignature(W1.name, W1.seed, NOW - 10, BODY.replace("\n1\n", "\n2\n")); // signs another text
  assert.equal(verdict(note(NOW - 5, other), [W1.vkey], 0), "invalid_signature");
  assert.equal(verdict(note(NOW - 5, other), [W1.vkey], 1), "invalid_signature");
  assert.equal(verdict(note(NOW - 5, other), [W2.vkey], 0), "ok");
  const bad = cosignature(W2.name, W2.seed, NOW - 10).replace(/.(.)\n$/, (_m, c: string) => `${c === "A" ? "B" : "A"}${c}\n`);
  assert.equal(verdict(note(NOW - 5, bad), [W2.vkey], 1), "invalid_signature");
});

test("freshness counts from the k-th newest witness time, not the log's", () => {
  const cp = note(NOW - 5, cosignature(W1.name, W1.seed, NOW - 100), cosignature(W2.name, W2.seed, NOW - 900));
  assert.equal(verdict(cp, [W1.vkey, W2.vkey], 0, 600), "ok"); // k = 0: the log's own time (5 s)
  assert.equal(verdict(cp, [W1.vkey, W2.vkey], 1, 600), "ok"); // newest witness: 100 s
  assert.equal(verdict(cp, [W1.vkey, W2.vkey], 2, 600), "stale_head"); // 2nd newest: 900 s
  assert.equal(verdict(cp, [W1.vkey, W2.vkey], 2, 1000), "ok");
  assert.equal(verdict(cp, [W1.vkey, W2.vkey], 2, null), "ok");
  // An old head the log re-signs "now": one old witness cosignature does not make it fresh.
  const replay = note(NOW, cosignature(W1.name, W1.seed, NOW - 7200));
  assert.equal(verdict(replay, [W1.vkey], 1, 600), "stale_head");
  assert.equal(verdict(replay, [W1.vkey], 0, 600), "ok");
});

test("openWitnessed reports the cosigners and the k-th newest time", () => {
  const cp = note(NOW - 5, cosignature(W2.name, W2.seed, NOW - 30), cosignature(W1.name, W1.seed, NOW - 10));
  const opened = openWitnessed(cp, ORIGIN, LOG_VKEY, [W1.vkey, W2.vkey], 2);
  assert.deepEqual(opened.witnesses, ["w2.test", "w1.test"]);
  assert.equal(opened.witnessedAt, NOW - 30);
  assert.equal(openWitnessed(cp, ORIGIN, LOG_VKEY, [W1.vkey, W2.vkey], 1).witnessedAt, NOW - 10);
  assert.equal(openWitnessed(cp, ORIGIN, LOG_VKEY, [W1.vkey, W2.vkey], 0).witnessedAt, null);
  assert.equal(openWitnessed(cp, ORIGIN, LOG_VKEY, [W3.vkey], 1).witnessedAt, null);
  const v = (ts: bigint | null) => ({ verifier: {} as NoteVerifier, timestamp: ts });
  assert.equal(witnessedTime([v(5n), v(9n), v(7n)], 2), 7);
  assert.equal(witnessedTime([v(5n), v(null)], 2), null);
  assert.equal(witnessedTime([v(5n)], 0), null);
});

test("the policy refuses witness keys Python refuses (UsageError), and the log key as a witness", () => {
  const usage = (witnesses: string[], k: number) =>
    assert.throws(() => checkPolicy({ trust: null, maxAge: null, auditor: null, witnesses, witnessThreshold: k }), UsageError);
  usage([LOG_VKEY], 1); // a type 0x01 key is not a witness key
  usage([W1.vkey], 2);
  usage([W1.vkey], -1);
  usage([W1.vkey, W1.vkey], 1);
  usage(["not a key"], 0);
  usage([W1.vkey.slice(0, -2) + "AA"], 0);
  checkPolicy({ trust: null, maxAge: null, auditor: null, witnesses: [` ${W1.vkey}\n`], witnessThreshold: 1 });
  const logAsWitness = vkeyString(ORIGIN, SIG_COSIGNATURE_V1, LOG_PUB);
  assert.equal(verdict(note(NOW - 5), [logAsWitness], 1), "usage");
});
