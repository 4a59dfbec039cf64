/**
 * Ed25519 verification with libsodium's rules (what the Python side uses through PyNaCl):
 * RFC 8032 strict decoding (canonical A, R and s < L) plus the refusal of small-order
 * public keys and R. @noble/curves does the arithmetic; the extra checks are explicit here.
 *
 * Speed: `preverifyEd25519` (async) has the platform's WebCrypto Ed25519 check signatures
 * first — after every strict check above — and remembers the exact (key, message,
 * signature) triples that passed both; the synchronous `verifyEd25519` accepts a remembered
 * triple as it is and verifies any other one itself (strict checks, then noble). WebCrypto
 * alone is not libsodium: OpenSSL and BoringSSL accept small-order keys and R (the identity
 * key verifies any message with R = identity, s = 0). Where WebCrypto Ed25519 is missing
 * (old browsers, non-secure pages), nothing is remembered and noble verifies everything.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToBigLE, toHex } from "./bytes.js";
import { SignatureError } from "./errors.js";

const Pt = ed25519.Point;
const L = Pt.Fn.ORDER;

function smallOrder(bytes: Uint8Array): boolean {
  try {
    return Pt.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return true; // not a canonical point: refused as well
  }
}

/** The checks WebCrypto does not make for us (null: passed), in libsodium's order. */
function strictFailure(publicKey: Uint8Array, signature: Uint8Array): string | null {
  if (publicKey.length !== 32) return `Ed25519 public key must be 32 bytes, got ${publicKey.length}`;
  if (signature.length !== 64) return `Ed25519 signature must be 64 bytes, got ${signature.length}`;
  if (smallOrder(publicKey)) return "Ed25519 public key is not a valid curve point";
  if (smallOrder(signature.subarray(0, 32)) || bytesToBigLE(signature.subarray(32)) >= L) return "Ed25519 signature does not verify";
  return null;
}

/** Triples WebCrypto accepted, by their exact bytes. */
const accepted = new Set<string>();
const importedKeys = new Map<string, Promise<CryptoKey | null>>();

function triple(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return `${toHex(publicKey)}:${toHex(signature)}:${toHex(message)}`;
}

/** Throws SignatureError unless `signature` is a valid Ed25519 signature of `message`. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  // A remembered triple passed the strict checks (preverifyEd25519 makes them before it asks
  // WebCrypto) and WebCrypto's equation, on these exact bytes.
  if (accepted.has(triple(publicKey, message, signature))) return;
  const failure = strictFailure(publicKey, signature);
  if (failure !== null) throw new SignatureError(failure);
  let ok = false;
  try {
    ok = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new SignatureError("Ed25519 signature does not verify");
}

export interface Ed25519Signed {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function webCryptoKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = toHex(publicKey);
  let key = importedKeys.get(id);
  if (key === undefined) {
    const subtle = globalThis.crypto?.subtle;
    key = subtle === undefined
      ? Promise.resolve(null)
      : subtle.importKey("raw", Uint8Array.from(publicKey), { name: "Ed25519" }, false, ["verify"]).catch(() => null);
    if (importedKeys.size > 64) importedKeys.clear();
    importedKeys.set(id, key);
  }
  return key;
}

/**
 * Check `items` with WebCrypto Ed25519 (in parallel) and remember those it accepts, so that
 * `verifyEd25519` need not redo their equation. Never throws and decides nothing: a
 * signature WebCrypto refuses, or cannot check, is left to `verifyEd25519`.
 */
export async function preverifyEd25519(items: readonly Ed25519Signed[]): Promise<void> {
  await Promise.all(items.map(async ({ publicKey, message, signature }) => {
    if (strictFailure(publicKey, signature) !== null) return;
    const id = triple(publicKey, message, signature);
    if (accepted.has(id)) return;
    try {
      const key = await webCryptoKey(publicKey);
      if (key === null || !(await globalThis.crypto.subtle.verify({ name: "Ed25519" }, key, Uint8Array.from(signature), Uint8Array.from(message)))) return;
    } catch {
      return;
    }
    if (accepted.size > 1024) accepted.clear();
    accepted.add(id);
  }));
}

/** Whether this platform has WebCrypto Ed25519 (else `preverifyEd25519` does nothing). */
export async function webCryptoEd25519(): Promise<boolean> {
  return (await webCryptoKey(Pt.BASE.toBytes())) !== null;
}

/** Whether WebCrypto accepted this exact triple (tests and benchmarks). */
export function preverified(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return accepted.has(triple(publicKey, message, signature));
}

/** Forget the triples WebCrypto accepted and the imported keys (cold benchmarks). */
export function clearEd25519Cache(): void {
  accepted.clear();
  importedKeys.clear();
}
