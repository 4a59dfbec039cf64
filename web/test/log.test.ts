import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fromBase64OrNull, fromHex, toHex, utf8 } from "../src/bytes.js";
import { leafHash, nodeHash, rootFromInclusionProof, verifyConsistency, verifyInclusion } from "../src/log/rfc6962.js";
import { openCheckpoint, parseNote, parseVkey, cosignatureVerifier, ed25519Verifier } from "../src/log/note.js";
import { SignatureError } from "../src/errors.js";
import { readJson, vectorPath } from "./vectors.js";

const b64 = (s: string | null): Uint8Array => (s === null ? new Uint8Array(0) : fromBase64OrNull(s)!);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".json") ? [p] : [];
  });
}

const merkle = vectorPath("rfc6962", "transparency-dev-merkle");
const inclusion = walk(join(merkle, "inclusion"));
const consistency = walk(join(merkle, "consistency"));

test("the transparency-dev folder holds 98 + 98 cases", () => {
  assert.equal(inclusion.length, 98);
  assert.equal(consistency.length, 98);
});

test("every transparency-dev inclusion case gives the expected answer", () => {
  for (const file of inclusion) {
    const c = JSON.parse(readFileSync(file, "utf8"));
    const run = () => verifyInclusion(b64(c.leafHash), BigInt(c.leafIdx), BigInt(c.treeSize), (c.proof ?? []).map(b64), b64(c.root));
    if (c.wantErr) assert.throws(run, { code: "invalid_inclusion_proof" }, file);
    else assert.doesNotThrow(run, file);
  }
});

test("every transparency-dev consistency case gives the expected answer", () => {
  for (const file of consistency) {
    const c = JSON.parse(readFileSync(file, "utf8"));
    const run = () => verifyConsistency(BigInt(c.size1), BigInt(c.size2), (c.proof ?? []).map(b64), b64(c.root1), b64(c.root2));
    if (c.wantErr) assert.throws(run, { code: "inconsistent" }, file);
    else assert.doesNotThrow(run, file);
  }
});

test("reference tree: leaf hashes and roots for sizes 1..8", () => {
  const t = readJson("rfc6962", "reference-tree.json") as { leaf_inputs: string[]; root_hashes_by_size: string[]; node_hashes_by_level: string[][] };
  const leaves = t.leaf_inputs.map((l) => leafHash(fromHex(l)));
  assert.deepEqual(leaves.map(toHex), t.node_hashes_by_level[0]);
  const mth = (hs: Uint8Array[]): Uint8Array => {
    if (hs.length === 1) return hs[0]!;
    let k = 1;
    while (k * 2 < hs.length) k *= 2;
    return nodeHash(mth(hs.slice(0, k)), mth(hs.slice(k)));
  };
  for (let n = 1; n <= 8; n++) assert.equal(toHex(mth(leaves.slice(0, n))), t.root_hashes_by_size[n]);
  assert.equal(toHex(rootFromInclusionProof(leaves[0]!, 0n, 1n, [])), t.root_hashes_by_size[1]);
});

const TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const TESSERA_ORIGIN = "example.com/log/testdata";
const tessera = (...p: string[]) => vectorPath("c2sp", "tessera-testdata", "log", ...p);

test("tessera: checkpoints 1..15 verify, match the level-0 tiles, and are mutually consistent", () => {
  const v = parseVkey(TESSERA_VKEY);
  const tile = readFileSync(tessera("tile", "0", "000.p", "15"));
  const leaves = Array.from({ length: 15 }, (_, i) => Uint8Array.from(tile.subarray(32 * i, 32 * i + 32)));
  const heads: { size: bigint; root: Uint8Array }[] = [];
  for (let n = 1; n <= 15; n++) {
    const { checkpoint } = openCheckpoint(readFileSync(tessera(`checkpoint.${n}`), "utf8"), [v], TESSERA_ORIGIN);
    assert.equal(checkpoint.size, BigInt(n));
    heads.push({ size: checkpoint.size, root: checkpoint.root });
  }
  assert.throws(() => openCheckpoint(readFileSync(tessera("checkpoint.3"), "utf8"), [v], "other.origin"), SignatureError);
  const stranger = ed25519Verifier(TESSERA_ORIGIN, Uint8Array.from([...new Uint8Array(31), 1]));
  assert.throws(() => openCheckpoint(readFileSync(tessera("checkpoint.3"), "utf8"), [stranger], TESSERA_ORIGIN), SignatureError);
  // The root of n leaves equals the checkpoint's (recomputed from the tile).
  const mth = (hs: Uint8Array[]): Uint8Array => {
    if (hs.length === 1) return hs[0]!;
    let k = 1;
    while (k * 2 < hs.length) k *= 2;
    return nodeHash(mth(hs.slice(0, k)), mth(hs.slice(k)));
  };
  heads.forEach((h, i) => assert.deepEqual(mth(leaves.slice(0, i + 1)), h.root));
});

test("the C2SP signed-note example verifies; a changed character does not", () => {
  const vkey = readFileSync(vectorPath("c2sp", "spec-examples", "signed-note-example.vkey"), "utf8");
  const note = readFileSync(vectorPath("c2sp", "spec-examples", "signed-note-example.note"), "utf8");
  const v = parseVkey(vkey);
  const parsed = parseNote(note);
  assert.ok(parsed.signatures.some((s) => s.name === v.name && s.keyId === v.keyId));
  assert.throws(() => openCheckpoint(note, [v], null)); // not a checkpoint body
  const poem = parseNote(readFileSync(vectorPath("c2sp", "spec-examples", "signed-note-poem.note"), "utf8"));
  assert.ok(poem.text.includes("\n\n"));
});

test("sunlight witness: the cosignature/v1 verifies with its timestamp; a tampered one rejects", () => {
  const meta = readJson("c2sp", "sunlight-witness", "witness.v0.json") as { verifier_keys: string[] };
  const w = parseVkey(meta.verifier_keys[0]!);
  assert.equal(w.keyId, 0xb8a2cf20);
  const data = readFileSync(vectorPath("c2sp", "sunlight-witness", "checkpoint"), "utf8");
  const { checkpoint, cosignatures } = openCheckpoint(data, [ed25519Verifier("nobody", new Uint8Array(32).fill(9))].slice(0, 0).concat([w]), "rome2026h1.example.org");
  assert.equal(checkpoint.size, 300n);
  assert.equal(cosignatures.length, 0); // a key given as log key is not counted as a witness
  const log = readJson("c2sp", "sunlight-witness", "log.v3.json") as { final_tree_head: { sha256_root_hash: string; timestamp: number } };
  assert.deepEqual(checkpoint.root, b64(log.final_tree_head.sha256_root_hash));
  const cos = openCheckpoint(data, [cosignatureVerifier(w.name, w.publicKey)], "rome2026h1.example.org");
  assert.equal(cos.checkpoint.size, 300n);
  const lines = data.split("\n");
  const idx = lines.findIndex((l) => l.startsWith("\u2014 witness.example.org "));
  const blob = b64(lines[idx]!.split(" ")[2]!);
  blob[4 + 3]! ^= 1;
  lines[idx] = `\u2014 witness.example.org ${Buffer.from(blob).toString("base64")}`;
  assert.throws(() => openCheckpoint(lines.join("\n"), [w], null), /does not verify/);
  void utf8;
});
