/** Locating and loading ../shared/vectors (GLASSKEY_VECTORS overrides), as tests/vectors.py. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromHex } from "../src/bytes.js";

const here = dirname(fileURLToPath(import.meta.url));
// build/test/ -> web/ -> repo -> its parent
export const VECTORS = process.env["GLASSKEY_VECTORS"] ?? resolve(here, "..", "..", "..", "..", "shared", "vectors");

export function vectorPath(...parts: string[]): string {
  const path = join(VECTORS, ...parts);
  if (!existsSync(path)) throw new Error(`test vector ${path} is missing (set GLASSKEY_VECTORS to the vectors folder)`);
  return path;
}

export const AKD_TEST_VRF_PUBLIC = fromHex("f6ec49c8085f4d4be69db8e248bf11ce288026f5b8c5f6599defe58303d0702d");

export interface AkdVector {
  configuration: string;
  vrfPublicKey: Uint8Array;
  epochHash: Uint8Array;
  epoch: bigint;
  label: Uint8Array;
  lookupProof: Uint8Array;
  historyMostRecent1: Uint8Array;
  historyComplete: Uint8Array;
}

/** The akd test-vector YAML: `---`-separated documents, a metadata mapping then scalars. */
export function akdVector(name: string): AkdVector {
  const text = readFileSync(vectorPath("akd", `${name}.yaml`), "utf8");
  const docs = text.split(/^---\s*$/m).map((d) =>
    d.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n").trim()).filter((d) => d.length);
  const meta = docs[0]!;
  const conf = /configuration:\s*(\S+)/.exec(meta)?.[1];
  if (conf !== name) throw new Error(`vector ${name} has configuration ${conf}`);
  const scalar = (i: number): string => docs[i]!.replace(/^['"]|['"]$/g, "");
  return {
    configuration: name,
    vrfPublicKey: fromHex(scalar(1)),
    epochHash: fromHex(scalar(2)),
    epoch: BigInt(scalar(3)),
    label: fromHex(scalar(4)),
    lookupProof: fromHex(scalar(5)),
    historyMostRecent1: fromHex(scalar(6)),
    historyComplete: fromHex(scalar(7)),
  };
}

export function readJson(...parts: string[]): unknown {
  return JSON.parse(readFileSync(vectorPath(...parts), "utf8"));
}
