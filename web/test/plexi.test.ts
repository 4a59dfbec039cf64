import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex } from "../src/bytes.js";
import { parseSignatureResponse, verifyStatement } from "../src/plexi.js";
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
