/**
 * Pure verification of server responses (glasskey.client._verify), same order of checks:
 * 1. checkpoint signed by the pinned log key for the pinned origin; with pinned witnesses,
 *    every cosignature by one of them verifies and at least k of them cosigned
 *    (`unwitnessed_head`);
 * 2. the proof's epoch is the checkpoint's newest leaf (RFC 6962 inclusion at epoch-1);
 * 3. consistency with the last verified head (rollback / fork);
 * 4. freshness (signed timestamp within max age; with k > 0 witnesses, the k-th newest
 *    witness cosignature time, which the log cannot fake);
 * 5. the AKD proof verifies for this label (VRF);
 * 6. with a pinned auditor: its countersignature of this epoch and root, and no epoch older
 *    than the newest one it countersigned.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { equalBytes, toHex, utf8 } from "../bytes.js";
import {
  AuditorSignatureInvalid, AuditorSignatureMissing, ConsistencyError, ForkDetected, HistoryProofError,
  InclusionError, LookupProofError, MalformedError, RollbackDetected, SignatureError, StaleHead,
  UnwitnessedHead, UsageError, VrfError, WrongLabel,
} from "../errors.js";
import { getConfiguration, type Configuration } from "../akd/config.js";
import { keyHistoryVerify, lookupVerify, type HistoryParams, type VerifyResult } from "../akd/verify.js";
import { epochRootLeaf, openProfileCheckpoint, openWitnessed, parseWitnessVkey } from "../log/note.js";
import { leafHash, verifyConsistency, verifyInclusion } from "../log/rfc6962.js";
import { parseSignatureResponse, signedBytes, type SignatureResponse } from "../plexi.js";
import { verifyEd25519 } from "../ed25519.js";
import { b64, fail, int, object, optNumber, signedState, str, type Body } from "./json.js";

/** The keys a client pins for one server (first use or configured). */
export interface Trust {
  readonly origin: string;
  readonly logPublicKey: string;
  readonly vrfPublicKey: Uint8Array;
  readonly configuration: string;
  readonly domainLabel: Uint8Array | null;
  readonly maxPublicationDelay: number | null;
  readonly checkpointRefresh: number | null;
}

export interface Head {
  readonly origin: string;
  readonly size: bigint;
  readonly logRoot: Uint8Array;
  readonly note: string;
  readonly signedAt: number | null;
}

export interface AuditorPin {
  readonly keys: readonly Uint8Array[];
  readonly namespace: string;
  readonly required: boolean;
  /**
   * The auditor's http(s) base URL (Python's `AuditorPin.url`): the client then also asks
   * the auditor itself for the newest epoch it countersigned for `namespace` (a lying
   * server omits `auditor_latest`), at most once per `checkInterval` seconds (default 60),
   * and verifies that countersignature under `keys`.
   */
  readonly url?: string | null;
  readonly checkInterval?: number;
}

export const DEFAULT_AUDITOR_CHECK_INTERVAL = 60;

/** `"log"`: the log's declared re-signing interval decides (Python's LOG_DECLARED). */
export interface VerificationPolicy {
  readonly trust: Trust | null;
  readonly maxAge: number | null | "log";
  readonly auditor: AuditorPin | null;
  /**
   * Verifier keys (signed-note form `name+hex id+base64(0x04 || key)`) of the witnesses this
   * client trusts, pinned out of band: a witness key taken from the log proves nothing.
   */
  readonly witnesses?: readonly string[];
  /**
   * k: a checkpoint with fewer than k valid cosignatures by distinct pinned witnesses is
   * refused (`unwitnessed_head`); with k > 0 freshness is measured from the k-th newest
   * witness cosignature time, not the log's own (Python's VerificationPolicy).
   */
  readonly witnessThreshold?: number;
}

/**
 * Refuse a policy the Python VerificationPolicy would refuse at construction (UsageError):
 * unparsable or non-0x04 witness keys, two witnesses of one name, a threshold outside
 * 0..number of witnesses. Why at configuration time: a bad key must not surface as a
 * verification failure of the first honest answer.
 */
