/**
 * The client's memory (glasskey.client._state): pinned keys, the last verified head, the
 * (label, version) → key digest pairs seen, own uploads, the auditor's newest epoch, and —
 * for the web UI — the device labels an owner gives their key versions. Values are stored as
 * SHA-256 digests only. Why persistent: rollback and fork detection compare what the server
 * says now with what it said before.
 *
 * One small key-value interface, three backends: memory (tests, throwaway clients), a JSON
 * file (Node) and IndexedDB (browsers, `indexedDbBackend` in ./idb.ts).
 */

import { fromBase64OrNull, toBase64 } from "../bytes.js";
import type { Head, Trust } from "./verify.js";

export interface KvBackend {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

export function memoryBackend(): KvBackend {
  const data = new Map<string, string>();
  return {
    get: async (key) => {
      const v = data.get(key);
      return v === undefined ? undefined : JSON.parse(v);
    },
    put: async (key, value) => {
      data.set(key, JSON.stringify(value));
    },
  };
}

interface TrustJson {
  origin: string; logPublicKey: string; vrfPublicKey: string; configuration: string; domainLabel: string | null;
  maxPublicationDelay: number | null; checkpointRefresh: number | null;
}
interface HeadJson { origin: string; size: string; logRoot: string; note: string; signedAt: number | null }
export interface Observation { version: number; epoch: number; sha256: string }
export interface OwnUpload { uploadId: string; sha256: string; sentAt: number; updateId: string | null }

/** An auditor pin as the web UI stores it (see ClientState.auditorPin). */
export interface StoredAuditorPin { url: string; key: string; namespace: string }

export class ClientState {
  constructor(readonly backend: KvBackend) {}

  async trust(server: string): Promise<Trust | null> {
    const t = (await this.backend.get(`trust:${server}`)) as TrustJson | undefined;
    if (t === undefined) return null;
    return {
      ...t, vrfPublicKey: fromBase64OrNull(t.vrfPublicKey)!,
      domainLabel: t.domainLabel === null ? null : fromBase64OrNull(t.domainLabel)!,
    };
  }

  async pin(server: string, trust: Trust): Promise<void> {
    const t: TrustJson = {
      ...trust, vrfPublicKey: toBase64(trust.vrfPublicKey),
      domainLabel: trust.domainLabel === null ? null : toBase64(trust.domainLabel),
    };
    await this.backend.put(`trust:${server}`, t);
  }

  async head(origin: string): Promise<Head | null> {
    const h = (await this.backend.get(`head:${origin}`)) as HeadJson | undefined;
    if (h === undefined) return null;
    return { ...h, size: BigInt(h.size), logRoot: fromBase64OrNull(h.logRoot)! };
  }

  async storeHead(head: Head): Promise<void> {
    const h: HeadJson = { ...head, size: head.size.toString(), logRoot: toBase64(head.logRoot) };
    await this.backend.put(`head:${head.origin}`, h);
  }

  async observations(origin: string, label: string): Promise<Observation[]> {
    const list = ((await this.backend.get(`seen:${origin}:${label}`)) as Observation[] | undefined) ?? [];
    return [...list].sort((a, b) => a.version - b.version);
  }

  async observe(origin: string, label: string, obs: Observation): Promise<void> {
    const list = await this.observations(origin, label);
    if (list.some((o) => o.version === obs.version)) return;
    list.push(obs);
    await this.backend.put(`seen:${origin}:${label}`, list);
  }

  async ownUploads(origin: string, label: string): Promise<OwnUpload[]> {
    return ((await this.backend.get(`uploads:${origin}:${label}`)) as OwnUpload[] | undefined) ?? [];
  }

  async recordUpload(origin: string, label: string, upload: OwnUpload): Promise<void> {
    const list = await this.ownUploads(origin, label);
    list.push(upload);
    await this.backend.put(`uploads:${origin}:${label}`, list);
  }

  async auditorEpoch(namespace: string): Promise<bigint> {
    const v = (await this.backend.get(`auditor:${namespace}`)) as string | undefined;
    return v === undefined ? 0n : BigInt(v);
  }

  /** Raise the stored epoch (it only grows); `asked`: the auditor itself was asked just now. */
  async raiseAuditorEpoch(namespace: string, epoch: bigint, asked = false): Promise<void> {
    if (epoch > (await this.auditorEpoch(namespace))) await this.backend.put(`auditor:${namespace}`, epoch.toString());
    if (asked) await this.backend.put(`auditor-asked:${namespace}`, Date.now() / 1000);
  }

  /** When the auditor itself was last asked for its newest epoch (Unix seconds; null: never). */
  async auditorAskedAt(namespace: string): Promise<number | null> {
    const v = (await this.backend.get(`auditor-asked:${namespace}`)) as number | undefined;
    return v ?? null;
  }

  /** The witness policy this browser's user pinned (web UI settings; empty when none). */
  async witnessPolicy(): Promise<{ witnesses: string[]; threshold: number }> {
    const v = (await this.backend.get("policy:witnesses")) as { witnesses: string[]; threshold: number } | undefined;
    return v ?? { witnesses: [], threshold: 0 };
  }

  async setWitnessPolicy(witnesses: readonly string[], threshold: number): Promise<void> {
    await this.backend.put("policy:witnesses", { witnesses: [...witnesses], threshold });
  }

  /**
   * The auditor this browser's user pinned (web UI settings; null when none): its base URL,
   * Ed25519 key (hex) and this log's namespace, as AuditorPin takes them.
   */
  async auditorPin(): Promise<StoredAuditorPin | null> {
    return ((await this.backend.get("policy:auditor")) as StoredAuditorPin | undefined) ?? null;
  }

  async setAuditorPin(pin: StoredAuditorPin | null): Promise<void> {
    await this.backend.put("policy:auditor", pin === null ? null : { ...pin });
  }

  /** Device labels the owner assigned to their key versions (kept locally, never sent). */
  async deviceLabels(origin: string, label: string): Promise<Record<string, string>> {
    return ((await this.backend.get(`labels:${origin}:${label}`)) as Record<string, string> | undefined) ?? {};
  }

  async setDeviceLabel(origin: string, label: string, version: bigint, name: string): Promise<void> {
    const labels = await this.deviceLabels(origin, label);
    if (name) labels[version.toString()] = name;
    else delete labels[version.toString()];
    await this.backend.put(`labels:${origin}:${label}`, labels);
  }
}
