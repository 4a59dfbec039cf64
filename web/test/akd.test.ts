import assert from "node:assert/strict";
import { test } from "node:test";
import { getConfiguration } from "../src/akd/config.js";
import { keyHistoryVerify, lookupVerify, membershipRoot } from "../src/akd/verify.js";
import { decodeLookupProof } from "../src/akd/wire.js";
import { HistoryProofError, MalformedError } from "../src/errors.js";
import { utf8 } from "../src/bytes.js";
import { akdVector, AKD_TEST_VRF_PUBLIC } from "./vectors.js";

const EXPECTED = [
  { epoch: 48n, version: 3n, value: "16,48" },
  { epoch: 32n, version: 2n, value: "16,32" },
  { epoch: 16n, version: 1n, value: "16,16" },
];

function plain(results: { epoch: bigint; version: bigint; value: Uint8Array }[]) {
  return results.map((r) => ({ epoch: r.epoch, version: r.version, value: new TextDecoder().decode(r.value) }));
}

for (const name of ["whatsapp_v1", "experimental"]) {
  test(`${name}: the akd lookup vector verifies`, () => {
    const v = akdVector(name);
    assert.deepEqual(v.vrfPublicKey, AKD_TEST_VRF_PUBLIC);
    const r = lookupVerify(getConfiguration(name), v.vrfPublicKey, v.epochHash, v.epoch, v.label, v.lookupProof);
    assert.deepEqual(plain([r]), EXPECTED.slice(0, 1));
  });

  test(`${name}: the akd history vectors verify (Complete and MostRecent(1))`, () => {
    const v = akdVector(name);
    const c = getConfiguration(name);
    assert.deepEqual(plain(keyHistoryVerify(c, v.vrfPublicKey, v.epochHash, v.epoch, v.label, v.historyComplete)), EXPECTED);
    assert.deepEqual(
      plain(keyHistoryVerify(c, v.vrfPublicKey, v.epochHash, v.epoch, v.label, v.historyMostRecent1, { mostRecent: 1 })),
      EXPECTED.slice(0, 1));
  });

  test(`${name}: MostRecent(1) bytes checked as Complete fail`, () => {
    const v = akdVector(name);
    assert.throws(() => keyHistoryVerify(getConfiguration(name), v.vrfPublicKey, v.epochHash, v.epoch, v.label, v.historyMostRecent1),
      (e: unknown) => e instanceof HistoryProofError && /must start at version 1/.test(e.message));
  });

  test(`${name}: existence path reaches the epoch hash`, () => {
    const v = akdVector(name);
    const p = decodeLookupProof(v.lookupProof);
    assert.equal(p.existenceProof.siblingProofs.length, name === "whatsapp_v1" ? 8 : 6);
    assert.deepEqual(membershipRoot(getConfiguration(name), p.existenceProof), v.epochHash);
  });

  test(`${name}: another label, a later epoch or truncated bytes are refused`, () => {
    const v = akdVector(name);
    const c = getConfiguration(name);
    assert.throws(() => lookupVerify(c, v.vrfPublicKey, v.epochHash, v.epoch, utf8.encode("17"), v.lookupProof), { code: "invalid_vrf" });
    assert.throws(() => lookupVerify(c, v.vrfPublicKey, v.epochHash, v.epoch, v.label, v.lookupProof.subarray(0, 100)),
      (e: unknown) => e instanceof MalformedError);
    const other = Uint8Array.from(v.epochHash);
    other[0]! ^= 1;
    assert.throws(() => lookupVerify(c, v.vrfPublicKey, other, v.epoch, v.label, v.lookupProof), { code: "invalid_membership_proof" });
  });
}