export function checkPolicy(policy: VerificationPolicy): void {
  const witnesses = policy.witnesses ?? [];
  if (typeof witnesses === "string" || !witnesses.every((w) => typeof w === "string")) {
    throw new UsageError("policy.witnesses is a list of verifier key strings");
  }
  const names = new Set<string>();
  for (const vkey of witnesses) {
    let name: string;
    try {
      name = parseWitnessVkey(vkey.trim()).name;
    } catch (exc) {
      if (exc instanceof UsageError) throw exc;
      throw new UsageError(`witness key ${JSON.stringify(vkey.slice(0, 40))}…: ${(exc as Error).message}`);
    }
    if (names.has(name)) throw new UsageError(`two witness keys named ${JSON.stringify(name)}`);
    names.add(name);
  }
  const pin = policy.auditor;
  if (pin !== null && pin.url !== undefined && pin.url !== null && !/^https?:\/\//.test(pin.url)) {
    throw new UsageError("AuditorPin.url must be the auditor's http(s) base URL (or null)");
  }
  const interval = pin?.checkInterval ?? DEFAULT_AUDITOR_CHECK_INTERVAL;
  if (typeof interval !== "number" || !(interval >= 0)) {
    throw new UsageError("AuditorPin.checkInterval must be a number of seconds, 0 or more");
  }
  const k = policy.witnessThreshold ?? 0;
  if (!Number.isInteger(k) || k < 0 || k > witnesses.length) {
    throw new UsageError(`witnessThreshold must be 0..${witnesses.length} (the number of witness keys), got ${String(k)}`);
  }
}

export const UNDECLARED_MAX_AGE = 3600;

export function defaultMaxAge(trust: Trust): number {
  return trust.checkpointRefresh === null ? UNDECLARED_MAX_AGE : 3 * trust.checkpointRefresh + 15;
}

export function maxAgeFor(policy: VerificationPolicy, trust: Trust): number | null {
  return policy.maxAge === "log" ? defaultMaxAge(trust) : policy.maxAge;
}

export interface SignedState {
  readonly epoch: bigint;
  readonly rootHash: Uint8Array;
  readonly checkpoint: string;
  readonly treeSize: bigint;
  readonly logInclusion: Uint8Array[];
  readonly consistencyFrom: bigint | null;
  readonly logConsistency: Uint8Array[] | null;
}

export interface VerifiedKey {
  readonly userId: string;
  readonly key: Uint8Array;
  readonly version: bigint;
  readonly publishedEpoch: bigint;
  readonly epoch: bigint;
  readonly rootHash: Uint8Array;
  readonly head: Head;
  readonly auditorSignature: SignatureResponse | null;
  readonly auditorEpoch: bigint;
  /** When `publishedEpoch` was published (Unix seconds), as the log says; null: not served. */
  readonly publishedAt: number | null;
}

export interface VerifiedHistory {
  readonly userId: string;
  readonly versions: VerifyResult[];
  readonly epoch: bigint;
  readonly rootHash: Uint8Array;
  readonly head: Head;
  readonly auditorSignature: SignatureResponse | null;
  readonly auditorEpoch: bigint;
  /** Each version's publication time, in `versions` order (null: not served). */
  readonly publishedAt: (number | null)[];
}

/**
 * A served publication time, refused when impossible (glasskey.client._verify
 * `_publication_time`): a version published after the signed checkpoint that covers it (1 s
 * of rounding allowed), or not a time at all. Not covered by the proof: the log's word.
 */
function publicationTime(at: number | null, head: Head): number | null {
  if (at === null) return null;
  if (!Number.isFinite(at) || at < 0) throw new MalformedError("published_at is not a time");
  if (head.signedAt !== null && at > head.signedAt + 1) {
    throw new MalformedError(`published_at ${at.toFixed(0)} is after the signed checkpoint (${head.signedAt.toFixed(0)}) that covers it`);
  }
  return at;
}

// -- steps 1-4 -----------------------------------------------------------------------------

export function configurationOf(trust: Trust): Configuration {
  return getConfiguration(trust.configuration, trust.domainLabel);
}

/** The root of the empty tree (RFC 6962: SHA-256 of nothing). */
export const EMPTY_ROOT = sha256(new Uint8Array(0));

