/**
 * The Node client end to end (tests/web/test_client_node.py): runs the client API against a
 * real server with a JSON-file state and prints what each call returned or raised.
 *
 * usage: node build/tools/client.js <server-url> <state-file> <step> [key...]
 *
 * Steps `empty` / `after_empty`: alice's lookup and the size of the head kept.
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
  // The 404's proof of absence altered on the way: a bare 404, one byte of the proof, the
  // proof of another user (fresh clients, so that the state above is not touched).
  const absence = (edit: (absence: Record<string, unknown>) => Record<string, unknown> | null): typeof fetch => async (input, init) => {
    const response = await fetch(String(input).replace("/bundles/nobody2", "/bundles/nobody"), init);
    if (!String(input).includes("/bundles/nobody")) return response;
    const body = (await response.json()) as Record<string, unknown>;
    const edited = edit(body["absence"] as Record<string, unknown>);
    return new Response(JSON.stringify(edited === null ? { error: body["error"] } : { ...body, absence: edited }), { status: 404 });
  };
  const flip = (b64: string): string => {
    const bytes = Buffer.from(b64, "base64");
    bytes[bytes.length - 1]! ^= 1;
    return bytes.toString("base64");
  };
  await attempt("bare_404", () => new GlasskeyClient(server, { fetch: absence(() => null) }).lookup("nobody"));
  await attempt("absence_tampered", () => new GlasskeyClient(server, { fetch: absence((a) => ({ ...a, non_membership_proof: flip(a["non_membership_proof"] as string) })) }).lookup("nobody"));
  // nobody's proof for nobody2: as sent (it names nobody), and renamed (its VRF proof is nobody's).
  await attempt("absence_of_another", () => new GlasskeyClient(server, { fetch: absence((a) => a) }).lookup("nobody2"));
  await attempt("absence_relabelled", () => new GlasskeyClient(server, { fetch: absence((a) => ({ ...a, user_id: "nobody2" })) }).lookup("nobody2"));
} else if (step === "empty" || step === "after_empty") {
  // A first look at a still-empty log proves alice absent (head of size 0); the next look,
  // after her first epoch, accepts it (glasskey.client since e851e4b).
  await attempt("lookup", async () => {
    const k = await client.lookup("alice");
    return { key: toBase64(k.key), version: Number(k.version) };
  });
  await attempt("head", async () => Number((await state.head((await client.trust()).origin))?.size ?? -1));
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
