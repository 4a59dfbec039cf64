/**
 * Owner monitoring (./src/client/own.ts), the cases of the Python client's tests
 * (tests/client/test_own_uploads.py, test_client.py::test_upload_and_owner_monitoring,
 * tests/security/test_item05_replayed_upload.py): versions are this device's uploads in the
 * order sent; a key it never uploaded or an old upload published again is
 * `unexpected_version`, an upload missing after the deadline `update_not_published`.
 */

import { test } from "node:test";
import assert from "node:assert/strict";

import { toHex, utf8 } from "../src/bytes.js";
import type { VerifyResult } from "../src/akd/verify.js";
import { ownHistoryAlerts } from "../src/client/own.js";
import type { OwnUpload } from "../src/client/state.js";
import { keySha256 } from "../src/client/verify.js";

const NOW = 1_800_000_000;
const DEADLINE = 2;

function versions(...keys: string[]): VerifyResult[] {
  return keys.map((k, i) => ({ version: BigInt(i + 1), epoch: BigInt(10 + i), value: utf8.encode(k) }));
}

function uploads(age: number, ...keys: string[]): OwnUpload[] {
  return keys.map((k, i) => ({ uploadId: `upload-${i}`, sha256: toHex(keySha256(utf8.encode(k))), sentAt: NOW - age, updateId: i % 2 ? null : String(i) }));
}

function codes(vs: VerifyResult[], us: OwnUpload[]): [string, number | null][] {
  return ownHistoryAlerts("alice", vs, us, DEADLINE, NOW).map((a) => [a.code, a.version]);
}

test("a pending upload is fine until the deadline, then update_not_published, and fine once published", () => {
  assert.deepEqual(codes(versions("k1"), uploads(0, "k1", "k2")), []);
  const [overdue, ...rest] = ownHistoryAlerts("alice", versions("k1"), uploads(3, "k1", "k2"), DEADLINE, NOW);
  assert.deepEqual(rest, []);
  assert.deepEqual([overdue?.code, overdue?.version, overdue?.label], ["update_not_published", null, "alice"]);
  assert.equal(overdue?.message, `your upload upload-1 for "alice" (no receipt: it may not have reached the server, upload it again; key sha256 ${toHex(keySha256(utf8.encode("k2"))).slice(0, 16)}…) was sent 3s ago and is not in the log, which promises publication within 2s: the server froze its head or dropped the upload`);
  assert.deepEqual(codes(versions("k1", "k2"), uploads(3, "k1", "k2")), []);
});

test("uploads superseded within one epoch are not missing", () => {
  // The same key twice is two uploads; in one epoch only the last becomes a version.
  assert.deepEqual(codes(versions("k1"), uploads(3, "k1", "k2", "k1")), []);
  assert.deepEqual(codes(versions("k1", "k2"), uploads(3, "k1", "k1", "k2")), []);
});

test("an overdue first upload is reported when nothing is published", () => {
  assert.deepEqual(codes([], uploads(3, "k1")), [["update_not_published", null]]);
  assert.deepEqual(codes([], uploads(1, "k1")), []);
});

test("a key this device did not upload is unexpected_version at its version", () => {
  const [alert] = ownHistoryAlerts("alice", versions("mine-1", "not-mine"), uploads(0, "mine-1"), DEADLINE, NOW);
  assert.deepEqual([alert?.code, alert?.version], ["unexpected_version", 2]);
  assert.equal(alert?.message, 'version 2 of your label "alice" (epoch 11) holds a key this client did not upload');
  assert.deepEqual(codes(versions("not-mine"), uploads(0)), [["unexpected_version", 1]]);
});

test("an old own key published again as a new version is unexpected_version (a replay)", () => {
  const vs = versions("alice-key-1", "alice-key-2", "alice-key-1");
  const [alert, ...rest] = ownHistoryAlerts("alice", vs, uploads(0, "alice-key-1", "alice-key-2"), DEADLINE, NOW);
  assert.deepEqual(rest, []);
  assert.deepEqual([alert?.code, alert?.version], ["unexpected_version", 3]);
  assert.equal(alert?.message, 'version 3 of your label "alice" (epoch 12) holds a key this client uploaded before a newer upload that is already published: an old upload was published again (a replay reverting your key)');
  // Uploaded again by this device, it is a new version of its own, not a replay.
  assert.deepEqual(codes(vs, uploads(0, "alice-key-1", "alice-key-2", "alice-key-1")), []);
  // Versions out of upload order: the later one is the one left over.
  assert.deepEqual(codes(versions("k2", "k1"), uploads(0, "k1", "k2")), [["unexpected_version", 2]]);
});
