/**
 * The Node client with a pinned auditor URL against real servers
 * (tests/web/test_client_node.py): a man in the middle replays an old, genuinely signed and
 * countersigned bundle of alice to a client with no state; with the auditor's URL pinned the
 * client asks the auditor for its newest countersigned epoch and refuses the old head.
 * Prints what each call returned (alice's key, UTF-8) or raised (its alert code), and how
 * often the auditor was asked.
 *
 * usage: node build/tools/auditor.js <server-url> <auditor-url> <namespace> <auditor-key-hex> <old-bundle.json>
 */

import { readFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";

import { fromHex } from "../src/bytes.js";
import { GlasskeyError } from "../src/errors.js";
import { GlasskeyClient } from "../src/client/client.js";
import { ClientState, memoryBackend } from "../src/client/state.js";
import type { AuditorPin } from "../src/client/verify.js";

const [server, auditor, namespace, keyHex, oldPath] = process.argv.slice(2) as [string, string, string, string, string];
const old = readFileSync(oldPath, "utf8");
const out: Record<string, unknown> = {};
let asked = 0;

/** The network: alice's bundle is the old one (when `replay`); the auditor's answers are counted. */
function network(replay: boolean): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    if (url.startsWith(auditor)) asked += 1;
    if (replay && url.startsWith(`${server}/api/crypto/bundles/alice`)) {
      return new Response(old, { status: 200, headers: { "content-type": "application/json" } });
    }
    return fetch(input, init);
  };
}

async function lookup(name: string, pin: AuditorPin, replay: boolean, state = new ClientState(memoryBackend())): Promise<void> {
  try {
    const key = await new GlasskeyClient(server, { state, fetch: network(replay), policy: { auditor: pin } }).lookup("alice");
    out[name] = new TextDecoder().decode(key.key);
  } catch (err) {
    out[name] = { error: err instanceof GlasskeyError ? err.code : String(err) };
  }
}

const keys = [fromHex(keyHex)];
const pinned: AuditorPin = { keys, namespace, required: true, url: auditor };
const phone = new ClientState(memoryBackend());
await lookup("replayed", pinned, true, phone);
out["asked"] = asked;
// What it learnt stays: refused again without asking the auditor (within checkInterval).
await lookup("replayed_again", pinned, true, phone);
out["asked_again"] = asked - (out["asked"] as number);
await lookup("honest", pinned, false);
// Without the URL, a fresh client has nothing to tell the replay by (the old answer's own
// auditor_latest is as old as it is).
await lookup("without_url", { keys, namespace, required: true }, true);
// The auditor's answer must verify under the pinned key: another key refuses it.
await lookup("other_auditor_key", { ...pinned, keys: [ed25519.getPublicKey(new Uint8Array(32).fill(0x11))] }, false);
process.stdout.write(JSON.stringify(out) + "\n");
