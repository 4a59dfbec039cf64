import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/bytes.js";
import { checkPolicy, type AuditorPin } from "../src/client/verify.js";
import { parseLastVerifiedEpoch, parseSignatureResponse, verifyStatement } from "../src/plexi.js";
import { SignatureError } from "../src/errors.js";
import { readJson } from "./vectors.js";

interface PlexiVector { verifying_key: string; key_id: number; namespace: string; timestamp: number; epoch: number; digest: string; signature: string; ciphersuite: number }
const vectors = readJson("plexi", "test-vectors.json") as PlexiVector[];

for (const [i, v] of vectors.entries()) {
  test(`plexi vector ${i} (ciphersuite ${v.ciphersuite}) verifies; a changed epoch does not`, () => {
    const r = parseSignatureResponse({ ...v, version: v.ciphersuite });
    const key = fromHex(v.verifying_key);
    assert.equal(key[31], v.key_id);
    verifyStatement(r, key);
    assert.throws(() => verifyStatement({ ...r, epoch: r.epoch + 1n }, key), SignatureError);
    assert.throws(() => verifyStatement({ ...r, namespace: r.namespace + "x" }, key), SignatureError);
  });
}

test("an auditor's last verified epoch is read as plexi writes it; anything else is malformed", () => {
  const hash = "ab".repeat(32);
  const body = { job_id: "job-1", epoch: 7, start_hash: hash, end_hash: hash, timestamp: 1700000000 };
  const last = parseLastVerifiedEpoch(body);
  assert.deepEqual([last.jobId, last.epoch, last.timestamp, toHex(last.endHash)], ["job-1", 7n, 1700000000n, hash]);
  const malformed = (obj: unknown, message: string) => assert.throws(() => parseLastVerifiedEpoch(obj), { code: "malformed", message });
  malformed([], "last verified epoch: expected a JSON object");
  malformed({ ...body, job_id: 1 }, "invalid parameter `job_id`");
  malformed({ ...body, epoch: -1 }, "invalid parameter `epoch`");
  malformed({ ...body, epoch: "7" }, "invalid parameter `epoch`");
  const { start_hash: _, ...missing } = body;
  malformed(missing, "last verified epoch: missing field `start_hash`");
});

test("an auditor URL must be http(s) and the check interval 0 or more seconds (UsageError)", () => {
  const pin = (extra: Partial<AuditorPin>): AuditorPin => ({ keys: [new Uint8Array(32)], namespace: "ns", required: false, ...extra });
  const policy = (auditor: AuditorPin) => ({ trust: null, maxAge: null, auditor });
  checkPolicy(policy(pin({ url: "https://auditor.example/", checkInterval: 0 })));
  checkPolicy(policy(pin({ url: null })));
  assert.throws(() => checkPolicy(policy(pin({ url: "auditor.example" }))), { code: "usage", message: /url/ });
  assert.throws(() => checkPolicy(policy(pin({ checkInterval: -1 }))), { code: "usage", message: /checkInterval/ });
  assert.throws(() => checkPolicy(policy(pin({ checkInterval: Number.NaN }))), { code: "usage", message: /checkInterval/ });
});