/**
 * Steps 1-4 for the signed state of any response. `allowEmpty`: also accept epoch 0 of the
 * signed empty log (size 0, the empty tree's root), which proves only that nothing is
 * published yet (a proof of absence).
 */
export function verifySignedState(
  trust: Trust, state: SignedState, previous: Head | null, maxAge: number | null, now: number | null = null,
  witnesses: readonly string[] = [], witnessThreshold = 0, allowEmpty = false,
): { epoch: bigint; rootHash: Uint8Array; head: Head } {
  const cp = openProfileCheckpoint(state.checkpoint, trust.origin, trust.logPublicKey);
  let signedTime = cp.timestamp;
  if (witnesses.length) {
    const witnessed = openWitnessed(state.checkpoint, trust.origin, trust.logPublicKey, witnesses.map((w) => w.trim()), witnessThreshold);
    if (witnessed.witnesses.length < witnessThreshold) {
      throw new UnwitnessedHead(`the checkpoint of size ${cp.size} has ${witnessed.witnesses.length} valid cosignatures by pinned witnesses, ${witnessThreshold} required`);
    }
    if (witnessThreshold) signedTime = witnessed.witnessedAt;
  }
  if (state.treeSize !== cp.size) throw new MalformedError("tree_size does not match the signed checkpoint");
  if (allowEmpty && state.epoch === 0n && cp.size === 0n) {
    // The signed empty log (a proof of absence): no epoch, so nobody has a key.
    if (!equalBytes(cp.root, EMPTY_ROOT) || state.logInclusion.length) {
      throw new InclusionError("a checkpoint of size 0 must carry the empty tree's root");
    }
  } else {
    if (state.epoch !== cp.size || state.epoch < 1n) {
      throw new InclusionError(`the proof is for epoch ${state.epoch} but the signed checkpoint is at ${cp.size}: proofs must be for the newest signed epoch`);
    }
    verifyInclusion(leafHash(epochRootLeaf(state.epoch, state.rootHash)), state.epoch - 1n, cp.size, state.logInclusion, cp.root);
  }
  if (previous !== null) {
    if (cp.size < previous.size) {
      throw new RollbackDetected(`the server presents log size ${cp.size}, older than size ${previous.size} already verified: rollback or replayed checkpoint`);
    }
    if (cp.size === previous.size) {
      if (!equalBytes(cp.root, previous.logRoot)) {
        throw new ForkDetected(`two signed checkpoints of size ${cp.size} with different roots: split view`);
      }
    } else if (previous.size === 0n) {
      // Every tree extends the empty tree (RFC 9162 2.1.4: there is no proof from size 0,
      // only a meaningless empty one). A client whose last head is the signed empty log
      // accepts the log's first epoch, not fork_detected (glasskey.client._verify).
    } else {
      if (state.consistencyFrom !== previous.size || state.logConsistency === null) {
        throw new ForkDetected(`the server did not prove that size ${cp.size} extends the verified size ${previous.size}`);
      }
      try {
        verifyConsistency(previous.size, cp.size, state.logConsistency, previous.logRoot, cp.root);
      } catch (exc) {
        if (exc instanceof ConsistencyError) {
          throw new ForkDetected(`checkpoint ${cp.size} does not extend the verified checkpoint ${previous.size}: ${exc.message}`);
        }
        throw exc;
      }
    }
  }
  if (maxAge !== null) {
    const current = now ?? Date.now() / 1000;
    if (signedTime === null) throw new StaleHead("the checkpoint carries no signed timestamp; cannot check its age");
    const age = current - signedTime;
    if (age > maxAge) {
      throw new StaleHead(`the newest signed checkpoint is ${age.toFixed(0)}s old, more than the allowed ${maxAge.toFixed(0)}s: the server may be hiding newer epochs`);
    }
  }
  return {
    epoch: state.epoch,
    rootHash: state.rootHash,
    head: { origin: trust.origin, size: cp.size, logRoot: cp.root, note: state.checkpoint, signedAt: cp.timestamp },
  };
}

