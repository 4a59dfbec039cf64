/**
 * The verifying client (mirrors glasskey.client.GlasskeyClient): `lookup`, `history`,
 * `monitor(userId, {own})`, trust pinning on first use (or configured), persistent state.
 * It only fetches JSON; every decision is made by ./verify.ts, then remembered in the state.
 */

import { fromHex, toHex } from "../bytes.js";
import {
  alertFromError, ContactHistoryInconsistent, GlasskeyError, KeyChanged, NotFound, RequestError, RollbackDetected,
  SignatureError, TrustMismatch, UnexpectedKeyVersion, UpdateNotPublished, UserNotFound, VerificationError, VrfError,
  VrfKeyMismatch, WrongLabel, type Alert,
} from "../errors.js";
import { parseLastVerifiedEpoch } from "../plexi.js";
import { verifyAbsence } from "./absence.js";
import { ownHistoryAlerts } from "./own.js";
import { preverifySignatures } from "./preverify.js";
import { ClientState, memoryBackend } from "./state.js";
import {
  checkPolicy, DEFAULT_AUDITOR_CHECK_INTERVAL, keySha256, verifyBundle, verifyCountersignature, verifyHistory,
  type AuditorPin, type Head, type Trust, type VerificationPolicy, type VerifiedHistory, type VerifiedKey,
} from "./verify.js";

export interface ClientOptions {
  state?: ClientState;
  policy?: Partial<VerificationPolicy>;
  fetch?: typeof fetch;
}

export interface MonitorReport {
  readonly userId: string;
  readonly history: VerifiedHistory;
  readonly alerts: readonly Alert[];
  readonly ok: boolean;
}

const UNDECLARED_PUBLICATION_DELAY = 3600;

function sameKeys(a: Trust, b: Trust): boolean {
  return a.origin === b.origin && a.logPublicKey === b.logPublicKey && toHex(a.vrfPublicKey) === toHex(b.vrfPublicKey)
    && a.configuration === b.configuration
    && toHex(a.domainLabel ?? new Uint8Array(0)) === toHex(b.domainLabel ?? new Uint8Array(0));
}

/** What a log's key document (`/api/transparency/keys`) asks a client to pin. */
export function trustOf(keys: Record<string, unknown>): Trust {
  const str = (k: string): string => {
    if (typeof keys[k] !== "string") throw new VerificationError(`the server's key document field '${k}' is missing`);
    return keys[k] as string;
  };
  const num = (k: string): number | null => (typeof keys[k] === "number" ? (keys[k] as number) : null);
  const domain = keys["domain_label"];
  return {
    origin: str("origin"), logPublicKey: str("log_public_key"), vrfPublicKey: fromHex(str("vrf_public_key")),
    configuration: str("configuration"),
    domainLabel: typeof domain === "string" && domain ? new TextEncoder().encode(domain) : null,
    maxPublicationDelay: num("max_publication_delay"), checkpointRefresh: num("checkpoint_refresh"),
  };
}

export class GlasskeyClient {
  readonly server: string;
  readonly state: ClientState;
  readonly policy: VerificationPolicy;
  private readonly fetchImpl: typeof fetch;

  constructor(server: string, options: ClientOptions = {}) {
    this.server = server.replace(/\/+$/, "");
    this.state = options.state ?? new ClientState(memoryBackend());
    this.policy = { trust: null, maxAge: "log", auditor: null, witnesses: [], witnessThreshold: 0, ...options.policy };
    checkPolicy(this.policy);
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async get(path: string, params: Record<string, string | number | bigint> = {}): Promise<unknown> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    return this.getUrl(`${this.server}${path}${query ? `?${query}` : ""}`);
  }

