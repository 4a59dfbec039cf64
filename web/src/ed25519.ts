/**
 * Ed25519 verification with libsodium's rules (what the Python side uses through PyNaCl):
 * RFC 8032 strict decoding (canonical A, R and s < L) plus the refusal of small-order
 * public keys and R. @noble/curves does the arithmetic; the extra checks are explicit here.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { SignatureError } from "./errors.js";

const Pt = ed25519.Point;

function smallOrder(bytes: Uint8Array): boolean {
  try {
    return Pt.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return true; // not a canonical point: refused as well
  }
}

/** Throws SignatureError unless `signature` is a valid Ed25519 signature of `message`. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  if (publicKey.length !== 32) throw new SignatureError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  if (signature.length !== 64) throw new SignatureError(`Ed25519 signature must be 64 bytes, got ${signature.length}`);
  if (smallOrder(publicKey)) throw new SignatureError("Ed25519 public key is not a valid curve point");
  if (smallOrder(signature.subarray(0, 32))) throw new SignatureError("Ed25519 signature does not verify");
  let ok = false;
  try {
    ok = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new SignatureError("Ed25519 signature does not verify");
}
