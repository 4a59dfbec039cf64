/**
 * C2SP signed notes and glasskey's checkpoint profile (glasskey.log.note, .checkpoint,
 * .profile): strict parsing, key IDs, vkeys, Ed25519 (type 0x01) signatures and
 * cosignature/v1 (type 0x04) timestamped cosignatures. Same rules as the Python side:
 * unknown signatures are ignored, a known key's bad signature rejects the note, at least one
 * known signature must verify.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToBigBE, concat, fromBase64Canonical, toBase64, utf8 } from "../bytes.js";
import { MalformedError, SignatureError, UsageError } from "../errors.js";
import { verifyEd25519, type Ed25519Signed } from "../ed25519.js";
import { HASH_SIZE } from "./rfc6962.js";

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
const MAX_NOTE_SIZE = 1 << 20;
const MAX_SIGNATURES = 100;
const SIG_PREFIX = "\u2014 ";
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const MAX_TREE_SIZE = (1n << 64n) - 1n;

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

// Python's str.isspace() set (Unicode White_Space plus the ASCII separators 0x1c-0x1f).
const SPACE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

export function isValidKeyName(name: string): boolean {
  if (!name || name.includes("+") || SPACE.test(name)) return false;
  for (const ch of name) if (ch.charCodeAt(0) < 0x20) return false;
  return true;
}

export function keyId(name: string, sigType: number, publicKey: Uint8Array): number {
  const digest = sha256(concat(utf8.encode(name), Uint8Array.of(0x0a, sigType), publicKey));
  return Number(bytesToBigBE(digest.subarray(0, 4)));
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

function wellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function checkText(text: string): void {
  if (!text) throw new MalformedError("note text is empty");
  if (!text.endsWith("\n")) throw new MalformedError("note text does not end with a newline");
  if (text.endsWith("\n\n") || text === "\n") throw new MalformedError("note text ends with an empty line");
  if (hasControl(text)) throw new MalformedError("note contains a control character");
}

function signatureFromLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw new MalformedError("note signature line does not start with an em dash and space");
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) throw new MalformedError("note signature line has no space between name and signature");
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw new MalformedError("note signature has an invalid key name");
  const blob = fromBase64Canonical(rest.slice(space + 1), `signature of ${name}`);
  if (blob.length < 5) throw new MalformedError(`signature of ${name} is shorter than key ID + 1`);
  return { name, keyId: Number(bytesToBigBE(blob.subarray(0, 4))), signature: blob.slice(4) };
}

/** Parse a signed note strictly; MalformedError with the reason. */
export function parseNote(text: string): Note {
  if (text.length > MAX_NOTE_SIZE) throw new MalformedError("note is longer than the size limit");
  if (!wellFormed(text)) throw new MalformedError("note is not valid UTF-8 (lone surrogate)");
  if (hasControl(text)) throw new MalformedError("note contains a control character");
  if (!text.endsWith("\n")) throw new MalformedError("note does not end with a newline");
  const split = text.lastIndexOf("\n\n");
  if (split < 0) throw new MalformedError("note has no blank line before its signatures");
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (!block) throw new MalformedError("note has no signature lines after its last blank line");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new MalformedError("note has too many signatures");
  const signatures = lines.map(signatureFromLine);
  checkText(body);
  return { text: body, signatures };
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
}

export function ed25519Verifier(name: string, publicKey: Uint8Array): NoteVerifier {
  return { name, publicKey, type: SIG_ED25519, keyId: keyId(name, SIG_ED25519, publicKey) };
}

export function cosignatureVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  return { name, publicKey, type: SIG_COSIGNATURE_V1, keyId: keyId(name, SIG_COSIGNATURE_V1, publicKey) };
}

export function vkeyString(name: string, sigType: number, publicKey: Uint8Array): string {
  const id = keyId(name, sigType, publicKey).toString(16).padStart(8, "0");
  const b64 = toBase64(concat(Uint8Array.of(sigType), publicKey));
  return `${name}+${id}+${b64}`;
}

