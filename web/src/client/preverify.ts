/**
 * The asynchronous half of verifying a response: every Ed25519 statement it carries under a
 * pinned key (the checkpoint's log signature and cosignature/v1, pinned witnesses'
 * cosignatures, the auditor's countersignatures) checked by WebCrypto first
 * (`preverifyEd25519`), so that the synchronous `verifyBundle` / `verifyHistory` need not redo
 * those equations with noble. It decides nothing: the synchronous verification still runs
 * every check and gives every verdict, so results and alert codes are the same with or
 * without it (and without WebCrypto Ed25519 it only costs a few parses).
 */

import { preverifyEd25519, type Ed25519Signed } from "../ed25519.js";
import { cosignatureVerifier, noteStatements, parseVkey, parseWitnessVkey, type NoteVerifier } from "../log/note.js";
import { parseSignatureResponse, signedBytes } from "../plexi.js";
import type { VerificationPolicy } from "./verify.js";

function logVerifiers(policy: VerificationPolicy): NoteVerifier[] {
  const out: NoteVerifier[] = [];
  const trust = policy.trust;
  if (trust === null) return out;
  const parse = (f: () => NoteVerifier): void => {
    try {
      out.push(f());
    } catch {
      // an unusable key: the synchronous verification reports it
    }
  };
  parse(() => parseVkey(trust.logPublicKey));
  const log = out[0];
  if (log !== undefined) out.push(cosignatureVerifier(log.name, log.publicKey));
  for (const w of policy.witnesses ?? []) parse(() => parseWitnessVkey(w.trim()));
  return out;
}

function countersignatures(policy: VerificationPolicy, body: Record<string, unknown>): Ed25519Signed[] {
  const pin = policy.auditor;
  if (pin === null) return [];
  const out: Ed25519Signed[] = [];
  for (const field of ["auditor_signature", "auditor_latest"]) {
    const raw = body[field];
    if (raw === undefined || raw === null) continue;
    try {
      const r = parseSignatureResponse(raw);
      const message = signedBytes(r);
      for (const publicKey of pin.keys) out.push({ publicKey, message, signature: r.signature });
    } catch {
      // malformed: the synchronous verification reports it
    }
  }
  return out;
}

/** WebCrypto-check the Ed25519 statements of a bundle or history response `body`. */
export async function preverifySignatures(policy: VerificationPolicy, body: unknown): Promise<void> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return;
  const o = body as Record<string, unknown>;
  const checkpoint = o["checkpoint"];
  const statements = typeof checkpoint === "string" ? noteStatements(checkpoint, logVerifiers(policy)) : [];
  statements.push(...countersignatures(policy, o));
  await preverifyEd25519(statements);
}