  private async getUrl(url: string): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: { accept: "application/json" } });
    } catch (err) {
      throw new RequestError(`network error: ${String(err)}`);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      if (response.ok) throw new VerificationError("the server's response is not JSON");
    }
    if (!response.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      const message = error?.message ?? `HTTP ${response.status}`;
      if (response.status === 404) throw new NotFound(message, 404, error?.code ?? null, body);
      throw new RequestError(message, response.status, error?.code ?? null, body);
    }
    return body;
  }

  /** The pinned keys: stored, else configured, else the server's key document (first use). */
  async trust(): Promise<Trust> {
    const stored = await this.state.trust(this.server);
    const wanted = this.policy.trust;
    if (stored !== null) {
      if (wanted !== null && !sameKeys(wanted, stored)) {
        throw new TrustMismatch("the configured keys differ from the ones pinned earlier for this server");
      }
      return stored;
    }
    const trust = wanted ?? trustOf((await this.get("/api/transparency/keys")) as Record<string, unknown>);
    await this.state.pin(this.server, trust);
    return trust;
  }

  private pinnedPolicy(trust: Trust): VerificationPolicy {
    return { ...this.policy, trust };
  }

  /**
   * What a checkpoint signature or VRF proof failing under the pinned keys means (mirrors
   * glasskey.client.GlasskeyClient._explain). The key document says whether the server now
   * presents other keys: another log key is `trust_mismatch`, the same log key with another
   * VRF key `vrf_key_mismatch` (a wrongly pinned VRF key). With the pinned keys declared, a
   * VRF failure means the proof is for another label (or forged): `wrong_label`; a plain
   * signature failure stays what it was. Only those two exact error types are explained.
   */
  private async explain(trust: Trust, exc: unknown): Promise<unknown> {
    const kind = exc instanceof Error ? exc.constructor : null;
    if (kind !== SignatureError && kind !== VrfError) return exc;
    const message = (exc as Error).message;
    let declared: Trust;
    try {
      declared = trustOf((await this.get("/api/transparency/keys")) as Record<string, unknown>);
    } catch (err) {
      if (err instanceof GlasskeyError) return exc; // no key document: the failure speaks for itself
      throw err;
    }
    if (declared.origin !== trust.origin || declared.logPublicKey !== trust.logPublicKey) {
      return new TrustMismatch(`${this.server} now presents log key ${declared.logPublicKey}, not ${trust.logPublicKey} pinned for it: a re-created server, another server at this URL, or an attacker`);
    }
    if (toHex(declared.vrfPublicKey) !== toHex(trust.vrfPublicKey)) {
      return new VrfKeyMismatch(`the pinned VRF key ${toHex(trust.vrfPublicKey)} is not the one ${this.server} declares (${toHex(declared.vrfPublicKey)}): check the configured VRF key (or the server changed its VRF key)`);
    }
    if (kind === VrfError) {
      return new WrongLabel(`${message}; the server declares that very key, so the proof is for another label (or forged)`);
    }
    return exc;
  }

  /**
   * The newest epoch the pinned auditor is known to have countersigned (0: none), as
   * glasskey.client._core.ClientCore._auditor_epoch: from the state, and — when the pin names
   * the auditor's URL and it was last asked more than `checkInterval` seconds ago — from the
   * auditor itself: its last verified epoch, then that epoch's countersignature, verified
   * under the pinned keys (an unverified number could only make the client refuse honest
   * heads). The stored epoch only grows. An unreachable auditor fails the call (a
   * RequestError): a client that pinned it chose not to verify without it.
   */
  private async auditorEpoch(pin: AuditorPin | null): Promise<bigint> {
    if (pin === null) return 0n;
    let known = await this.state.auditorEpoch(pin.namespace);
    const url = pin.url ?? null;
    const askedAt = await this.state.auditorAskedAt(pin.namespace);
    const interval = pin.checkInterval ?? DEFAULT_AUDITOR_CHECK_INTERVAL;
    if (url === null || (askedAt !== null && Date.now() / 1000 - askedAt < interval)) return known;
    const base = `${url.replace(/\/+$/, "")}/namespaces/${encodeURIComponent(pin.namespace)}`;
    let last: bigint;
    try {
      last = parseLastVerifiedEpoch(await this.getUrl(`${base}/last-verified-epoch`)).epoch;
    } catch (exc) {
      if (!(exc instanceof NotFound)) throw exc; // nothing countersigned yet
      last = 0n;
    }
    if (last > known) {
      const raw = await this.getUrl(`${base}/audits/${last}`);
      const signature = verifyCountersignature(raw, pin.keys, pin.namespace, "the auditor's newest signature");
      if (signature.epoch > known) known = signature.epoch;
    }
    await this.state.raiseAuditorEpoch(pin.namespace, known, true);
    return known;
  }

  /**
   * The verified `UserNotFound` for a bundle 404, else `UnprovenAbsence` (thrown), as
   * glasskey.client.GlasskeyClient._absent: the proven head is stored (so a client that saw
   * the empty log accepts its first epoch), and a user proven absent whose versions this
   * client verified before is `contact_history_inconsistent`.
   */
  private async absent(
    trust: Trust, userId: string, claim: NotFound, previous: Head | null, auditorEpoch: bigint,
  ): Promise<UserNotFound> {
    const body = claim.body;
    const raw = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["absence"] : undefined;
    const absence = verifyAbsence(this.pinnedPolicy(trust), userId, typeof raw === "object" ? raw : null, previous, { auditorEpoch });
    if (this.policy.auditor !== null) await this.state.raiseAuditorEpoch(this.policy.auditor.namespace, absence.auditorEpoch);
    const seen = await this.state.observations(trust.origin, userId);
    const newest = seen[seen.length - 1];
    if (newest !== undefined) {
      throw new ContactHistoryInconsistent(`the server proves ${JSON.stringify(userId)} has no key, but this client verified version ${newest.version} of it before: a rewritten directory`);
    }
    await this.state.storeHead(absence.head);
    return new UserNotFound(`${userId} has no published key (proven absent in epoch ${absence.epoch})`, absence.epoch);
  }

  async lookup(userId: string): Promise<VerifiedKey> {
    const trust = await this.trust();
    const previous = await this.state.head(trust.origin);
    const auditorEpoch = await this.auditorEpoch(this.policy.auditor);
    let body: unknown;
    try {
      body = await this.get(`/api/crypto/bundles/${encodeURIComponent(userId)}`, previous ? { known_size: previous.size } : {});
    } catch (exc) {
      if (exc instanceof NotFound) throw await this.absent(trust, userId, exc, previous, auditorEpoch);
      throw exc;
    }
    await preverifySignatures(this.pinnedPolicy(trust), body);
    let key: VerifiedKey;
    try {
      key = verifyBundle(this.pinnedPolicy(trust), userId, body, previous, { auditorEpoch });
    } catch (exc) {
      throw await this.explain(trust, exc);
    }
    if (this.policy.auditor !== null) await this.state.raiseAuditorEpoch(this.policy.auditor.namespace, key.auditorEpoch);
    const observed = await this.state.observations(trust.origin, userId);
    const newest = observed[observed.length - 1];
    if (newest !== undefined && key.version < BigInt(newest.version)) {
      throw new RollbackDetected(`${JSON.stringify(userId)} is served at version ${key.version}, but version ${newest.version} was verified earlier`);
    }
    const digest = toHex(keySha256(key.key));
    const seen = observed.find((o) => BigInt(o.version) === key.version);
    if (seen !== undefined && seen.sha256 !== digest) {
      throw new KeyChanged(`version ${key.version} of ${JSON.stringify(userId)} now has a different key than the one verified earlier: the server rewrote history`);
    }
    await this.state.storeHead(key.head);
    if (seen === undefined) {
      await this.state.observe(trust.origin, userId, { version: Number(key.version), epoch: Number(key.publishedEpoch), sha256: digest });
    }
    return key;
  }

  async history(userId: string, mostRecent: number | null = null): Promise<VerifiedHistory> {
    const trust = await this.trust();
    const previous = await this.state.head(trust.origin);
    const query: Record<string, string | number | bigint> = previous ? { known_size: previous.size } : {};
    if (mostRecent !== null) query["most_recent"] = mostRecent;
    const auditorEpoch = await this.auditorEpoch(this.policy.auditor);
    const body = await this.get(`/api/crypto/history/${encodeURIComponent(userId)}`, query);
    await preverifySignatures(this.pinnedPolicy(trust), body);
    let history: VerifiedHistory;
    try {
      history = verifyHistory(this.pinnedPolicy(trust), userId, body, previous, { mostRecent }, { auditorEpoch });
    } catch (exc) {
      throw await this.explain(trust, exc);
    }
    if (this.policy.auditor !== null) await this.state.raiseAuditorEpoch(this.policy.auditor.namespace, history.auditorEpoch);
    const observed = await this.state.observations(trust.origin, userId);
    for (const r of history.versions) {
      const seen = observed.find((o) => BigInt(o.version) === r.version);
      if (seen !== undefined && seen.sha256 !== toHex(keySha256(r.value))) {
        throw new KeyChanged(`version ${r.version} of ${JSON.stringify(userId)} now has a different key than the one verified earlier: the server rewrote history`);
      }
    }
    await this.state.storeHead(history.head);
    for (const r of history.versions) {
      await this.state.observe(trust.origin, userId, { version: Number(r.version), epoch: Number(r.epoch), sha256: toHex(keySha256(r.value)) });
    }
    return history;
  }

  /**
   * Complete history, verified; alerts for versions verified earlier that are missing
   * (rollback) and, for your own label, versions that are not this device's uploads in the
   * order sent — a key it never uploaded, or an old upload published again —
   * (`unexpected_version`) and uploads not published within the log's promised delay
   * (./own.ts). Nothing published at all: `update_not_published` if an upload is overdue.
   */
  async monitor(userId: string, options: { own?: boolean } = {}): Promise<MonitorReport> {
    const own = options.own ?? false;
    const trust = await this.trust();
    const seenBefore = await this.state.observations(trust.origin, userId);
    const uploads = own ? await this.state.ownUploads(trust.origin, userId) : [];
    const deadline = trust.maxPublicationDelay ?? UNDECLARED_PUBLICATION_DELAY;
    let history: VerifiedHistory;
    try {
      history = await this.history(userId);
    } catch (exc) {
      // No version at all: nothing to report but our uploads that should be there.
      const overdue = exc instanceof NotFound ? ownHistoryAlerts(userId, [], uploads, deadline, Date.now() / 1000) : [];
      if (overdue[0] !== undefined) throw new UpdateNotPublished(overdue[0].message);
      throw exc;
    }
    const alerts: Alert[] = own ? ownHistoryAlerts(userId, history.versions, uploads, deadline, Date.now() / 1000) : [];
    const proven = new Set(history.versions.map((r) => Number(r.version)));
    for (const o of seenBefore) {
      if (!proven.has(o.version)) {
        alerts.push(alertFromError(new RollbackDetected(`version ${o.version} of ${JSON.stringify(userId)}, verified earlier, is missing from the complete history`), userId, o.version));
      }
    }
    return { userId, history, alerts, ok: alerts.length === 0 };
  }
}

