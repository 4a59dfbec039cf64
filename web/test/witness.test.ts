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

import { concat, toBase64, utf8 } from "../src/bytes.js";
import { GlasskeyError, UsageError } from "../src/errors.js";
import {
  clearCheckpointCache, epochRootLeaf, keyId, openWitnessed, SIG_COSIGNATURE_V1, SIG_ED25519, vkeyString, witnessedTime,
  type NoteVerifier,
} from "../src/log/note.js";
import { leafHash } from "../src/log/rfc6962.js";
import { checkPolicy, verifySignedState, type SignedState, type Trust } from "../src/client/verify.js";

const ORIGIN = "web.test/log";
const LOG_SEED = new Uint8Array(32).fill(1);
const LOG_PUB = ed25519.getPublicKey(LOG_SEED);
const LOG_VKEY = vkeyString(ORIGIN, SIG_ED25519, LOG_PUB);
const NOW = 1_800_000_000;

interface Witness { name: string; seed: Uint8Array; vkey: string }
function witness(name: string, byte: number): Witness {
  const seed = new Uint8Array(32).fill(byte);
  return { name, seed, vkey: vkeyString(name, SIG_COSIGNATURE_V1, ed25519.getPublicKey(seed)) };
}
const W1 = witness("w1.test", 11);
const W2 = witness("w2.test", 12);
const W3 = witness("w3.test", 13);

const AKD_ROOT = new Uint8Array(32).fill(0x5a);
const BODY = `${ORIGIN}\n1\n${toBase64(leafHash(epochRootLeaf(1n, AKD_ROOT)))}\n`;

function line(name: string, type: number, seed: Uint8Array, blob: Uint8Array): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId(name, type, ed25519.getPublicKey(seed)));
  return `\u2014 ${name} ${toBase64(concat(id, blob))}\n`;
}

function cosignature(name: string, seed: Uint8Array, at: number, body = BODY): string {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(at));
  const sig = ed25519.sign(utf8.encode(`cosignature/v1\ntime ${at}\n${body}`), seed);
  return line(name, SIG_COSIGNATURE_V1, seed, concat(ts, sig));
}

/** The log's own two lines (Ed25519 and its cosignature/v1 time), then `extra` lines. */
function note(logAt: number, ...extra: string[]): string {
  const sig = ed25519.sign(utf8.encode(BODY), LOG_SEED);
  return `${BODY}\n${line(ORIGIN, SIG_ED25519, LOG_SEED, sig)}${cosignature(ORIGIN, LOG_SEED, logAt)}${extra.join("")}`;
}

const TRUST: Trust = {
  origin: ORIGIN, logPublicKey: LOG_VKEY, vrfPublicKey: new Uint8Array(32), configuration: "whatsapp_v1",
  domainLabel: null, maxPublicationDelay: null, checkpointRefresh: null,
};

function state(checkpoint: string): SignedState {
  return { epoch: 1n, rootHash: AKD_ROOT, checkpoint, treeSize: 1n, logInclusion: [], consistencyFrom: null, logConsistency: null };
}

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
