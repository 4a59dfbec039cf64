import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { toHex } from "../src/bytes.js";

// @noble/hashes' BLAKE3 is outside its audit: pin it to the reference implementation's values.
// blake3-reference.json was produced with the official `blake3` package (bindings to the Rust
// reference implementation) on the BLAKE3 test-vector input pattern (byte i = i mod 251),
// crossing every chunk (1024) and block (64) boundary that matters.
const here = dirname(fileURLToPath(import.meta.url));
const ref = JSON.parse(readFileSync(join(here, "..", "..", "test", "blake3-reference.json"), "utf8")) as { cases: { len: number; hash: string }[] };

test("BLAKE3 of the empty input is the published value", () => {
  assert.equal(toHex(blake3(new Uint8Array(0))), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
});

test("BLAKE3 matches the reference implementation on 29 lengths up to 100 KiB", () => {
  assert.ok(ref.cases.length >= 29);
  for (const c of ref.cases) {
    const data = Uint8Array.from({ length: c.len }, (_, i) => i % 251);
    assert.equal(toHex(blake3(data)), c.hash, `length ${c.len}`);
  }
});
