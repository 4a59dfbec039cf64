/**
 * The Node half of the cross-language differential (tests/web/test_differential.py): reads a
 * JSON file of cases (bundle, history or proof-of-absence responses, the client's previous
 * head, the policy), verifies each with glasskey-web and prints one JSON line per case: "ok"
 * or the alert code.
 * Every case runs twice, with noble's Ed25519 alone and with WebCrypto's checks first (the
 * client's path, ./src/client/preverify.ts); both must give the same verdict.
 * One process for all cases keeps the test's runtime modest.
 */

import { readFileSync } from "node:fs";
import { fromBase64OrNull, fromHex } from "../src/bytes.js";
import { GlasskeyError } from "../src/errors.js";
import { clearEd25519Cache } from "../src/ed25519.js";
import { clearCheckpointCache } from "../src/log/note.js";
import { preverifySignatures } from "../src/client/preverify.js";
import { verifyAbsence } from "../src/client/absence.js";
import { checkPolicy, verifyBundle, verifyHistory, type Head, type Trust, type VerificationPolicy } from "../src/client/verify.js";

interface TrustJson {
  origin: string; log_public_key: string; vrf_public_key: string; configuration: string;
  domain_label: string | null; max_publication_delay: number | null; checkpoint_refresh: number | null;
}
interface CaseJson {
  kind: "bundle" | "history" | "absence";
  user_id: string;
  body: unknown;
  previous: { size: number; log_root: string; note: string } | null;
  most_recent: number | null;
  witnesses?: string[];
  witness_threshold?: number;
  now?: number;
}
interface Input {
  trust: TrustJson; now: number; max_age: number | null;
  auditor: { keys: string[]; namespace: string; required: boolean } | null;
  cases: CaseJson[];
}

const input = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Input;
const t = input.trust;
const trust: Trust = {
  origin: t.origin, logPublicKey: t.log_public_key, vrfPublicKey: fromHex(t.vrf_public_key),
  configuration: t.configuration, domainLabel: t.domain_label === null ? null : new TextEncoder().encode(t.domain_label),
  maxPublicationDelay: t.max_publication_delay, checkpointRefresh: t.checkpoint_refresh,
};
const policy: VerificationPolicy = {
  trust, maxAge: input.max_age,
  auditor: input.auditor && { keys: input.auditor.keys.map(fromHex), namespace: input.auditor.namespace, required: input.auditor.required },
};

/** "ok" or the alert code of verifying case `c`, with WebCrypto's Ed25519 checks first or not. */
async function verdict(c: CaseJson, webCrypto: boolean): Promise<string> {
  const previous: Head | null = c.previous && {
    origin: trust.origin, size: BigInt(c.previous.size), logRoot: fromBase64OrNull(c.previous.log_root)!,
    note: c.previous.note, signedAt: null,
  };
  const now = c.now ?? input.now;
  // Cold signatures each time: a checkpoint opened before would skip both Ed25519 paths.
  clearCheckpointCache();
  clearEd25519Cache();
  try {
    const p: VerificationPolicy = { ...policy, witnesses: c.witnesses ?? [], witnessThreshold: c.witness_threshold ?? 0 };
    checkPolicy(p);
    if (webCrypto) await preverifySignatures(p, c.body);
    if (c.kind === "bundle") verifyBundle(p, c.user_id, c.body, previous, { now });
    else if (c.kind === "absence") verifyAbsence(p, c.user_id, c.body, previous, { now });
    else verifyHistory(p, c.user_id, c.body, previous, { mostRecent: c.most_recent }, { now });
    return "ok";
  } catch (err) {
    return err instanceof GlasskeyError ? err.code : `crash:${String(err)}`;
  }
}

// Each case through both Ed25519 paths (noble alone; WebCrypto first, as GlasskeyClient
// does): a case on which they differ is reported as such, and fails the test.
const out: string[] = [];
for (const c of input.cases) {
  const noble = await verdict(c, false);
  const web = await verdict(c, true);
  out.push(noble === web ? noble : `noble:${noble} webcrypto:${web}`);
}
process.stdout.write(JSON.stringify(out) + "\n");
