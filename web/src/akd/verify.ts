/**
 * Client-side verification of AKD lookup and key-history proofs, a port of
 * glasskey.core.akd.verify with the same order of checks and the same places where glasskey
 * is stricter than akd 0.12 (docs/akd-compatibility.md): a membership path must start at the
 * root label, a non-membership proof must show the deepest prefix node (no child may be a
 * prefix of the absent label), and the decoder refuses extra siblings or directions > 1.
 */

import { equalBytes, toHex } from "../bytes.js";
import {
  HistoryProofError, LookupProofError, MalformedError, MembershipProofError,
  NonMembershipProofError, VrfError,
} from "../errors.js";
import { loadPublicKey, VrfPublicKey } from "../ecvrf.js";
import type { Configuration } from "./config.js";
import {
  emptyLabel, isPrefixOf, labelBytes, labelEquals, labelString, leafLabel, longestCommonPrefix,
  ROOT_LABEL, type NodeLabel,
} from "./label.js";
import { markerVersion, markerVersions } from "./markers.js";
import {
  decodeHistoryProof, decodeLookupProof, type HistoryProof, type LookupProof, type MembershipProof,
  type NonMembershipProof,
} from "./wire.js";

export interface VerifyResult {
  readonly epoch: bigint;
  readonly version: bigint;
  readonly value: Uint8Array;
}

/** `null`: complete history; a number: `MostRecent(n)`. */
export type HistoryParams = { readonly mostRecent: number | null };
export const COMPLETE: HistoryParams = { mostRecent: null };

export function checkDigest(value: Uint8Array, what: string): Uint8Array {
  if (value.length !== 32) throw new MalformedError(`${what} must be 32 bytes, got ${value.length}`);
  return value;
}

export function publicKey(key: Uint8Array | VrfPublicKey): VrfPublicKey {
  return key instanceof VrfPublicKey ? key : loadPublicKey(key);
}

export function membershipRoot(config: Configuration, proof: MembershipProof): Uint8Array {
  let value = proof.hashVal;
  let label = labelBytes(proof.label);
  for (let i = proof.siblingProofs.length - 1; i >= 0; i--) {
    const sp = proof.siblingProofs[i]!;
    const here = config.labelValue(label);
    const there = config.labelValue(labelBytes(sp.sibling.label));
    value = sp.direction === 0
      ? config.parentHash(value, here, sp.sibling.value, there)
      : config.parentHash(sp.sibling.value, there, value, here);
    label = labelBytes(sp.label);
  }
  return config.rootHashFromValue(value);
}

export function verifyMembership(config: Configuration, rootHash: Uint8Array, proof: MembershipProof): void {
  const top = proof.siblingProofs.length ? proof.siblingProofs[0]!.label : proof.label;
  if (!labelEquals(top, ROOT_LABEL)) {
    throw new MembershipProofError(`membership proof does not start at the root label (starts at ${labelString(top)})`);
  }
  const computed = membershipRoot(config, proof);
  if (!equalBytes(computed, rootHash)) {
    throw new MembershipProofError(
      `membership proof for label ${labelString(proof.label)} does not lead to the root hash ` +
      `(computed ${toHex(computed)}, expected ${toHex(rootHash)})`);
  }
}

export function verifyNonMembership(config: Configuration, rootHash: Uint8Array, proof: NonMembershipProof): void {
  const [left, right] = proof.children;
  if (labelEquals(proof.label, left.label) || labelEquals(proof.label, right.label)) {
    throw new NonMembershipProofError("non-membership proof: label is one of the longest prefix's children");
  }
  for (const child of [left, right]) {
    if (child.label.length > 0 && isPrefixOf(child.label, proof.label)) {
      throw new NonMembershipProofError("non-membership proof: a child is a prefix of the label; the proof does not show the deepest prefix node");
    }
  }
  if (!isPrefixOf(proof.longestPrefix, proof.label)) {
    throw new NonMembershipProofError("non-membership proof: the longest prefix is not a prefix of the label");
  }
  let lcp = longestCommonPrefix(config, left.label, right.label);
  if (labelEquals(lcp, emptyLabel(config))) lcp = ROOT_LABEL;
  if (!labelEquals(proof.longestPrefix, lcp)) {
    throw new NonMembershipProofError("non-membership proof: the children's common prefix is not the claimed longest prefix");
  }
  const nodeValue = config.parentHash(
    left.value, config.labelValue(labelBytes(left.label)),
    right.value, config.labelValue(labelBytes(right.label)));
  const m = proof.membership;
  if (!labelEquals(m.label, lcp) || !equalBytes(m.hashVal, nodeValue)) {
    throw new NonMembershipProofError("non-membership proof: the longest prefix's membership proof is for a different node");
  }
  verifyMembership(config, rootHash, m);
}

