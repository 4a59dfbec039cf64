/**
 * The glasskey web UI: look up a user (verified in this browser), their key history with
 * device labels the owner assigns locally (IndexedDB, never sent), the log's status, and an
 * alert banner when any check fails.
 *
 * DOM contract (tests rely on it; keep it stable):
 * - lookup result `[data-testid=lookup-result]` with `data-verified="true|false"` and
 *   `data-key` (base64; empty when the key is blocked);
 * - alerts `[role=alert]` with `data-code` = the alert code;
 * - history rows `[data-testid=history-row]` with `data-version` and `data-label`
 *   (`unknown` when unlabelled), `data-published` (the verified publication time, Unix
 *   seconds; empty when not served) shown in `[data-testid=history-published]`.
 */

import { fromHexOrNull, toBase64, toHex } from "../bytes.js";
import { GlasskeyError, UsageError } from "../errors.js";
import { GlasskeyClient } from "../client/client.js";
import { ClientState } from "../client/state.js";
import { indexedDbBackend } from "../client/idb.js";
import { openProfileCheckpoint, openWitnessed } from "../log/note.js";
import { checkPolicy, type AuditorPin } from "../client/verify.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function showAlert(code: string, message: string, context: string): void {
  $("alerts").append(el("div", { role: "alert", "data-code": code },
    el("div", {}, `⚠ ${context}: do not use this key. Alert `, el("code", {}, code)),
    el("div", { class: "detail" }, message)));
}

function clearAlerts(): void {
  $("alerts").replaceChildren();
}

function codeOf(err: unknown): [string, string] {
  if (err instanceof GlasskeyError) return [err.code, err.message];
  return ["error", String(err)];
}

