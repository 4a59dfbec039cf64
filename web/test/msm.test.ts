import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToBigLE } from "../src/bytes.js";
import { KeyTable } from "../src/ecvrf.js";
import { mulAddVartime } from "../src/msm.js";

type Point = InstanceType<typeof ed25519.Point>;
const Pt = ed25519.Point;
const Q = Pt.Fn.ORDER;

/** Deterministic "random" scalars below 2^bits. */
function scalar(seed: number, bits: number): bigint {
  return bytesToBigLE(sha512(Uint8Array.of(seed, bits))) % (1n << BigInt(bits));
}

function plain(p: Point, a: bigint): Point {
  return a % Q === 0n ? Pt.ZERO : p.multiplyUnsafe(a % Q);
}

// Small order (order 4: x = sqrt(-1), y = 0; order 8 via the torsion point 0xc7..), a
// point with a torsion component, the identity, and ordinary points.
const torsion8 = Pt.fromHex("c7176a703d4dd84fba3c0b760d10670f" + "2a2053fa2c39ccc64ec7fd7792ac037a");
const points: [string, Point][] = [
  ["identity", Pt.ZERO],
  ["base", Pt.BASE],
  ["order 8", torsion8],
  ["order 8 plus base", torsion8.add(Pt.BASE)],
  ["random 1", Pt.BASE.multiply(scalar(1, 252))],
  ["random 2", Pt.BASE.multiply(scalar(2, 252)).add(torsion8.double())],
];
const scalars = [0n, 1n, 2n, 15n, 16n, 17n, Q - 1n, scalar(3, 253) % Q, scalar(4, 128), (1n << 128n) - 1n, 1n << 127n];

test("mulAddVartime is a·P + b·Q as noble computes it, identity and torsion points included", () => {
  let n = 0;
  for (const [pn, p] of points) {
    for (const [qn, q] of points) {
      for (const a of scalars) {
        const b = scalars[(n++ * 7) % scalars.length]!;
        const got = mulAddVartime(p, a, q, b);
        const want = plain(p, a).add(plain(q, b));
        assert.ok(got.equals(want), `${pn}·${a} + ${qn}·${b}`);
        assert.deepEqual(got.toBytes(), want.toBytes());
      }
    }
  }
});

test("KeyTable.times is c·P for 128-bit c (every window, carries between windows)", () => {
  for (const [name, p] of points) {
    const table = new KeyTable(p);
    for (const c of [0n, 1n, 31n, 32n, 33n, 63n, 64n, scalar(5, 128), (1n << 128n) - 1n, (1n << 127n) + 33n]) {
      assert.deepEqual(table.times(c).toBytes(), plain(p, c).toBytes(), `${name}·${c}`);
    }
  }
});
