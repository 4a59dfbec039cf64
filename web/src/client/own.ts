/**
 * Owner monitoring (glasskey.client._owner `own_history_alerts`): the versions of our own
 * label against this device's uploads, both in order.
 *
 * Versions must be our uploads, in the order we sent them; an upload skipped over was
 * superseded within one epoch (only the last upload per label in an epoch becomes a version).
 * So the versions are matched to a subsequence of the uploads, as many as possible and, among
 * those matchings, ending as late as possible. A version left over holds a key we never
 * uploaded, or one we uploaded *before* an upload already published (an old request
 * replayed): `unexpected_version`. The uploads after the last matched one are pending, and
 * `update_not_published` once older than the log's `deadline` (seconds).
 */

import { toHex } from "../bytes.js";
import { alertFromError, UnexpectedKeyVersion, UpdateNotPublished, type Alert } from "../errors.js";
import type { VerifyResult } from "../akd/verify.js";
import type { OwnUpload } from "./state.js";
import { keySha256 } from "./verify.js";

/** (matched, index of the last matched upload); compared: more matches first, then a later end. */
type Score = readonly [number, number];

function better(a: Score, b: Score): Score {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? a : b;
}

function sameScore(a: Score, b: Score): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export function ownHistoryAlerts(
  userId: string, versions: readonly VerifyResult[], uploads: readonly OwnUpload[], deadline: number, now: number,
): Alert[] {
  const ordered = [...versions].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const digests = ordered.map((r) => toHex(keySha256(r.value)));
  // best[i][j]: the best score for the first i versions and the first j uploads.
  const best = Array.from({ length: ordered.length + 1 }, () => Array.from({ length: uploads.length + 1 }, (): Score => [0, -1]));
  const at = (i: number, j: number): Score => best[i]![j]!;
  for (let i = 1; i <= ordered.length; i++) {
    for (let j = 1; j <= uploads.length; j++) {
      let score = better(at(i - 1, j), at(i, j - 1));
      if (uploads[j - 1]!.sha256 === digests[i - 1]) score = better(score, [at(i - 1, j - 1)[0] + 1, j - 1]);
      best[i]![j] = score;
    }
  }
  const unmatched: number[] = [];
  let i = ordered.length;
  let j = uploads.length;
  while (i > 0) {
    if (j > 0 && uploads[j - 1]!.sha256 === digests[i - 1] && sameScore(at(i, j), [at(i - 1, j - 1)[0] + 1, j - 1])) {
      i -= 1;
      j -= 1;
    } else if (sameScore(at(i - 1, j), at(i, j)) || j === 0) {
      unmatched.push(i - 1);
      i -= 1;
    } else {
      j -= 1;
    }
  }
  const last = at(ordered.length, uploads.length)[1];
  const sentBeforeLast = new Set(uploads.slice(0, last + 1).map((u) => u.sha256));
  const alerts: Alert[] = [];
  for (const index of unmatched.reverse()) {
    const r = ordered[index]!;
    const what = sentBeforeLast.has(digests[index]!)
      ? "holds a key this client uploaded before a newer upload that is already published: an old upload was published again (a replay reverting your key)"
      : "holds a key this client did not upload";
    const err = new UnexpectedKeyVersion(`version ${r.version} of your label ${JSON.stringify(userId)} (epoch ${r.epoch}) ${what}`);
    alerts.push(alertFromError(err, userId, Number(r.version)));
  }
  for (const upload of uploads.slice(last + 1)) {
    const age = now - upload.sentAt;
    if (age > deadline) alerts.push(alertFromError(notPublished(userId, upload, age, deadline), userId));
  }
  return alerts;
}

function notPublished(userId: string, upload: OwnUpload, age: number, deadline: number): UpdateNotPublished {
  const receipt = upload.updateId !== null
    ? `update ${upload.updateId}`
    : "no receipt: it may not have reached the server, upload it again";
  return new UpdateNotPublished(
    `your upload ${upload.uploadId} for ${JSON.stringify(userId)} (${receipt}; key sha256 ${upload.sha256.slice(0, 16)}…) `
    + `was sent ${age.toFixed(0)}s ago and is not in the log, which promises publication within ${deadline}s: `
    + "the server froze its head or dropped the upload");
}
