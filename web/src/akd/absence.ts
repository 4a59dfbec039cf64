/**
 * Proofs of absence (glasskey.core.akd._absence): a label has no published version at all in
 * a given tree. Versions of a label start at 1 and akd never removes a leaf, so the label has
 * some version exactly when the node of its version 1 (fresh) is in the tree; the proof is the
 * VRF proof that names that node and akd's own `NonMembershipProof` of it. What makes the root
 * the current one is the caller's (the client checks the signed checkpoint).
 */

import { AbsenceProofError, MalformedError, MembershipProofError, NonMembershipProofError, VrfError } from "../errors.js";
import type { VrfPublicKey } from "../ecvrf.js";
import type { Configuration } from "./config.js";
import { checkDigest, publicKey, verifyLabel, verifyNonMembership } from "./verify.js";
import { decodeNonMembershipProof, type NonMembershipProof } from "./wire.js";

/** The version whose absence proves that a label never had any (versions start at 1). */
export const FIRST_VERSION = 1n;

export interface AbsenceProof {
  readonly vrfProof: Uint8Array;
  readonly nonMembership: NonMembershipProof;
}

/** The two wire parts as an `AbsenceProof` (`MalformedError` for unreadable bytes). */
export function decodeAbsenceProof(vrfProof: Uint8Array, nonMembership: Uint8Array): AbsenceProof {
  if (vrfProof.length !== 80) throw new MalformedError("absence proof: the VRF proof must be 80 bytes");
  return { vrfProof, nonMembership: decodeNonMembershipProof(nonMembership) };
}

/**
 * Return only if `proof` shows `akdLabel` has no version in the tree `rootHash`:
 * `AbsenceProofError` when the VRF proof is not for this label's first version or the
 * non-membership proof does not lead to `rootHash`; `MalformedError` for a bad root size.
 */
export function absenceVerify(
  config: Configuration, vrfPublicKey: Uint8Array | VrfPublicKey, rootHash: Uint8Array, akdLabel: Uint8Array,
  proof: AbsenceProof,
): void {
  checkDigest(rootHash, "root hash");
  const key = publicKey(vrfPublicKey);
  const label = new TextDecoder().decode(akdLabel);
  try {
    verifyLabel(config, key, akdLabel, true, FIRST_VERSION, proof.vrfProof, proof.nonMembership.label);
  } catch (exc) {
    if (exc instanceof VrfError) throw new AbsenceProofError(`the absence proof is not about label ${JSON.stringify(label)} version ${FIRST_VERSION}: ${exc.message}`);
    throw exc;
  }
  try {
    verifyNonMembership(config, rootHash, proof.nonMembership);
  } catch (exc) {
    if (exc instanceof NonMembershipProofError || exc instanceof MembershipProofError) {
      throw new AbsenceProofError(`the absence proof does not show ${JSON.stringify(label)} missing from the tree: ${exc.message}`);
    }
    throw exc;
  }
}