export function pinned(policy: VerificationPolicy): Trust {
  if (policy.trust === null) throw new UsageError("verifying a response needs the server's pinned keys (policy.trust)");
  return policy.trust;
}

// -- auditor countersignature --------------------------------------------------------------

export function verifyCountersignature(
  raw: unknown, keys: readonly Uint8Array[], namespace: string, what: string, covers: [bigint, Uint8Array] | null = null,
): SignatureResponse {
  let r: SignatureResponse;
  try {
    r = parseSignatureResponse(raw);
  } catch (exc) {
    if (exc instanceof MalformedError) throw new AuditorSignatureInvalid(`${what} is malformed: ${exc.message}`);
    throw exc;
  }
  if (covers !== null && !(r.epoch === covers[0] && equalBytes(r.digest, covers[1]))) {
    throw new AuditorSignatureInvalid(`${what} covers epoch ${r.epoch} digest ${toHex(r.digest).slice(0, 16)}…, not the served epoch ${covers[0]}`);
  }
  if (r.namespace !== namespace) throw new AuditorSignatureInvalid(`${what} is for namespace ${r.namespace}, not ${namespace}`);
  let message: Uint8Array;
  try {
    message = signedBytes(r);
  } catch (exc) {
    if (exc instanceof MalformedError || exc instanceof SignatureError) throw new AuditorSignatureInvalid(`${what} is unusable: ${exc.message}`);
    throw exc;
  }
  if (r.serializedMessage !== null && !equalBytes(r.serializedMessage, message)) {
    throw new AuditorSignatureInvalid("serialized_message does not match the signed fields");
  }
  for (const key of keys) {
    try {
      verifyEd25519(key, message, r.signature);
      return r;
    } catch (exc) {
      if (!(exc instanceof SignatureError)) throw exc;
    }
  }
  throw new AuditorSignatureInvalid(`${what} of epoch ${r.epoch} does not verify under the pinned auditor key(s)`);
}

export function countersignature(
  pin: AuditorPin | null, body: Body, epoch: bigint, rootHash: Uint8Array, auditorEpoch: bigint,
): [SignatureResponse | null, bigint] {
  if (pin === null) return [null, auditorEpoch];
  let signature: SignatureResponse | null = null;
  const raw = body["auditor_signature"];
  if (raw === undefined || raw === null) {
    if (pin.required) throw new AuditorSignatureMissing(`epoch ${epoch} carries no auditor countersignature, and one is required`);
  } else if (pin.keys.length) {
    signature = verifyCountersignature(raw, pin.keys, pin.namespace, "the auditor signature", [epoch, rootHash]);
  }
  let newest = auditorEpoch;
  if (signature !== null && signature.epoch > newest) newest = signature.epoch;
  const latestRaw = body["auditor_latest"];
  if (latestRaw !== undefined && latestRaw !== null) {
    const latest = verifyCountersignature(latestRaw, pin.keys, pin.namespace, "the latest auditor signature");
    if (latest.epoch > newest) newest = latest.epoch;
  }
  if (epoch < newest) {
    throw new RollbackDetected(`the server presents epoch ${epoch}, but the pinned auditor has countersigned epoch ${newest} of namespace ${pin.namespace}: an old head`);
  }
  return [signature, newest];
}

// -- bundles and histories ------------------------------------------------------------------

