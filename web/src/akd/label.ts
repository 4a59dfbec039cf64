/**
 * AKD node labels: `(val: 32 bytes, length: bits)`, MSB-first (glasskey.core.akd._node_label).
 * Equality compares all 32 bytes and the length, which is how the root label (zero, length 0)
 * differs from the empty label (non-zero val, length 0).
 */

import { be32, bigToBytesBE, bytesToBigBE, concat, equalBytes, toHex } from "../bytes.js";
import type { Configuration } from "./config.js";

const BITS = 256n;
const FULL = (1n << BITS) - 1n;

export interface NodeLabel {
  readonly val: Uint8Array;
  readonly length: number;
}

export const ROOT_LABEL: NodeLabel = { val: new Uint8Array(32), length: 0 };

function mask(bits: number): bigint {
  return FULL ^ ((1n << (BITS - BigInt(bits))) - 1n);
}

export function leafLabel(beta: Uint8Array): NodeLabel {
  return { val: beta.slice(0, 32), length: 256 };
}

export function labelBytes(label: NodeLabel): Uint8Array {
  return concat(be32(label.length), label.val);
}

export function labelEquals(a: NodeLabel, b: NodeLabel): boolean {
  return a.length === b.length && equalBytes(a.val, b.val);
}

export function labelString(label: NodeLabel): string {
  return `${toHex(label.val)}/${label.length}`;
}

export function prefixOf(label: NodeLabel, bits: number): NodeLabel {
  if (bits >= 256) return label;
  if (bits <= 0) return ROOT_LABEL;
  return { val: bigToBytesBE(bytesToBigBE(label.val) & mask(bits), 32), length: bits };
}

export function isPrefixOf(a: NodeLabel, b: NodeLabel): boolean {
  if (a.length > b.length) return false;
  if (a.length === 0) return true;
  const m = mask(a.length);
  return (bytesToBigBE(a.val) & m) === (bytesToBigBE(b.val) & m);
}

export function emptyLabel(config: Configuration): NodeLabel {
  return { val: config.emptyLabelVal, length: 0 };
}

function commonPrefixLength(a: NodeLabel, b: NodeLabel): number {
  const limit = Math.min(a.length, b.length);
  if (limit === 0) return 0;
  const diff = bytesToBigBE(a.val) ^ bytesToBigBE(b.val);
  const agree = 256 - (diff === 0n ? 0 : diff.toString(2).length);
  return Math.min(agree, limit);
}

/** akd `get_longest_common_prefix`: the empty label absorbs everything. */
export function longestCommonPrefix(config: Configuration, a: NodeLabel, b: NodeLabel): NodeLabel {
  const empty = emptyLabel(config);
  if (labelEquals(a, empty) || labelEquals(b, empty)) return empty;
  return prefixOf(a, commonPrefixLength(a, b));
}