async function main(): Promise<void> {
  const state = new ClientState(await indexedDbBackend());
  const pinned = await state.witnessPolicy();
  ($("witness-keys") as HTMLTextAreaElement).value = pinned.witnesses.join("\n");
  ($("witness-threshold") as HTMLInputElement).value = String(pinned.threshold);
  $("policy-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const witnesses = ($("witness-keys") as HTMLTextAreaElement).value.split("\n").map((l) => l.trim()).filter((l) => l);
    const threshold = Number(($("witness-threshold") as HTMLInputElement).value || "0");
    clearAlerts();
    try {
      checkPolicy({ trust: null, maxAge: "log", auditor: null, witnesses, witnessThreshold: threshold });
    } catch (err) {
      const [code, message] = codeOf(err);
      showAlert(code, message, "The witness policy");
      return;
    }
    void state.setWitnessPolicy(witnesses, threshold).then(() => location.reload());
  });
  const stored = await state.auditorPin();
  const auditorPin: AuditorPin | null = stored === null ? null
    : { keys: [fromHexOrNull(stored.key)!], namespace: stored.namespace, required: false, url: stored.url };
  const fields = { url: $("auditor-url") as HTMLInputElement, key: $("auditor-key") as HTMLInputElement, namespace: $("auditor-namespace") as HTMLInputElement };
  fields.url.value = stored?.url ?? "";
  fields.key.value = stored?.key ?? "";
  fields.namespace.value = stored?.namespace ?? "";
  $("auditor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const entered = { url: fields.url.value.trim(), key: fields.key.value.trim().toLowerCase(), namespace: fields.namespace.value.trim() };
    clearAlerts();
    let pin: AuditorPin | null = null;
    try {
      if (entered.url || entered.key || entered.namespace) {
        const key = fromHexOrNull(entered.key);
        if (key === null || key.length !== 32 || !entered.url || !entered.namespace) {
          throw new UsageError("an auditor pin needs its URL, its 32-byte key in hex and this log's namespace");
        }
        pin = { keys: [key], namespace: entered.namespace, required: false, url: entered.url };
      }
      checkPolicy({ trust: null, maxAge: "log", auditor: pin, witnesses: pinned.witnesses, witnessThreshold: pinned.threshold });
    } catch (err) {
      const [code, message] = codeOf(err);
      showAlert(code, message, "The auditor pin");
      return;
    }
    void state.setAuditorPin(pin === null ? null : entered).then(() => location.reload());
  });
  const client = new GlasskeyClient(location.origin, { state, policy: { witnesses: pinned.witnesses, witnessThreshold: pinned.threshold, auditor: auditorPin } });

  async function loadLog(): Promise<void> {
    const out = $("log-output");
    try {
      const trust = await client.trust();
      const root = (await (await fetch("/api/transparency/root")).json()) as { checkpoint: string; epoch: number; tree_size: number; signed_at: number };
      const cp = openProfileCheckpoint(root.checkpoint, trust.origin, trust.logPublicKey);
      const audit = (await (await fetch("/api/transparency/audit-log")).json()) as { entries: { epoch: number; root_hash: string; appended_at: number }[] };
      const auditor = (await (await fetch("/api/transparency/auditor")).json()) as { configured: boolean; namespace?: string; latest?: { epoch?: number } | null };
      const head = await state.head(trust.origin);
      let witnessStatus = "none pinned in this browser";
      if (pinned.witnesses.length) {
        const w = openWitnessed(root.checkpoint, trust.origin, trust.logPublicKey, pinned.witnesses, pinned.threshold);
        witnessStatus = `${w.witnesses.length} of ${pinned.witnesses.length} pinned cosigned (${pinned.threshold} required)`
          + (w.witnesses.length ? `: ${w.witnesses.join(", ")}` : "")
          + (w.witnessedAt === null ? "" : `; witnessed at ${new Date(w.witnessedAt * 1000).toISOString()}`);
      }
      const latest = [...audit.entries].slice(-5).reverse();
      out.replaceChildren(
        el("dl", { "data-testid": "log-status" },
          el("dt", {}, "origin"), el("dd", {}, trust.origin),
          el("dt", {}, "latest epoch"), el("dd", { "data-testid": "log-epoch" }, String(root.epoch)),
          el("dt", {}, "root-log size (signature verified)"), el("dd", { "data-testid": "log-size" }, cp.size.toString()),
          el("dt", {}, "signed at"), el("dd", {}, cp.timestamp === null ? "—" : new Date(cp.timestamp * 1000).toISOString()),
          el("dt", {}, "head this browser verified"), el("dd", { "data-testid": "known-size" }, head ? `size ${head.size}` : "none yet"),
          el("dt", {}, "auditor"), el("dd", { "data-testid": "auditor-status" }, auditor.configured
            ? `${auditor.namespace ?? ""}: countersigned up to epoch ${auditor.latest?.epoch ?? "—"}` : "none configured"),
          el("dt", {}, "witnesses"), el("dd", { "data-testid": "witness-status" }, witnessStatus),
          el("dt", {}, "auditor pinned in this browser"), el("dd", { "data-testid": "auditor-pin" },
            stored === null ? "none" : `${stored.namespace} at ${stored.url}, key ${stored.key.slice(0, 16)}…`),
        ),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "epoch"), el("th", {}, "root hash"), el("th", {}, "published"))),
          el("tbody", {}, ...latest.map((e) => el("tr", {}, el("td", {}, String(e.epoch)), el("td", {}, e.root_hash.slice(0, 16) + "…"),
            el("td", {}, new Date(e.appended_at * 1000).toISOString()))))),
      );
    } catch (err) {
      const [code, message] = codeOf(err);
      out.replaceChildren(el("p", {}, "The log could not be verified."));
      showAlert(code, message, "The log");
    }
  }

  async function renderHistory(userId: string): Promise<void> {
    const out = $("history-output");
    try {
      const trust = await client.trust();
      const history = await client.history(userId);
      const labels = await state.deviceLabels(trust.origin, userId);
      const rows = history.versions.map((v, i) => {
        const name = labels[v.version.toString()] ?? "";
        const input = el("input", { value: name, placeholder: "device name", "aria-label": `device label for version ${v.version}`, "data-testid": "label-input" }) as HTMLInputElement;
        const save = el("button", { type: "button", "data-testid": "label-save" }, "Save");
        save.addEventListener("click", () => {
          void state.setDeviceLabel(trust.origin, userId, v.version, input.value.trim()).then(() => renderHistory(userId));
        });
        // The publication time the verifier checked against the signed checkpoint (null: not served).
        const at = history.publishedAt[i] ?? null;
        return el("tr", { "data-testid": "history-row", "data-version": v.version.toString(), "data-label": name || "unknown", "data-published": at === null ? "" : String(at) },
          el("td", {}, v.version.toString()), el("td", {}, v.epoch.toString()),
          el("td", { "data-testid": "history-published" }, at === null ? "—" : new Date(at * 1000).toISOString()),
          el("td", { class: "key" }, toHex(v.value).slice(0, 24) + (v.value.length > 12 ? "…" : "")),
          el("td", {}, name ? el("span", {}, name) : el("span", { class: "unknown" }, "Unknown")),
          el("td", {}, input, " ", save));
      });
      out.replaceChildren(el("p", {}, `${history.versions.length} version(s) of `, el("strong", {}, userId), `, history proof verified at epoch ${history.epoch}.`),
        el("table", {}, el("thead", {}, el("tr", {}, ...["version", "epoch", "published", "key (hex)", "device", "label"].map((h) => el("th", {}, h)))),
          el("tbody", {}, ...rows)));
    } catch (err) {
      const [code, message] = codeOf(err);
      out.replaceChildren(el("p", {}, "The history could not be verified."));
      showAlert(code, message, `History of ${userId}`);
    }
  }

  $("lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const userId = ($("lookup-user") as HTMLInputElement).value.trim();
    if (!userId) return;
    clearAlerts();
    void (async () => {
      const out = $("lookup-output");
      out.replaceChildren(el("p", { class: "muted" }, "Verifying…"));
      try {
        const started = performance.now();
        const key = await client.lookup(userId);
        const ms = performance.now() - started;
        const b64 = toBase64(key.key);
        const checks = [
          `checkpoint signed by the pinned log key for ${key.head.origin} (size ${key.head.size})`,
          `epoch ${key.epoch} is the newest leaf of the signed root log (RFC 6962 inclusion)`,
          "the head extends every head this browser verified before (consistency)",
          "the checkpoint is fresh (signed timestamp)",
          `AKD lookup proof for "${userId}": VRF label, existence of version ${key.version}, marker, no newer version`,
          auditorPin === null ? "no auditor pinned in this browser" : key.auditorSignature
            ? `countersignature of epoch ${key.epoch} by the pinned auditor (${auditorPin.namespace}), and no epoch older than the newest it countersigned`
            : `no countersignature of epoch ${key.epoch} by the pinned auditor yet (not required); no epoch older than the newest it countersigned`,
          pinned.threshold ? `cosigned by at least ${pinned.threshold} of the ${pinned.witnesses.length} witnesses pinned in this browser; freshness from their times`
            : pinned.witnesses.length ? "every cosignature by a pinned witness verifies (none required)" : "no witnesses pinned in this browser",
        ];
        out.replaceChildren(el("div", { "data-testid": "lookup-result", "data-verified": "true", "data-key": b64, "data-version": key.version.toString() },
          el("span", { class: "badge ok" }, "✔ verified"), ` version ${key.version}, published in epoch ${key.publishedEpoch} (${ms.toFixed(1)} ms)`,
          el("div", { class: "key" }, b64),
          el("ul", { class: "checks" }, ...checks.map((c) => el("li", {}, c)))));
      } catch (err) {
        const [code, message] = codeOf(err);
        out.replaceChildren(el("div", { "data-testid": "lookup-result", "data-verified": "false", "data-key": "" },
          el("span", { class: "badge bad" }, "✘ not verified"), " the key is blocked: ", el("code", {}, code)));
        showAlert(code, message, `Lookup of ${userId}`);
        $("history-output").replaceChildren(el("p", { class: "muted" }, "Not shown: the lookup did not verify."));
        return;
      }
      await renderHistory(userId);
      await loadLog();
    })();
  });

  await loadLog();
}

void main();
