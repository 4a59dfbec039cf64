/**
 * The Node client end to end (tests/web/test_client_node.py): runs the client API against a
 * real server with a JSON-file state and prints what each call returned or raised.
 *
 * usage: node build/tools/client.js <server-url> <state-file> <step> [key...]
 *
 * Step `own`: first records each `key` (UTF-8) as an upload of this device (the app's part,
 * as glasskey.client records before sending), then monitors alice as her owner.
 */

import { ed25519 } from "@noble/curves/ed25519.js";

import { toBase64, toHex, utf8 } from "../src/bytes.js";
import { GlasskeyError } from "../src/errors.js";
import { GlasskeyClient } from "../src/client/client.js";
import { fileBackend } from "../src/client/file.js";
import { ClientState } from "../src/client/state.js";
import { keySha256 } from "../src/client/verify.js";

const [server, statePath, step, ...keys] = process.argv.slice(2) as [string, string, string, ...string[]];
const state = new ClientState(await fileBackend(statePath));
const out: Record<string, unknown> = {};

async function attempt(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    out[name] = await fn();
  } catch (err) {
    out[name] = { error: err instanceof GlasskeyError ? err.code : String(err) };
  }
}

const client = new GlasskeyClient(server, { state });
if (step === "first") {
  await attempt("lookup", async () => {
    const k = await client.lookup("alice");
    return { key: toBase64(k.key), version: Number(k.version), size: Number(k.head.size) };
  });
  await attempt("history", async () => (await client.history("alice")).versions.map((v) => Number(v.version)));
  await attempt("missing", () => client.lookup("nobody"));
} else if (step === "own") {
  const trust = await client.trust();
  for (const [i, key] of keys.entries()) {
    await state.recordUpload(trust.origin, "alice", { uploadId: `tool-${Date.now()}-${i}`, sha256: toHex(keySha256(utf8.encode(key))), sentAt: Date.now() / 1000, updateId: null });
  }
  await attempt("monitor_own", async () => (await client.monitor("alice", { own: true })).alerts.map((a) => [a.code, a.version]));
} else {
  await attempt("head_before", async () => {
    const trust = await client.trust();
    return Number((await state.head(trust.origin))?.size ?? 0);
  });
  await attempt("lookup", async () => Number((await client.lookup("alice")).version));
  await attempt("monitor", async () => (await client.monitor("alice")).alerts.map((a) => a.code));
  await attempt("monitor_own", async () => (await client.monitor("alice", { own: true })).alerts.map((a) => [a.code, a.version]));
  const trust = await client.trust();
  const other = new GlasskeyClient(server, { state, policy: { trust: { ...trust, vrfPublicKey: new Uint8Array(32).fill(7) } } });
  await attempt("other_keys", () => other.lookup("alice"));
  // A fresh client configured with another VRF key than the server declares: the proof fails
  // under it, and the key document says why (vrf_key_mismatch, not a forged answer).
  const wrongVrf = new GlasskeyClient(server, { policy: { trust: { ...trust, vrfPublicKey: anotherVrfKey(trust.vrfPublicKey) } } });
  await attempt("wrong_vrf_key", () => wrongVrf.lookup("alice"));
  // Alice's answer served for "mallory": the pinned VRF key is the server's own, so the
  // failing VRF proof is for another label (wrong_label).
  const relabel: typeof fetch = async (input, init) => {
    const url = String(input).replace("/bundles/mallory", "/bundles/alice");
    const response = await fetch(url, init);
    if (!url.includes("/bundles/alice")) return response;
    const body = (await response.json()) as Record<string, unknown>;
    return new Response(JSON.stringify({ ...body, user_id: "mallory" }), { status: response.status, headers: response.headers });
  };
  await attempt("other_label", () => new GlasskeyClient(server, { fetch: relabel }).lookup("mallory"));
}

/** Another valid VRF public key (a point on the curve): the server's own key plus the base point. */
function anotherVrfKey(key: Uint8Array): Uint8Array {
  return ed25519.Point.fromBytes(key).add(ed25519.Point.BASE).toBytes();
}
process.stdout.write(JSON.stringify(out) + "\n");