/** Verify a `/api/crypto/bundles/{user_id}` response for `userId` under `policy`. */
export function verifyBundle(
  policy: VerificationPolicy, userId: string, body: unknown, previous: Head | null,
  options: { now?: number | null; auditorEpoch?: bigint } = {},
): VerifiedKey {
  const trust = pinned(policy);
  const what = "the bundle response";
  const o = object(body, what);
  const state = signedState(o, what);
  const bundleUser = str(o, "user_id", what);
  const key = b64(o, "key", what);
  const version = int(o, "version", what)!;
  const publishedEpoch = int(o, "published_epoch", what)!;
  const publishedAt = optNumber(o, "published_at", what);
  const proof = b64(o, "proof", what);
  if (bundleUser !== userId) throw new WrongLabel(`asked for ${JSON.stringify(userId)}, the server answered for ${JSON.stringify(bundleUser)}`);
  const verified = verifySignedState(trust, state, previous, maxAgeFor(policy, trust), options.now ?? null, policy.witnesses, policy.witnessThreshold);
  let result: VerifyResult;
  try {
    result = lookupVerify(configurationOf(trust), trust.vrfPublicKey, verified.rootHash, verified.epoch, utf8.encode(userId), proof);
  } catch (exc) {
    throw vrfFailure(userId, exc);
  }
  if (!equalBytes(key, result.value)) throw new LookupProofError("the key in the response is not the key the proof commits to");
  if (version !== result.version || publishedEpoch !== result.epoch) {
    throw new LookupProofError("the version/epoch in the response differ from the proof's");
  }
  const [signature, newest] = countersignature(policy.auditor, o, verified.epoch, verified.rootHash, options.auditorEpoch ?? 0n);
  return {
    userId, key: result.value, version: result.version, publishedEpoch: result.epoch, epoch: verified.epoch,
    rootHash: verified.rootHash, head: verified.head, auditorSignature: signature, auditorEpoch: newest,
    publishedAt: publicationTime(publishedAt, verified.head),
  };
}

/** Verify a `/api/crypto/history/{user_id}` response (same `params` as requested). */
export function verifyHistory(
  policy: VerificationPolicy, userId: string, body: unknown, previous: Head | null, params: HistoryParams,
  options: { now?: number | null; auditorEpoch?: bigint } = {},
): VerifiedHistory {
  const trust = pinned(policy);
  const what = "the history response";
  const o = object(body, what);
  const state = signedState(o, what);
  const historyUser = str(o, "user_id", what);
  str(o, "params", what);
  const rawVersions = o["versions"];
  if (!Array.isArray(rawVersions)) fail(what, "versions", "Input should be a valid list");
  const listed = rawVersions.map((v, i) => {
    const vo = object(v, `${what} field 'versions.${i}'`);
    return { version: int(vo, "version", what)!, epoch: int(vo, "epoch", what)!, key: b64(vo, "key", what), at: optNumber(vo, "published_at", what) };
  });
  const proof = b64(o, "proof", what);
  if (historyUser !== userId) throw new WrongLabel(`asked for ${JSON.stringify(userId)}, the server answered for ${JSON.stringify(historyUser)}`);
  const verified = verifySignedState(trust, state, previous, maxAgeFor(policy, trust), options.now ?? null, policy.witnesses, policy.witnessThreshold);
  let results: VerifyResult[];
  try {
    results = keyHistoryVerify(configurationOf(trust), trust.vrfPublicKey, verified.rootHash, verified.epoch, utf8.encode(userId), proof, params);
  } catch (exc) {
    throw vrfFailure(userId, exc);
  }
  const same = listed.length === results.length && listed.every((l, i) => {
    const r = results[i]!;
    return l.version === r.version && l.epoch === r.epoch && equalBytes(l.key, r.value);
  });
  if (!same) throw new HistoryProofError("the versions listed differ from the proof's");
  const [signature, newest] = countersignature(policy.auditor, o, verified.epoch, verified.rootHash, options.auditorEpoch ?? 0n);
  return {
    userId, versions: results, epoch: verified.epoch, rootHash: verified.rootHash, head: verified.head,
    auditorSignature: signature, auditorEpoch: newest, publishedAt: listed.map((l) => publicationTime(l.at, verified.head)),
  };
}

/**
 * A VRF proof that fails for our label under the pinned key (glasskey.client._verify
 * `_vrf_failure`): forged, or the pinned key is wrong. The verifier cannot tell which, so it
 * says `invalid_vrf`; the client asks the key document (`GlasskeyClient.explain`) and names
 * it `vrf_key_mismatch` or `wrong_label`. Anything else is passed through unchanged.
 */
function vrfFailure(userId: string, exc: unknown): unknown {
  if (!(exc instanceof VrfError)) return exc;
  return new VrfError(`the VRF proof does not verify for label ${userId} under the pinned VRF key: ${exc.message}`);
}

export function keySha256(key: Uint8Array): Uint8Array {
  return sha256(key);
}
