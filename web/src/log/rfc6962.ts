/**
 * RFC 6962 / RFC 9162 Merkle proofs (glasskey.log.rfc6962): leaf and node hashing, inclusion
 * and consistency verification with the same policies (a proof from size 0 is refused; hashes
 * must be 32 bytes; the proof length must be exactly the path length).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { concat, equalBytes } from "../bytes.js";
import { ConsistencyError, InclusionError } from "../errors.js";

export const HASH_SIZE = 32;
const MAX_TREE_SIZE = (1n << 64n) - 1n;

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), data));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), left, right));
}

function split(n: bigint): bigint {
  return 1n << BigInt((n - 1n).toString(2).length - 1);
}

function checkSize(value: bigint, what: string, E: typeof InclusionError | typeof ConsistencyError): void {
  if (value < 0n || value > MAX_TREE_SIZE) throw new E(`${what} ${value} is outside the uint64 range`);
}

function checkHash(value: Uint8Array, what: string, E: typeof InclusionError | typeof ConsistencyError): void {
  if (value.length !== HASH_SIZE) throw new E(`${what} must be ${HASH_SIZE} bytes, got ${value.length}`);
}

function checkProof(proof: readonly Uint8Array[], expected: number, what: string, E: typeof InclusionError | typeof ConsistencyError): void {
  if (proof.length !== expected) throw new E(`${what} has ${proof.length} hashes, expected ${expected}`);
  proof.forEach((h, i) => checkHash(h, `${what} hash #${i}`, E));
}

function inclusionLength(index: bigint, size: bigint): number {
  let n = 0;
  let lo = 0n;
  let hi = size;
  while (hi - lo > 1n) {
    const k = split(hi - lo);
    if (index < lo + k) hi = lo + k;
    else lo += k;
    n++;
  }
  return n;
}

function consistencyLength(size1: bigint, size2: bigint): number {
  let n = 0;
  let lo = 0n;
  let hi = size2;
  let complete = true;
  for (;;) {
    if (size1 - lo === hi - lo) {
      if (!complete) n++;
      break;
    }
    const k = split(hi - lo);
    if (size1 - lo <= k) hi = lo + k;
    else {
      lo += k;
      complete = false;
    }
    n++;
  }
  return n;
}

export function rootFromInclusionProof(leaf: Uint8Array, index: bigint, size: bigint, proof: readonly Uint8Array[]): Uint8Array {
  checkSize(index, "leaf index", InclusionError);
  checkSize(size, "tree size", InclusionError);
  checkHash(leaf, "leaf hash", InclusionError);
  if (index >= size) throw new InclusionError(`leaf index ${index} is not in a tree of size ${size}`);
  checkProof(proof, inclusionLength(index, size), "inclusion proof", InclusionError);
  let fn = index;
  let sn = size - 1n;
  let acc = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new InclusionError("inclusion proof is longer than the path to the root");
    if (fn & 1n || fn === sn) {
      acc = nodeHash(p, acc);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      acc = nodeHash(acc, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InclusionError("inclusion proof does not reach the root");
  return acc;
}

export function verifyInclusion(leaf: Uint8Array, index: bigint, size: bigint, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  checkHash(root, "root hash", InclusionError);
  if (!equalBytes(computed, root)) throw new InclusionError(`inclusion proof for leaf ${index} of ${size} does not lead to the expected root`);
}

export function verifyConsistency(size1: bigint, size2: bigint, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  checkSize(size1, "size1", ConsistencyError);
  checkSize(size2, "size2", ConsistencyError);
  if (size1 > size2) throw new ConsistencyError(`tree shrank: size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0n) throw new ConsistencyError("a consistency proof from an empty tree proves nothing");
  if (size1 === size2) {
    if (proof.length !== 0) throw new ConsistencyError(`sizes are equal (${size1}) but the proof is not empty`);
    if (!equalBytes(root1, root2)) throw new ConsistencyError(`two different roots for the same tree size ${size1}`);
    return;
  }
  checkHash(root1, "root1", ConsistencyError);
  checkHash(root2, "root2", ConsistencyError);
  checkProof(proof, consistencyLength(size1, size2), "consistency proof", ConsistencyError);
  const path = [...proof];
  if ((size1 & (size1 - 1n)) === 0n) path.unshift(root1);
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let old = path[0]!;
  let neu = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ConsistencyError("consistency proof is longer than the path to the root");
    if (fn & 1n || fn === sn) {
      old = nodeHash(c, old);
      neu = nodeHash(c, neu);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      neu = nodeHash(neu, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ConsistencyError("consistency proof does not reach the new root");
  if (!equalBytes(old, root1)) throw new ConsistencyError(`consistency proof ${size1}→${size2} does not match the old root`);
  if (!equalBytes(neu, root2)) throw new ConsistencyError(`consistency proof ${size1}→${size2} does not match the new root`);
}
