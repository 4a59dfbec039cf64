/**
 * Plexi auditor countersignatures (glasskey.core.plexi): the SignatureResponse JSON, the exact
 * bytes an auditor signs (ciphersuite 1: prost protobuf; 2: bincode legacy) and verification
 * under pinned keys.
 */

import { concat, equalBytes, fromHexOrNull, le32, le64, utf8, varint } from "./bytes.js";
import { MalformedError, SignatureError } from "./errors.js";
import { verifyEd25519 } from "./ed25519.js";

const U32_MAX = 2 ** 32 - 1;
const U64_MAX = 2n ** 64n - 1n;

export interface SignatureResponse {
  readonly ciphersuite: number;
  readonly namespace: string;
  readonly timestamp: bigint;
  readonly epoch: bigint;
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
  readonly keyId: number | null;
  readonly serializedMessage: Uint8Array | null;
}

function readUint(value: unknown, name: string, maximum: bigint = U64_MAX): bigint {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || BigInt(value) > maximum) {
    throw new MalformedError(`invalid parameter \`${name}\``);
  }
  return BigInt(value);
}

function readHex(value: unknown, name: string, length: number | null = null): Uint8Array {
  const data = typeof value === "string" ? fromHexOrNull(value) : null;
  if (data === null || (length !== null && data.length !== length)) throw new MalformedError(`invalid parameter \`${name}\``);
  return data;
}

function jsonObject(obj: unknown, what: string): Record<string, unknown> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new MalformedError(`${what}: expected a JSON object`);
  return obj as Record<string, unknown>;
}

function get(o: Record<string, unknown>, name: string, what: string): unknown {
  if (!(name in o)) throw new MalformedError(`${what}: missing field \`${name}\``);
  return o[name];
}

/** Parse like plexi: `version` wins over `ciphersuite`. */
export function parseSignatureResponse(obj: unknown): SignatureResponse {
  const what = "signature response";
  const o = jsonObject(obj, what);
  let suite: bigint;
  if (o["version"] !== undefined && o["version"] !== null) suite = readUint(o["version"], "version", BigInt(U32_MAX));
  else if (o["ciphersuite"] !== undefined && o["ciphersuite"] !== null) suite = readUint(o["ciphersuite"], "ciphersuite", BigInt(U32_MAX));
  else throw new MalformedError(`${what}: either version or ciphersuite must be provided`);
  const namespace = get(o, "namespace", what);
  if (typeof namespace !== "string") throw new MalformedError("invalid parameter `namespace`");
  const keyIdValue = o["key_id"];
  const message = o["serialized_message"];
  return {
    ciphersuite: Number(suite),
    namespace,
    timestamp: readUint(get(o, "timestamp", what), "timestamp"),
    epoch: readUint(get(o, "epoch", what), "epoch"),
    digest: readHex(get(o, "digest", what), "digest"),
    signature: readHex(get(o, "signature", what), "signature", 64),
    keyId: keyIdValue === undefined || keyIdValue === null ? null : Number(readUint(keyIdValue, "key_id", 255n)),
    serializedMessage: message === undefined || message === null ? null : readHex(message, "serialized_message"),
  };
}

/** The exact bytes signed for the five fields under their ciphersuite. */
export function signedBytes(r: Pick<SignatureResponse, "ciphersuite" | "namespace" | "timestamp" | "epoch" | "digest">): Uint8Array {
  const ns = utf8.encode(r.namespace);
  if (r.ciphersuite === 1) {
    const epochMsg = concat(Uint8Array.of(0x08), varint(r.epoch));
    return concat(
      Uint8Array.of(0x08), varint(BigInt(r.ciphersuite)), Uint8Array.of(0x12), varint(BigInt(ns.length)), ns,
      Uint8Array.of(0x18), varint(r.timestamp), Uint8Array.of(0x22), varint(BigInt(epochMsg.length)), epochMsg,
      Uint8Array.of(0x2a), varint(BigInt(r.digest.length)), r.digest,
    );
  }
  if (r.ciphersuite === 2) {
    return concat(le32(r.ciphersuite), le64(BigInt(ns.length)), ns, le64(r.timestamp), le64(r.epoch),
      le64(BigInt(r.digest.length)), r.digest);
  }
  throw new SignatureError(`unknown ciphersuite ${r.ciphersuite}: cannot build signed bytes`);
}

/** Verify one response under one key (plexi's verify with a pinned key). */
export function verifyStatement(r: SignatureResponse, publicKey: Uint8Array): void {
  const message = signedBytes(r);
  if (r.serializedMessage !== null && !equalBytes(r.serializedMessage, message)) {
    throw new SignatureError("serialized_message does not match the signed fields");
  }
  verifyEd25519(publicKey, message, r.signature);
}

export interface LastVerifiedEpoch {
  readonly jobId: string;
  readonly epoch: bigint;
  readonly startHash: Uint8Array;
  readonly endHash: Uint8Array;
  readonly timestamp: bigint;
}

/** An auditor's `/namespaces/{name}/last-verified-epoch` answer (glasskey.core.plexi). */
export function parseLastVerifiedEpoch(obj: unknown): LastVerifiedEpoch {
  const what = "last verified epoch";
  const o = jsonObject(obj, what);
  const jobId = get(o, "job_id", what);
  if (typeof jobId !== "string") throw new MalformedError("invalid parameter `job_id`");
  return {
    jobId,
    epoch: readUint(get(o, "epoch", what), "epoch"),
    startHash: readHex(get(o, "start_hash", what), "start_hash"),
    endHash: readHex(get(o, "end_hash", what), "end_hash"),
    timestamp: readUint(get(o, "timestamp", what), "timestamp"),
  };
}
