/**
 * Signed checkpoints in glasskey's profile for the node tests, built here with real Ed25519
 * signatures: the log's note signature, its cosignature/v1 time line, and any witness lines.
 */

import { ed25519 } from "@noble/curves/ed25519.js";

import { concat, toBase64, utf8 } from "../src/bytes.js";
import { epochRootLeaf, keyId, SIG_COSIGNATURE_V1, SIG_ED25519, vkeyString } from "../src/log/note.js";
import { leafHash } from "../src/log/rfc6962.js";
import type { SignedState, Trust } from "../src/client/verify.js";

export const ORIGIN = "web.test/log";
export const LOG_SEED = new Uint8Array(32).fill(1);
export const LOG_PUB = ed25519.getPublicKey(LOG_SEED);
export const LOG_VKEY = vkeyString(ORIGIN, SIG_ED25519, LOG_PUB);
export const NOW = 1_800_000_000;

/** The AKD root of epoch 1 in the test log, and the checkpoint body of that size-1 log. */
export const AKD_ROOT = new Uint8Array(32).fill(0x5a);
export const BODY = `${ORIGIN}\n1\n${toBase64(leafHash(epochRootLeaf(1n, AKD_ROOT)))}\n`;

export const TRUST: Trust = {
  origin: ORIGIN, logPublicKey: LOG_VKEY, vrfPublicKey: new Uint8Array(32), configuration: "whatsapp_v1",
  domainLabel: null, maxPublicationDelay: null, checkpointRefresh: null,
};

function line(name: string, type: number, seed: Uint8Array, blob: Uint8Array): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId(name, type, ed25519.getPublicKey(seed)));
  return `\u2014 ${name} ${toBase64(concat(id, blob))}\n`;
}

/** A cosignature/v1 line by `name` (key `seed`) of `body` at time `at`. */
export function cosignature(name: string, seed: Uint8Array, at: number, body = BODY): string {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(at));
  const sig = ed25519.sign(utf8.encode(`cosignature/v1\ntime ${at}\n${body}`), seed);
  return line(name, SIG_COSIGNATURE_V1, seed, concat(ts, sig));
}

/** The log's own two lines on `body` (Ed25519 and its cosignature/v1 time), then `extra` lines. */
export function signedNote(body: string, logAt: number, ...extra: string[]): string {
  const sig = ed25519.sign(utf8.encode(body), LOG_SEED);
  return `${body}\n${line(ORIGIN, SIG_ED25519, LOG_SEED, sig)}${cosignature(ORIGIN, LOG_SEED, logAt, body)}${extra.join("")}`;
}

/** The note of the size-1 test log signed at `logAt`, then `extra` lines. */
export function note(logAt: number, ...extra: string[]): string {
  return signedNote(BODY, logAt, ...extra);
}

/** The signed state of epoch 1 (the newest and only leaf) under `checkpoint`. */
export function state(checkpoint: string): SignedState {
  return { epoch: 1n, rootHash: AKD_ROOT, checkpoint, treeSize: 1n, logInclusion: [], consistencyFrom: null, logConsistency: null };
}