export function verifyLabel(
  config: Configuration, key: VrfPublicKey, akdLabel: Uint8Array, fresh: boolean, version: bigint,
  vrfProof: Uint8Array, expected: NodeLabel,
): void {
  const beta = key.verify(vrfProof, config.vrfAlpha(akdLabel, fresh, version));
  if (!labelEquals(leafLabel(beta), expected)) {
    throw new VrfError(
      `expected first 32 bytes of the VRF output did NOT match the supplied label (${fresh ? "fresh" : "stale"} version ${version})`);
  }
}

function verifyAtLabel(
  config: Configuration, key: VrfPublicKey, rootHash: Uint8Array, akdLabel: Uint8Array, fresh: boolean,
  version: bigint, vrfProof: Uint8Array, proof: MembershipProof | NonMembershipProof, nonMembership: boolean,
): void {
  verifyLabel(config, key, akdLabel, fresh, version, vrfProof, proof.label);
  if (nonMembership) verifyNonMembership(config, rootHash, proof as NonMembershipProof);
  else verifyMembership(config, rootHash, proof as MembershipProof);
}

function verifyValueCommitment(
  config: Configuration, value: Uint8Array, epoch: bigint, nonce: Uint8Array, m: MembershipProof,
  error: typeof LookupProofError | typeof HistoryProofError,
): void {
  if (epoch >= 2n ** 64n) throw new MalformedError(`epoch ${epoch} does not fit in 64 bits`);
  const expected = config.leafHash(config.commitment(value, nonce), epoch);
  if (!equalBytes(expected, m.hashVal)) throw new error("hash of plaintext value did not match existence proof hash");
}

/** Verify a lookup proof: `akdLabel` has `value` at `version`, and no newer version exists. */
export function lookupVerify(
  config: Configuration, vrfPublicKey: Uint8Array | VrfPublicKey, rootHash: Uint8Array,
  currentEpoch: bigint, akdLabel: Uint8Array, proofOrBytes: LookupProof | Uint8Array,
): VerifyResult {
  checkDigest(rootHash, "root hash");
  const proof = proofOrBytes instanceof Uint8Array ? decodeLookupProof(proofOrBytes) : proofOrBytes;
  const key = publicKey(vrfPublicKey);
  if (proof.version > currentEpoch) {
    throw new LookupProofError(`proof version ${proof.version} is greater than current epoch ${currentEpoch}`);
  }
  if (proof.version < 1n) throw new LookupProofError("proof version 0 is invalid: versions start at 1");
  verifyValueCommitment(config, proof.value, proof.epoch, proof.commitmentNonce, proof.existenceProof, LookupProofError);
  verifyAtLabel(config, key, rootHash, akdLabel, true, proof.version, proof.existenceVrfProof, proof.existenceProof, false);
  verifyAtLabel(config, key, rootHash, akdLabel, true, markerVersion(proof.version), proof.markerVrfProof, proof.markerProof, false);
  verifyAtLabel(config, key, rootHash, akdLabel, false, proof.version, proof.freshnessVrfProof, proof.freshnessProof, true);
  return { epoch: proof.epoch, version: proof.version, value: proof.value };
}

