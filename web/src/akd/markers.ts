/**
 * Marker versions for lookup and history proofs, exactly as akd 0.12 computes them
 * (glasskey.core.akd._markers, quirks included: a verifier deriving other lists would
 * reject every honest proof).
 */

import { ProofError } from "../errors.js";

const SKIP_LIST = [1n, 2n, 4n, 16n, 256n, 65536n, 2n ** 32n];

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

export function markerVersion(version: bigint): bigint {
  if (version < 1n) throw new ProofError(`version ${version} has no marker: versions start at 1`);
  return 1n << BigInt(bitLength(version) - 1);
}

function maxSkipIndex(value: bigint): number {
  let index = 0;
  SKIP_LIST.forEach((skip, i) => {
    if (skip <= value) index = i;
  });
  return index;
}

export function markerVersions(start: bigint, end: bigint, epoch: bigint): [bigint[], bigint[]] {
  if (!(1n <= start && start <= end && end <= epoch)) {
    throw new ProofError(`invalid version range for markers: start=${start}, end=${end}, epoch=${epoch}`);
  }
  const past: bigint[] = [];
  const pushPast = (value: bigint): void => {
    if (value !== 0n && (past.length === 0 || past[past.length - 1] !== value)) past.push(value);
  };
  const skip = SKIP_LIST[maxSkipIndex(start)]!;
  if (skip !== start) pushPast(skip);
  const power = 1n << BigInt(bitLength(start) - 1);
  if (power !== start) pushPast(power);
  for (let i = bitLength(start) - 1; i >= 0; i--) {
    const bi = BigInt(i);
    if ((start >> bi) & 1n) pushPast(start & ~((1n << (bi + 1n)) - 1n));
  }
  const future: bigint[] = [];
  let f = end;
  for (let i = 0; i < bitLength(end) - 1; i++) {
    const bi = BigInt(i);
    if (!((end >> bi) & 1n)) {
      f = (f | (1n << bi)) & ~((1n << bi) - 1n);
      if (f <= epoch) future.push(f);
    }
  }
  const skipSlice = SKIP_LIST.slice(maxSkipIndex(end) + 1, maxSkipIndex(epoch) + 1);
  for (let i = bitLength(end); i < bitLength(epoch); i++) {
    if (skipSlice.length && 1n << BigInt(i) >= skipSlice[0]!) break;
    future.push(1n << BigInt(i));
  }
  future.push(...skipSlice);
  return [past, future];
}