/** Parse a type 0x01 or 0x04 verifier key and check its key ID. */
export function parseVkey(vkey: string): NoteVerifier {
  const trimmed = vkey.trim();
  const first = trimmed.indexOf("+");
  const second = first < 0 ? -1 : trimmed.indexOf("+", first + 1);
  if (second < 0) throw new MalformedError("verifier key is not <name>+<hex key ID>+<base64 key>");
  const name = trimmed.slice(0, first);
  const hexId = trimmed.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new MalformedError("verifier key has an invalid name");
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new MalformedError("verifier key ID is not 8 lowercase hex digits");
  const blob = fromBase64Canonical(trimmed.slice(second + 1), "verifier key");
  if (blob.length < 2) throw new MalformedError("verifier key has no key bytes after its type");
  const type = blob[0]!;
  const publicKey = blob.slice(1);
  if (parseInt(hexId, 16) !== keyId(name, type, publicKey)) throw new MalformedError("verifier key ID does not match its name and key");
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) throw new UsageError(`verifier key type ${type} is not supported`);
  if (publicKey.length !== 32) throw new MalformedError("verifier key does not hold a 32-byte Ed25519 key");
  return { name, publicKey, type, keyId: keyId(name, type, publicKey) };
}

function cosignatureTimestamp(signature: Uint8Array): bigint {
  if (signature.length !== 72) throw new SignatureError(`a cosignature/v1 is 72 bytes, got ${signature.length}`);
  const ts = bytesToBigBE(signature.subarray(0, 8));
  if (ts > MAX_TIMESTAMP) throw new SignatureError("cosignature timestamp exceeds 2^63-1");
  return ts;
}

/** What `v`'s note signature line signs: the note text, or the cosignature/v1 statement. */
function signedBy(v: NoteVerifier, text: Uint8Array, signature: Uint8Array): { signed: Ed25519Signed; timestamp: bigint | null } {
  if (v.type === SIG_ED25519) return { signed: { publicKey: v.publicKey, message: text, signature }, timestamp: null };
  const ts = cosignatureTimestamp(signature);
  const message = concat(utf8.encode(`cosignature/v1\ntime ${ts}\n`), text);
  return { signed: { publicKey: v.publicKey, message, signature: signature.subarray(8) }, timestamp: ts };
}

function verifyOne(v: NoteVerifier, text: Uint8Array, signature: Uint8Array): bigint | null {
  const { signed, timestamp } = signedBy(v, text, signature);
  verifyEd25519(signed.publicKey, signed.message, signed.signature);
  return timestamp;
}

/** The note's signature lines by one of `verifiers` (same name and key ID), with that key. */
function* byKnownKeys(note: Note, verifiers: readonly NoteVerifier[]): Generator<[NoteSignature, NoteVerifier]> {
  for (const sig of note.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (v !== undefined) yield [sig, v];
  }
}

/**
 * The Ed25519 statements of `noteText`'s lines by `verifiers` (for `preverifyEd25519`);
 * none for a note that does not parse, lines that are not well-formed are skipped: the
 * synchronous verification judges them.
 */
export function noteStatements(noteText: string, verifiers: readonly NoteVerifier[]): Ed25519Signed[] {
  let note: Note;
  try {
    note = parseNote(noteText);
  } catch {
    return [];
  }
  const text = utf8.encode(note.text);
  const out: Ed25519Signed[] = [];
  for (const [sig, v] of byKnownKeys(note, verifiers)) {
    try {
      out.push(signedBy(v, text, sig.signature).signed);
    } catch {
      // a malformed cosignature: verifySignatures says so
    }
  }
  return out;
}

export interface VerifiedSignature {
  readonly verifier: NoteVerifier;
  readonly timestamp: bigint | null;
}

/** The signatures by known keys, all checked (a bad one throws); possibly none. */
export function verifySignatures(note: Note, verifiers: readonly NoteVerifier[]): VerifiedSignature[] {
  const text = utf8.encode(note.text);
  const out: VerifiedSignature[] = [];
  for (const [sig, v] of byKnownKeys(note, verifiers)) {
    try {
      out.push({ verifier: v, timestamp: verifyOne(v, text, sig.signature) });
    } catch (err) {
      if (err instanceof SignatureError) {
        throw new SignatureError(`note signature by ${sig.name}+${sig.keyId.toString(16).padStart(8, "0")} does not verify (${err.message})`);
      }
      throw err;
    }
  }
  return out;
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

/** Parse a checkpoint body (C2SP tlog-checkpoint) strictly. */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new MalformedError("checkpoint body does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new MalformedError(`checkpoint body has ${lines.length} lines, needs at least 3`);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin) throw new MalformedError("checkpoint origin line is empty");
  if (hasControl(text)) throw new MalformedError("checkpoint body contains a control character");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new MalformedError("checkpoint size is not a decimal without leading zeros");
  const size = BigInt(sizeText);
  if (size > MAX_TREE_SIZE) throw new MalformedError("checkpoint size does not fit in 64 bits");
  const root = fromBase64Canonical(rootText, "checkpoint root hash");
  if (root.length !== HASH_SIZE) throw new MalformedError(`checkpoint root hash is ${root.length} bytes, not ${HASH_SIZE}`);
  extensions.forEach((line, i) => {
    if (!line) throw new MalformedError(`checkpoint extension line ${i + 1} is empty`);
  });
  return { origin, size, root, extensions };
}

export interface OpenedCheckpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /** Newest signed time (Unix seconds) among verified cosignatures, or null. */
  readonly timestamp: number | null;
}