function checkHistoryShape(proof: HistoryProof, currentEpoch: bigint, params: HistoryParams): void {
  const updates = proof.updateProofs;
  if (!updates.length) throw new HistoryProofError("history proof has no update proofs");
  for (let i = 0; i + 1 < updates.length; i++) {
    if (updates[i + 1]!.version + 1n !== updates[i]!.version) {
      throw new HistoryProofError("update proofs are not consecutive decreasing versions");
    }
  }
  const start = updates[updates.length - 1]!.version;
  const end = updates[0]!.version;
  if (start === 0n) throw new HistoryProofError("history proof contains version 0");
  if (end > currentEpoch) throw new HistoryProofError(`latest version ${end} is greater than current epoch ${currentEpoch}`);
  if (params.mostRecent === null) {
    if (start !== 1n) throw new HistoryProofError(`complete history must start at version 1, starts at ${start}`);
  } else {
    if (updates.length > params.mostRecent) throw new HistoryProofError("history proof has more updates than MostRecent");
    if (updates.length < params.mostRecent && start !== 1n) {
      throw new HistoryProofError("history proof has fewer than MostRecent updates but does not reach version 1");
    }
  }
}

/** Verify a key-history proof; one result per version, newest first. */
export function keyHistoryVerify(
  config: Configuration, vrfPublicKey: Uint8Array | VrfPublicKey, rootHash: Uint8Array,
  currentEpoch: bigint, akdLabel: Uint8Array, proofOrBytes: HistoryProof | Uint8Array,
  params: HistoryParams = COMPLETE,
): VerifyResult[] {
  checkDigest(rootHash, "root hash");
  const proof = proofOrBytes instanceof Uint8Array ? decodeHistoryProof(proofOrBytes) : proofOrBytes;
  const key = publicKey(vrfPublicKey);
  checkHistoryShape(proof, currentEpoch, params);
  const updates = proof.updateProofs;
  const start = updates[updates.length - 1]!.version;
  const end = updates[0]!.version;
  const [past, future] = markerVersions(start, end, currentEpoch);
  if (!(past.length === proof.pastMarkerVrfProofs.length && past.length === proof.existenceOfPastMarkerProofs.length)) {
    throw new HistoryProofError(`expected ${past.length} past-marker proofs`);
  }
  if (!(future.length === proof.futureMarkerVrfProofs.length && future.length === proof.nonExistenceOfFutureMarkerProofs.length)) {
    throw new HistoryProofError(`expected ${future.length} future-marker proofs`);
  }
  const results: VerifyResult[] = [];
  let lastEpoch: bigint | null = null;
  for (const u of updates) {
    if (lastEpoch !== null && u.epoch > lastEpoch) throw new HistoryProofError("update proof epochs are not decreasing");
    lastEpoch = u.epoch;
    verifyValueCommitment(config, u.value, u.epoch, u.commitmentNonce, u.existenceProof, HistoryProofError);
    verifyAtLabel(config, key, rootHash, akdLabel, true, u.version, u.existenceVrfProof, u.existenceProof, false);
    if (u.version > 1n) {
      if (u.previousVersionProof === null) throw new HistoryProofError("missing membership proof for previous version");
      if (u.previousVersionVrfProof === null) throw new HistoryProofError("missing VRF proof for previous version");
      const stale = config.leafHash(config.staleAzksValue, u.epoch);
      if (!equalBytes(stale, u.previousVersionProof.hashVal)) {
        throw new HistoryProofError(`stale marker of version ${u.version - 1n} was not inserted in epoch ${u.epoch}`);
      }
      verifyAtLabel(config, key, rootHash, akdLabel, false, u.version - 1n, u.previousVersionVrfProof, u.previousVersionProof, false);
    }
    results.push({ epoch: u.epoch, version: u.version, value: u.value });
  }
  past.forEach((version, i) => {
    verifyAtLabel(config, key, rootHash, akdLabel, true, version, proof.pastMarkerVrfProofs[i]!, proof.existenceOfPastMarkerProofs[i]!, false);
  });
  future.forEach((version, i) => {
    try {
      verifyAtLabel(config, key, rootHash, akdLabel, true, version, proof.futureMarkerVrfProofs[i]!, proof.nonExistenceOfFutureMarkerProofs[i]!, true);
    } catch (exc) {
      if (exc instanceof NonMembershipProofError || exc instanceof MembershipProofError || exc instanceof VrfError) {
        throw new HistoryProofError(`non-existence of future marker proof for version ${version} does not verify (${exc.message})`);
      }
      throw exc;
    }
  });
  return results;
}
