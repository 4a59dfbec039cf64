/**
 * Strict JSON field readers for the server's answers (pydantic strict mode of
 * glasskey.api.wire): a missing or mistyped field is `MalformedError` naming it.
 */

import { fromBase64OrNull, fromHexOrNull } from "../bytes.js";
import { MalformedError } from "../errors.js";
import type { SignedState } from "./verify.js";

export type Body = Record<string, unknown>;

export function fail(what: string, field: string, msg: string): never {
  throw new MalformedError(`${what} field '${field}': ${msg}`);
}

export function int(o: Body, f: string, what: string, optional = false): bigint | null {
  const v = o[f];
  if (v === undefined || (optional && v === null)) {
    if (optional) return null;
    fail(what, f, "Field required");
  }
  if (typeof v !== "number" || !Number.isInteger(v)) fail(what, f, "Input should be a valid integer");
  return BigInt(v);
}

/** An optional number (pydantic strict `float | None`: an int or a float, never a bool). */
export function optNumber(o: Body, f: string, what: string): number | null {
  const v = o[f];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number") fail(what, f, "Input should be a valid number");
  return v;
}

export function str(o: Body, f: string, what: string): string {
  const v = o[f];
  if (v === undefined) fail(what, f, "Field required");
  if (typeof v !== "string") fail(what, f, "Input should be a valid string");
  return v;
}

export function hex32(o: Body, f: string, what: string): Uint8Array {
  const v = str(o, f, what);
  const b = v.length === 64 ? fromHexOrNull(v) : null;
  if (b === null) fail(what, f, "must be 32 bytes of hex (64 hex digits)");
  return b;
}

export function b64(o: Body, f: string, what: string): Uint8Array {
  const v = o[f];
  if (v === undefined) fail(what, f, "Field required");
  const b = typeof v === "string" ? fromBase64OrNull(v) : null;
  if (b === null) fail(what, f, "is not valid base64");
  return b;
}

export function hashes(o: Body, f: string, what: string, optional = false): Uint8Array[] | null {
  const v = o[f];
  if (v === undefined || (optional && v === null)) {
    if (optional) return null;
    fail(what, f, "Field required");
  }
  if (!Array.isArray(v)) fail(what, f, "must be a list of hex hashes");
  if (v.length > 128) fail(what, f, "must have at most 128 hashes");
  const out = v.map((h) => (typeof h === "string" ? fromHexOrNull(h) : null));
  if (out.some((h) => h === null || h.length !== 32)) fail(what, f, "entries must be 32 bytes of hex each");
  return out as Uint8Array[];
}

export function object(body: unknown, what: string): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new MalformedError(`${what}: Input should be an object`);
  return body as Body;
}

export function signedState(o: Body, what: string): SignedState {
  return {
    epoch: int(o, "epoch", what)!,
    rootHash: hex32(o, "root_hash", what),
    checkpoint: str(o, "checkpoint", what),
    treeSize: int(o, "tree_size", what)!,
    logInclusion: hashes(o, "log_inclusion", what)!,
    consistencyFrom: int(o, "consistency_from", what, true),
    logConsistency: hashes(o, "log_consistency", what, true),
  };
}