/** Generic C2SP checkpoint opening: log keys, expected origin, optional witness quorum. */
export function openCheckpoint(
  text: string, verifiers: readonly NoteVerifier[], origin: string | null,
  cosigners: readonly NoteVerifier[] = [], quorum = 0,
): { checkpoint: Checkpoint; cosignatures: VerifiedSignature[] } {
  const note = parseNote(text);
  const checkpoint = parseCheckpointBody(note.text);
  if (!verifiers.length) throw new UsageError("no verifier keys given");
  const verified = verifySignatures(note, verifiers);
  if (!verified.length) throw new SignatureError("note has no signature from a known key");
  if (origin !== null && checkpoint.origin !== origin) {
    throw new SignatureError(`checkpoint is for log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`);
  }
  const witnesses = cosigners.filter((c) => !verifiers.some((v) => v.name === c.name && v.keyId === c.keyId));
  const distinct = new Map<string, VerifiedSignature>();
  for (const sig of verifySignatures(note, witnesses)) {
    const slot = `${sig.verifier.name}+${sig.verifier.keyId}`;
    if (!distinct.has(slot)) distinct.set(slot, sig);
  }
  if (distinct.size < quorum) throw new SignatureError(`checkpoint has ${distinct.size} valid cosignatures, quorum is ${quorum}`);
  return { checkpoint, cosignatures: [...distinct.values()] };
}

const opened = new Map<string, OpenedCheckpoint>();

/**
 * glasskey's profile (glasskey.log.profile.open_checkpoint): the note must be signed by the
 * pinned log key (type 0x01, named `origin`) for `origin`; the signing time is the newest
 * cosignature/v1 by the same key. Successful openings are remembered by their exact text.
 */
export function openProfileCheckpoint(noteText: string, origin: string, vkey: string): OpenedCheckpoint {
  const memo = `${origin}\u0000${vkey}\u0000${noteText}`;
  const hit = opened.get(memo);
  if (hit !== undefined) return hit;
  let verifier: NoteVerifier;
  try {
    verifier = parseVkey(vkey);
  } catch (err) {
    throw new SignatureError(`pinned log key is unusable: ${(err as Error).message}`);
  }
  if (verifier.type !== SIG_ED25519) throw new SignatureError("pinned log key must be an Ed25519 (type 0x01) note key");
  if (verifier.name !== origin) throw new SignatureError(`pinned log key is named ${verifier.name}, not ${origin}`);
  const cosigner = cosignatureVerifier(verifier.name, verifier.publicKey);
  const { checkpoint, cosignatures } = openCheckpoint(noteText, [verifier], origin, [cosigner], 0);
  const stamps = cosignatures.map((s) => s.timestamp).filter((t): t is bigint => t !== null);
  const timestamp = stamps.length ? Number(stamps.reduce((a, b) => (a > b ? a : b))) : null;
  const result = { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root, timestamp };
  if (opened.size > 64) opened.clear();
  opened.set(memo, result);
  return result;
}

/** A checkpoint opened under the profile and counted against pinned witness keys. */
export interface WitnessedCheckpoint {
  readonly checkpoint: OpenedCheckpoint;
  /** Names of the pinned witnesses whose cosignature verified, each once. */
  readonly witnesses: readonly string[];
  /** The `threshold`-th newest of their timestamps (null below threshold, or threshold 0). */
  readonly witnessedAt: number | null;
}

