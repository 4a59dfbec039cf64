/**
 * The error and alert vocabulary, mirroring glasskey.core.errors and glasskey.client._alerts.
 *
 * Why the same codes: an app that embeds both clients (a Python backend, a web front end)
 * handles one set of alert codes; the cross-language differential test compares them.
 * Every verification failure is a VerificationError with a stable `code`.
 */

export class GlasskeyError extends Error {
  readonly code: string = "error";
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class UsageError extends GlasskeyError {
  override readonly code: string = "usage";
}

export class VerificationError extends GlasskeyError {
  override readonly code: string = "verification_failed";
}

export class MalformedError extends VerificationError {
  override readonly code: string = "malformed";
}

export class ProofError extends VerificationError {
  override readonly code: string = "invalid_proof";
}

export class MembershipProofError extends ProofError {
  override readonly code: string = "invalid_membership_proof";
}

export class NonMembershipProofError extends ProofError {
  override readonly code: string = "invalid_non_membership_proof";
}

export class LookupProofError extends ProofError {
  override readonly code: string = "invalid_lookup_proof";
}

/** A proof that a label has no published version does not verify (glasskey.core.errors). */
export class AbsenceProofError extends ProofError {
  override readonly code: string = "invalid_absence_proof";
}

/**
 * The server says a user has no key (404) but does not prove it: no proof of absence, or one
 * that does not verify for this label in the signed epoch. The user may exist and be hidden
 * from this client; do not treat the contact as keyless.
 */
export class UnprovenAbsence extends ProofError {
  override readonly code: string = "unproven_absence";
}

/** A version of a user this client verified before is missing (here: the user proven absent). */
export class ContactHistoryInconsistent extends VerificationError {
  override readonly code: string = "contact_history_inconsistent";
}

export class HistoryProofError extends ProofError {
  override readonly code: string = "invalid_history_proof";
}

export class VrfError extends VerificationError {
  override readonly code: string = "invalid_vrf";
}

export class ConsistencyError extends VerificationError {
  override readonly code: string = "inconsistent";
}

export class InclusionError extends VerificationError {
  override readonly code: string = "invalid_inclusion_proof";
}

export class SignatureError extends VerificationError {
  override readonly code: string = "invalid_signature";
}

export class ForkDetected extends ConsistencyError {
  override readonly code: string = "fork_detected";
}

export class RollbackDetected extends ConsistencyError {
  override readonly code: string = "rollback_detected";
}

export class StaleHead extends VerificationError {
  override readonly code: string = "stale_head";
}

// -- client alerts (glasskey.client._alerts) ---------------------------------------------

export class WrongLabel extends VerificationError {
  override readonly code: string = "wrong_label";
}

export class UnexpectedKeyVersion extends VerificationError {
  override readonly code: string = "unexpected_version";
}

export class UpdateNotPublished extends VerificationError {
  override readonly code: string = "update_not_published";
}

export class KeyChanged extends ForkDetected {
  override readonly code: string = "key_changed";
}

export class TrustMismatch extends SignatureError {
  override readonly code: string = "trust_mismatch";
}

/**
 * The pinned VRF key is not the one the server's key document declares, while the log key
 * matches: a wrongly configured VRF key (or a server that changed it). Not about one contact.
 */
export class VrfKeyMismatch extends TrustMismatch {
  override readonly code: string = "vrf_key_mismatch";
}

/** Fewer than the policy's threshold of pinned witnesses cosigned the checkpoint. */
export class UnwitnessedHead extends SignatureError {
  override readonly code: string = "unwitnessed_head";
}

export class AuditorSignatureInvalid extends SignatureError {
  override readonly code: string = "auditor_signature_invalid";
}

export class AuditorSignatureMissing extends SignatureError {
  override readonly code: string = "auditor_signature_missing";
}

/** A request that failed at the HTTP level (the server's error body, or the network). */
export class RequestError extends GlasskeyError {
  override readonly code: string = "server_error";
  constructor(
    message: string,
    readonly status: number = 0,
    readonly serverCode: string | null = null,
    /** The error response's JSON body (null: none, or not JSON). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

export class NotFound extends RequestError {
  override readonly code: string = "not_found";
}

/** The user has no published key, and the server proved it (`absence` verified). */
export class UserNotFound extends NotFound {
  override readonly code: string = "user_not_found";
  constructor(message: string, readonly epoch: bigint) {
    super(message, 404, "not_found");
  }
}

/** A monitoring finding (monitor() reports all of them rather than stop at the first). */
export interface Alert {
  readonly code: string;
  readonly message: string;
  readonly label: string;
  readonly version: number | null;
}

export function alertFromError(err: VerificationError, label: string, version: number | null = null): Alert {
  return { code: err.code, message: err.message, label, version };
}
