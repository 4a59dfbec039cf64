/**
 * Head advance (glasskey.client._verify.verify_signed_state step 3) for a client whose last
 * verified head is the signed empty log (size 0): every tree extends the empty tree, so the
 * log's first epoch is accepted without a consistency proof (Python:
 * tests/client/test_ietf_client.py::test_a_client_that_saw_the_empty_log_accepts_its_first_epoch).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";

import { toBase64 } from "../src/bytes.js";
import { clearCheckpointCache } from "../src/log/note.js";
import { verifySignedState, type Head } from "../src/client/verify.js";
import { note, NOW, ORIGIN, signedNote, state, TRUST } from "./notes.js";

const EMPTY_ROOT = sha256(new Uint8Array(0));
const EMPTY_NOTE = signedNote(`${ORIGIN}\n0\n${toBase64(EMPTY_ROOT)}\n`, NOW - 60);
const EMPTY: Head = { origin: ORIGIN, size: 0n, logRoot: EMPTY_ROOT, note: EMPTY_NOTE, signedAt: NOW - 60 };

test("a client that saw the empty log accepts its first epoch, with or without a (meaningless) proof", () => {
  clearCheckpointCache();
  const first = verifySignedState(TRUST, state(note(NOW - 5)), EMPTY, 600, NOW);
  assert.equal(first.head.size, 1n);
  assert.equal(first.epoch, 1n);
  const withEmptyProof = { ...state(note(NOW - 5)), consistencyFrom: 0n, logConsistency: [] };
  assert.equal(verifySignedState(TRUST, withEmptyProof, EMPTY, 600, NOW).head.size, 1n);
});

test("a head of size 1 is still only extended by a proof, and a smaller size is a rollback", () => {
  clearCheckpointCache();
  const one = verifySignedState(TRUST, state(note(NOW - 5)), EMPTY, 600, NOW).head;
  assert.equal(verifySignedState(TRUST, state(note(NOW - 4)), one, 600, NOW).head.size, 1n);
  const other: Head = { ...one, logRoot: new Uint8Array(32).fill(9) };
  assert.throws(() => verifySignedState(TRUST, state(note(NOW - 4)), other, 600, NOW), { code: "fork_detected" });
  const bigger: Head = { ...one, size: 2n };
  assert.throws(() => verifySignedState(TRUST, state(note(NOW - 4)), bigger, 600, NOW), { code: "rollback_detected" });
});
