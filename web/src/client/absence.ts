/**
 * Pure verification of a proof of absence (glasskey.client._absence `verify_absence`): a 404
 * for `/api/crypto/bundles/{user}` may carry `absence`, the VRF proof of the label's version
 * 1 and akd's non-membership proof of that node, in a signed state. Only when that verifies
 * (checkpoint steps 1-4, the signed empty log included, plus `absenceVerify`) is the user
 * proven absent; anything less is `unproven_absence`, because a server could otherwise hide a
 * user's key behind a bare "not found".
 */

import { utf8 } from "../bytes.js";
import { AbsenceProofError, MalformedError, UnprovenAbsence } from "../errors.js";
import { absenceVerify, decodeAbsenceProof } from "../akd/absence.js";
import { b64, object, signedState, str } from "./json.js";
import {
  configurationOf, countersignature, maxAgeFor, pinned, verifySignedState, type Head, type SignedState,
  type VerificationPolicy,
} from "./verify.js";

/** `userId` had no version in the directory epoch `epoch` (0: the log was still empty). */
export interface VerifiedAbsence {
  readonly userId: string;
  readonly epoch: bigint;
  readonly rootHash: Uint8Array;
  readonly head: Head;
  readonly auditorEpoch: bigint;
}

interface AbsenceBody extends SignedState {
  readonly userId: string;
  readonly vrfProof: Uint8Array;
  readonly nonMembershipProof: Uint8Array;
}

function parseAbsence(body: unknown): { fields: AbsenceBody; raw: Record<string, unknown> } {
  const what = "the proof of absence";
  const raw = object(body, what);
  const fields = {
    ...signedState(raw, what), userId: str(raw, "user_id", what), vrfProof: b64(raw, "vrf_proof", what),
    nonMembershipProof: b64(raw, "non_membership_proof", what),
  };
  return { fields, raw };
}

/**
 * Verify the `absence` object of a bundle 404 for `userId` (null: a bare 404). A missing,
 * unreadable or foreign one, or a proof that does not verify, is `UnprovenAbsence`; the
 * signed state's own failures keep their codes (`invalid_signature`, `fork_detected`, ...).
 */
export function verifyAbsence(
  policy: VerificationPolicy, userId: string, body: unknown, previous: Head | null,
  options: { now?: number | null; auditorEpoch?: bigint } = {},
): VerifiedAbsence {
  const trust = pinned(policy);
  if (body === null || body === undefined) throw new UnprovenAbsence(`the server says ${JSON.stringify(userId)} has no key but sends no proof of absence`);
  let parsed: ReturnType<typeof parseAbsence>;
  try {
    parsed = parseAbsence(body);
  } catch (exc) {
    if (exc instanceof MalformedError) throw new UnprovenAbsence(`unreadable proof of absence for ${JSON.stringify(userId)}: ${exc.message}`);
    throw exc;
  }
  const { fields, raw } = parsed;
  if (fields.userId !== userId) throw new UnprovenAbsence(`asked for ${JSON.stringify(userId)}, the proof of absence is for ${JSON.stringify(fields.userId)}`);
  const state = verifySignedState(trust, fields, previous, maxAgeFor(policy, trust), options.now ?? null, policy.witnesses, policy.witnessThreshold, true);
  if (state.epoch !== 0n) {
    try {
      const proof = decodeAbsenceProof(fields.vrfProof, fields.nonMembershipProof);
      absenceVerify(configurationOf(trust), trust.vrfPublicKey, state.rootHash, utf8.encode(userId), proof);
    } catch (exc) {
      if (exc instanceof AbsenceProofError || exc instanceof MalformedError) {
        throw new UnprovenAbsence(`the proof of absence of ${JSON.stringify(userId)} is invalid: ${exc.message}`);
      }
      throw exc;
    }
  }
  const [, newest] = countersignature(policy.auditor, raw, state.epoch, state.rootHash, options.auditorEpoch ?? 0n);
  return { userId, epoch: state.epoch, rootHash: state.rootHash, head: state.head, auditorEpoch: newest };
}