/**
 * The newest time at which `threshold` distinct witnesses had all cosigned: the
 * `threshold`-th newest cosignature timestamp (glasskey.log.witness.witnessed_time). Why the
 * k-th newest: a witness cosigns only heads consistent with, and not older than, what it
 * cosigned before, so its time says "at T this was the newest head I knew"; the log cannot
 * make an old head look fresh without k witnesses' help.
 */
export function witnessedTime(cosignatures: readonly VerifiedSignature[], threshold: number): number | null {
  if (threshold <= 0) return null;
  const stamps = cosignatures.map((s) => s.timestamp).filter((t): t is bigint => t !== null).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return stamps.length >= threshold ? Number(stamps[threshold - 1]!) : null;
}

/** A witness verifier key: only cosignature/v1 (type 0x04); a 0x01 key is a UsageError. */
export function parseWitnessVkey(vkey: string): NoteVerifier {
  const verifier = parseVkey(vkey);
  if (verifier.type !== SIG_COSIGNATURE_V1) {
    throw new UsageError(`witness key ${JSON.stringify(verifier.name)} is a type 0x01 key; witness keys are cosignature/v1 (type 0x04) verifier keys`);
  }
  return verifier;
}

const witnessedMemo = new Map<string, WitnessedCheckpoint>();

/**
 * `openProfileCheckpoint` plus the pinned witnesses' cosignatures, counted
 * (glasskey.log.profile.open_witnessed). Cosignatures by keys not in `witnessVkeys` are
 * ignored; one by a pinned key that does not verify rejects the note (SignatureError). Fewer
 * than `threshold` valid ones is not an error here: the caller raises `unwitnessed_head`. A
 * witness key equal to the log key is a UsageError (the log's own timestamped signature
 * would otherwise count as a witness).
 */
export function openWitnessed(
  noteText: string, origin: string, vkey: string, witnessVkeys: readonly string[], threshold: number,
): WitnessedCheckpoint {
  const memo = `${origin}\u0000${vkey}\u0000${witnessVkeys.join("\u0001")}\u0000${threshold}\u0000${noteText}`;
  const hit = witnessedMemo.get(memo);
  if (hit !== undefined) return hit;
  const checkpoint = openProfileCheckpoint(noteText, origin, vkey);
  const logKey = parseVkey(vkey).publicKey;
  const witnesses = witnessVkeys.map((text) => {
    const w = parseVkey(text);
    if (w.type !== SIG_COSIGNATURE_V1) throw new UsageError(`witness key ${JSON.stringify(w.name)} is not a cosignature/v1 (0x04) key`);
    if (w.publicKey.length === logKey.length && w.publicKey.every((b, i) => b === logKey[i])) {
      throw new UsageError("a witness key cannot be the log's own key");
    }
    return w;
  });
  let result: WitnessedCheckpoint;
  if (!witnesses.length) {
    result = { checkpoint, witnesses: [], witnessedAt: null };
  } else {
    const distinct = new Map<string, VerifiedSignature>();
    for (const sig of verifySignatures(parseNote(noteText), witnesses)) {
      const slot = `${sig.verifier.name}+${sig.verifier.keyId}`;
      if (!distinct.has(slot)) distinct.set(slot, sig);
    }
    const cosigned = [...distinct.values()];
    result = { checkpoint, witnesses: cosigned.map((s) => s.verifier.name), witnessedAt: witnessedTime(cosigned, threshold) };
  }
  if (witnessedMemo.size > 64) witnessedMemo.clear();
  witnessedMemo.set(memo, result);
  return result;
}

export const EPOCH_ROOT_PREFIX = utf8.encode("glasskey/epoch-root/v1\u0000");

/** Root-log leaf data of (epoch, AKD root hash): prefix || BE64(epoch) || root. */
export function epochRootLeaf(epoch: bigint, rootHash: Uint8Array): Uint8Array {
  if (epoch < 0n || epoch > MAX_TREE_SIZE) throw new MalformedError(`epoch ${epoch} is outside the uint64 range`);
  if (rootHash.length !== HASH_SIZE) throw new MalformedError(`an epoch root hash is ${HASH_SIZE} bytes, got ${rootHash.length}`);
  const epochBytes = new Uint8Array(8);
  new DataView(epochBytes.buffer).setBigUint64(0, epoch, false);
  return concat(EPOCH_ROOT_PREFIX, epochBytes, rootHash);
}



/** Drop the memo of opened checkpoints. */
export function clearCheckpointCache(): void {
  opened.clear();
  witnessedMemo.clear();
}
